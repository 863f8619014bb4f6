/**
 * OpenAI's Predicted Outputs: `prediction: {type: "content", content: string | [{type: "text", text}]}`,
 * text the output is expected to largely repeat (an edited document or code). A speed hint only:
 * local models draft from it (engines/llama/speculative-steps.ts) and report how many of its tokens
 * were kept (`usage.completion_tokens_details.accepted_prediction_tokens`); the output is what it
 * would be without it. Shared by chat and text completions.
 */
import { z } from "zod";

const textPart = z.object({ type: z.literal("text"), text: z.string() });

export const predictionFields = z.object({
  prediction: z
    .object({
      type: z.literal("content"),
      content: z.union([z.string(), z.array(textPart)]),
    })
    .nullish(),
});

/** The predicted text (parts concatenated, as one document), or undefined when absent or empty. */
export function toPrediction(wire: z.infer<typeof predictionFields>): { readonly prediction?: string } {
  const content = wire.prediction?.content;
  if (content === undefined) return {};
  const text = typeof content === "string" ? content : content.map((part) => part.text).join("");
  return text === "" ? {} : { prediction: text };
}
