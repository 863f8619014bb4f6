/**
 * The wire schema of `POST /v1/responses` (zod), checked against the `openai` package's
 * `ResponseCreateParamsBase` at compile time: every field it can send is in the schema or in the
 * field policy of schemas/unsupported-fields.ts (a field the SDK adds fails `tsc` until it is
 * placed). The shared generation fields (schemas/generation.ts) come without the ones the
 * Responses API names otherwise (`max_tokens` → `max_output_tokens`, `response_format` →
 * `text.format`, `stream_options` is its own) or cannot carry (`n`, `best_of`, beams: one output).
 * Input items are validated one by one in input-items.ts, so that each issue names its item.
 */
import type { ResponseCreateParamsBase } from "openai/resources/responses/responses";
import { z } from "zod";
import { generationFields, positiveInt } from "../../../schemas/generation.ts";
import { promptControlFields } from "../../../schemas/prompt-control.ts";
import { REASONING_EFFORTS } from "../../../domain/reasoning.ts";
import type { IGNORED_FIELDS, UnsupportedField } from "../../../schemas/unsupported-fields.ts";

const jsonObject = z.record(z.string(), z.unknown());

/** A function tool (the only kind Parley runs); other types are refused in normalize.ts, naming them. */
export const functionToolSchema = z.object({
  type: z.literal("function"),
  name: z.string(),
  description: z.string().nullish(),
  parameters: jsonObject.nullish(),
  strict: z.boolean().nullish(),
});
const anyTool = z.looseObject({ type: z.string() });

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), name: z.string() }),
  // Hosted tools, `allowed_tools`, `mcp`, `custom`…: refused in normalize.ts, naming the type.
  z.looseObject({ type: z.string() }),
]);

const formatName = z
  .string()
  .max(64)
  .regex(/^[a-zA-Z0-9_-]+$/, "name may contain a-z, A-Z, 0-9, _ and -");
/** `text.format`: OpenAI's three kinds (the schema beside `type`, not wrapped as in chat). */
export const textFormatSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({ type: z.literal("json_schema"), name: formatName, schema: jsonObject, description: z.string().nullish(), strict: z.boolean().nullish() }),
]);

export const textConfigSchema = z.strictObject({
  format: textFormatSchema.nullish(),
  verbosity: z.enum(["low", "medium", "high"]).nullish(),
});

export const reasoningConfigSchema = z.strictObject({
  effort: z.enum(REASONING_EFFORTS).nullish(),
  summary: z.enum(["auto", "concise", "detailed"]).nullish(),
  // The older name of `summary`.
  generate_summary: z.enum(["auto", "concise", "detailed"]).nullish(),
});

/** Features of OpenAI's platform that Parley does not have: only `null` (unset) is accepted. */
const refused = (what: string) => z.null(`${what}`).optional();

/** What `include` may ask for: only the output's log-probabilities mean something here. */
export const INCLUDABLE = ["message.output_text.logprobs"] as const;

export const responsesRequestSchema = generationFields
  .omit({
    max_tokens: true,
    n: true,
    n_predict: true,
    response_format: true,
    stream_options: true,
    best_of: true,
    use_beam_search: true,
    length_penalty: true,
    early_stopping: true,
    prompt_logprobs: true,
    loglikelihood: true,
  })
  .extend(promptControlFields.shape)
  .loose()
  .extend({
    // A string, or a list of items (checked item by item: input-items.ts).
    input: z.union([z.string(), z.array(z.looseObject({ type: z.string().nullish() }))]),
    instructions: z.string().nullish(),
    max_output_tokens: positiveInt,
    tools: z
      .array(z.union([functionToolSchema, anyTool]))
      .max(128)
      .nullish(),
    tool_choice: toolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    text: textConfigSchema.nullish(),
    reasoning: reasoningConfigSchema.nullish(),
    // vLLM's thinking budget, as in chat.
    thinking_token_budget: z.number().int().min(0).nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    include: z.array(z.string()).nullish(),
    truncation: z.enum(["auto", "disabled"]).nullish(),
    // The state part (src/responses-store) acts on these.
    previous_response_id: z.string().min(1).nullish(),
    background: z.boolean().nullish(),
    // Parley never obfuscates stream deltas (the padding guards against side channels of OpenAI's own network).
    stream_options: z.strictObject({ include_obfuscation: z.boolean().nullish() }).nullish(),
    conversation: refused("conversations are not supported by Parley: continue with `previous_response_id`"),
    prompt: refused("stored prompt templates are not supported by Parley: send `instructions` and `input`"),
    context_management: refused('server-side context compaction is not supported by Parley: use `truncation: "auto"`'),
  });

export type ResponsesRequestWire = z.infer<typeof responsesRequestSchema>;

/**
 * Compile-time check: every field the official client can send for the fields below has a type
 * our schema accepts (a mismatch here fails `tsc`).
 */
type Covered =
  | "model"
  | "instructions"
  | "max_output_tokens"
  | "temperature"
  | "top_p"
  | "top_logprobs"
  | "parallel_tool_calls"
  | "previous_response_id"
  | "background"
  | "store"
  | "stream"
  | "truncation"
  | "metadata"
  | "safety_identifier"
  | "prompt_cache_key"
  | "service_tier"
  | "user"
  | "include"
  | "input"
  | "text"
  | "reasoning";
type AcceptsOpenAI<T extends Covered> = NonNullable<ResponseCreateParamsBase[T]> extends NonNullable<ResponsesRequestWire[T]> ? true : never;
// `text.format` and `reasoning` are checked on their parts: the SDK's `reasoning.mode`/`context` are refused (strict objects).
type TextFormatAccepts = NonNullable<NonNullable<ResponseCreateParamsBase["text"]>["format"]> extends { type: "text" | "json_object" | "json_schema" } ? true : never;
export const openAiFieldsCovered: { [K in Exclude<Covered, "text" | "reasoning" | "input">]: AcceptsOpenAI<K> } & { textFormat: TextFormatAccepts } = {
  model: true,
  instructions: true,
  max_output_tokens: true,
  temperature: true,
  top_p: true,
  top_logprobs: true,
  parallel_tool_calls: true,
  previous_response_id: true,
  background: true,
  store: true,
  stream: true,
  truncation: true,
  metadata: true,
  safety_identifier: true,
  prompt_cache_key: true,
  service_tier: true,
  user: true,
  include: true,
  textFormat: true,
};

/** Compile-time check: no field of the official client's request is left out of the schema and the field policy. */
type Placed = keyof typeof responsesRequestSchema.shape | UnsupportedField | (typeof IGNORED_FIELDS)[number];
type Unplaced = Exclude<keyof ResponseCreateParamsBase, Placed>;
export const everyOpenAiFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
