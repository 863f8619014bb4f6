/**
 * The wire schema of `POST /v1/chat/completions` (zod), checked against the `openai` package's
 * request type at compile time: every field it can send is in the schema or in the policy of
 * unsupported-fields.ts (a field the SDK adds fails `tsc` until it is placed). Fields outside both
 * are a 400 (unsupported-fields.ts); known fields are validated strictly. Every optional field also
 * accepts `null`, which clients send for "unset".
 */
import type { ChatCompletionCreateParams, ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import { z } from "zod";
import { constraintFields } from "./constraints.ts";
import { promptControlFields } from "./prompt-control.ts";
import { reasoningFields } from "./reasoning.ts";
import { searchFields } from "./search.ts";
import { toolFields } from "./tools.ts";
import type { IGNORED_FIELDS, UnsupportedField } from "./unsupported-fields.ts";

/** A string without lone UTF-16 surrogates (which could cut a character in two). */
const wellFormed = z.string().refine((v) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v), "must be well-formed Unicode (no lone surrogates)");

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

export const messageSchema = z.discriminatedUnion("role", [
  systemMessage,
  developerMessage,
  userMessage,
  assistantMessage,
  toolMessage,
  functionMessage,
]);

const penalty = z.number().min(-2).max(2).nullish();
const positiveInt = z.number().int().min(1).nullish();

export const chatRequestSchema = constraintFields.extend(toolFields.shape).extend(promptControlFields.shape).extend(searchFields.shape).extend(reasoningFields.shape).loose().extend({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  max_tokens: positiveInt,
  max_completion_tokens: positiveInt,
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stop: z.union([wellFormed, z.array(wellFormed).max(4)]).nullish(),
  // Any 64-bit integer (zod's .int() stops at 2^53): folded to the sampler's uint32.
  seed: z
    .number()
    .min(-(2 ** 63))
    .max(2 ** 63)
    .refine(Number.isInteger, "seed must be an integer")
    .nullish(),
  frequency_penalty: penalty,
  presence_penalty: penalty,
  logit_bias: z.record(z.string().regex(/^\d+$/, "token ids must be non-negative integers"), z.number().min(-100).max(100)).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .object({
      include_usage: z.boolean().nullish(),
      continuous_usage_stats: z.literal(false, "`continuous_usage_stats` is not supported by Parley").nullish(),
    })
    .nullish(),
  // vLLM sampling and stopping extensions
  top_k: z.number().int().min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  ignore_eos: z.boolean().nullish(),
  stop_token_ids: z.array(z.number().int().min(0)).max(64).nullish(),
  include_stop_str_in_output: z.boolean().nullish(),
  skip_special_tokens: z.boolean().nullish(),
  spaces_between_special_tokens: z.boolean().nullish(),
  // vLLM accepts any value > 0; beyond this range logits overflow to ±∞ and sampling breaks down.
  repetition_penalty: z.number().min(0.01).max(100).nullish(),
  min_tokens: z.number().int().min(0).nullish(),
  peft: z.string().min(1).nullish(),
  // OctoAI: append this request's prompt and response to the request log (`--request-log`)
  log_prompt: z.boolean().nullish(),
  user: z.string().nullish(),
  // OpenAI's newer fields: an end-user id recorded like `user`; a prompt-cache placement hint;
  // the queue position (`priority` first, `flex` last); answer length, for templates that read it;
  // `store`, recorded in the request log (Parley keeps no completions).
  safety_identifier: z.string().max(256).nullish(),
  prompt_cache_key: z.string().max(1024).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  verbosity: z.enum(["low", "medium", "high"]).nullish(),
  store: z.boolean().nullish(),
  // llama-server's names: `n_predict` is `max_tokens` (-1: no limit); `cache_prompt` (see unsupported-fields.ts).
  n_predict: z.number().int().min(-1).nullish(),
  cache_prompt: z.boolean().nullish(),
  // OpenAI's documented limits: 16 pairs, keys up to 64 characters, values up to 512.
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, "metadata holds at most 16 pairs")
    .nullish(),
});

export type ChatRequestWire = z.infer<typeof chatRequestSchema>;

/**
 * Compile-time check: every field the official client can send for the fields above has a type
 * our schema accepts (a mismatch here fails `tsc`).
 */
type Covered = "reasoning_effort" | "model" | "max_tokens" | "max_completion_tokens" | "temperature" | "top_p" | "n" | "seed" | "frequency_penalty" | "presence_penalty" | "logprobs" | "top_logprobs" | "stream" | "user";
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
};

/** Compile-time check: no field of the official client's request is left out of the schema and the field policy. */
type Placed = keyof typeof chatRequestSchema.shape | UnsupportedField | (typeof IGNORED_FIELDS)[number];
type Unplaced = Exclude<keyof ChatCompletionCreateParamsBase, Placed>;
export const everyOpenAiFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
