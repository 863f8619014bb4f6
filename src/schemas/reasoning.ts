/**
 * Reasoning request fields: OpenAI's `reasoning_effort` (plus `none`, `xhigh`, `max`) and vLLM's
 * `thinking_token_budget`. `chat_template_kwargs.enable_thinking: false` (vLLM's switch) is read
 * by the engine, since it also reaches the template.
 */
import { z } from "zod";
import { REASONING_EFFORTS, type ReasoningRequest } from "../domain/reasoning.ts";

export const reasoningFields = z.object({
  reasoning_effort: z.enum(REASONING_EFFORTS).nullish(),
  thinking_token_budget: z.number().int().min(0).nullish(),
});

export function toReasoningRequest(wire: z.infer<typeof reasoningFields>): ReasoningRequest {
  return { effort: wire.reasoning_effort ?? undefined, budget: wire.thinking_token_budget ?? undefined };
}
