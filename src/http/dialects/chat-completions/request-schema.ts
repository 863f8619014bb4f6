/**
 * The wire schema of `POST /v1/chat/completions` (zod), checked against the `openai` package's
 * request type at compile time: every field it can send is in the schema or in the policy of
 * unsupported-fields.ts (a field the SDK adds fails `tsc` until it is placed). Fields outside both
 * are a 400 (unsupported-fields.ts); known fields are validated strictly. Every optional field also
 * accepts `null`, which clients send for "unset".
 */
import type { ChatCompletionCreateParams, ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import { z } from "zod";
import { generationFields, positiveInt } from "../../../schemas/generation.ts";
import { predictionFields } from "../../../schemas/prediction.ts";
import { promptControlFields } from "../../../schemas/prompt-control.ts";
import { reasoningFields } from "../../../schemas/reasoning.ts";
import { toolFields } from "../../../schemas/tools.ts";
import type { IGNORED_FIELDS, UnsupportedField } from "../../../schemas/unsupported-fields.ts";

const textPart = z.object({ type: z.literal("text"), text: z.string() });
/** Any content part; non-text parts are rejected during normalisation with a precise path. */
const anyPart = z.looseObject({ type: z.string() });
const textContent = z.union([z.string(), z.array(z.union([textPart, anyPart]))]);

const name = z.string().max(256).nullish();

/** An earlier call, as the client echoes it back (`arguments` is JSON text, as OpenAI returns it). */
const functionCall = z.object({ name: z.string(), arguments: z.string() });
const toolCall = z.object({ id: z.string(), type: z.literal("function"), function: functionCall });

const systemMessage = z.object({ role: z.literal("system"), content: textContent, name });
const developerMessage = z.object({ role: z.literal("developer"), content: textContent, name });
const userMessage = z.object({ role: z.literal("user"), content: textContent, name });
const assistantMessage = z.object({
  role: z.literal("assistant"),
  content: textContent.nullish(),
  name,
  refusal: z.string().nullish(),
  tool_calls: z.array(toolCall).nullish(),
  function_call: functionCall.nullish(),
  audio: z.unknown().nullish(),
  // Earlier thoughts, under vLLM's and llama-server's name and vLLM's newer one: they reach the template.
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
});
const toolMessage = z.object({ role: z.literal("tool"), content: textContent, tool_call_id: z.string() });
const functionMessage = z.object({ role: z.literal("function"), content: z.string().nullish(), name: z.string() });

export const messageSchema = z.discriminatedUnion("role", [systemMessage, developerMessage, userMessage, assistantMessage, toolMessage, functionMessage]);

/** The shared generation fields (schemas/generation.ts), and the chat API's own. */
export const chatRequestSchema = generationFields
  .extend(toolFields.shape)
  .extend(promptControlFields.shape)
  .extend(reasoningFields.shape)
  .extend(predictionFields.shape)
  .loose()
  .extend({
    messages: z.array(messageSchema).min(1),
    max_completion_tokens: positiveInt,
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    // OpenAI: answer length, for templates that read it.
    verbosity: z.enum(["low", "medium", "high"]).nullish(),
  });

export type ChatRequestWire = z.infer<typeof chatRequestSchema>;

/**
 * Compile-time check: every field the official client can send for the fields above has a type
 * our schema accepts (a mismatch here fails `tsc`).
 */
type Covered =
  | "reasoning_effort"
  | "model"
  | "max_tokens"
  | "max_completion_tokens"
  | "temperature"
  | "top_p"
  | "n"
  | "seed"
  | "frequency_penalty"
  | "presence_penalty"
  | "logprobs"
  | "top_logprobs"
  | "stream"
  | "user"
  | "prediction";
type AcceptsOpenAI<T extends Covered> = NonNullable<ChatCompletionCreateParams[T]> extends NonNullable<ChatRequestWire[T]> ? true : never;
export const openAiFieldsCovered: { [K in Covered]: AcceptsOpenAI<K> } = {
  reasoning_effort: true,
  model: true,
  max_tokens: true,
  max_completion_tokens: true,
  temperature: true,
  top_p: true,
  n: true,
  seed: true,
  frequency_penalty: true,
  presence_penalty: true,
  logprobs: true,
  top_logprobs: true,
  stream: true,
  user: true,
  prediction: true,
};

/** Compile-time check: no field of the official client's request is left out of the schema and the field policy. */
type Placed = keyof typeof chatRequestSchema.shape | UnsupportedField | (typeof IGNORED_FIELDS)[number];
type Unplaced = Exclude<keyof ChatCompletionCreateParamsBase, Placed>;
export const everyOpenAiFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
