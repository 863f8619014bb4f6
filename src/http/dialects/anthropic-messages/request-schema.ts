/**
 * The wire schema of Anthropic's `POST /v1/messages` (zod), checked against the
 * `@anthropic-ai/sdk` request type at compile time: every field the SDK can send is in the schema
 * or in REFUSED_FIELDS below (a field the SDK gains fails `tsc` until it is placed). Beside
 * Anthropic's own fields, a few of Parley's sampling extensions (vLLM's names, as on the chat
 * route) are accepted so that tests and local users can seed and steer a request; any other field
 * is a 400 naming it. Content blocks and tools are read loosely here and checked one by one in
 * normalize.ts / content.ts, so a 400 can name the exact block (`messages[1].content[0].type`).
 */
import type { MessageCountTokensParams, MessageCreateParamsBase } from "@anthropic-ai/sdk/resources/messages/messages";
import { z } from "zod";
import { generationFields, wellFormed } from "../../../schemas/generation.ts";
import { promptControlFields } from "../../../schemas/prompt-control.ts";

/** Anthropic's stop-sequence list has no documented cap; Parley's domain request holds 4. */
const MAX_STOP_SEQUENCES = 4;
/** Anthropic's own limit on `metadata.user_id`. */
const MAX_USER_ID = 256;

/** Any block; each kind is checked in content.ts, which names an unsupported one. */
export const anyBlock = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(anyBlock)]);

export const textBlock = z.object({ type: z.literal("text"), text: z.string(), cache_control: z.unknown().optional(), citations: z.array(z.unknown()).nullish() });

export const messageSchema = z.object({ role: z.enum(["user", "assistant", "system"]), content });

/** A client tool (`type` absent or `custom`); server tools are told apart by their `type` in normalize.ts. */
export const customTool = z.strictObject({
  type: z.literal("custom").nullish(),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "tool names must match ^[a-zA-Z0-9_-]{1,64}$"),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal("object", 'input_schema must be a JSON Schema of `type: "object"`') }),
  strict: z.boolean().optional(),
  // A prompt-caching hint: Parley's prefix cache is implicit, the answer never depends on it.
  cache_control: z.unknown().optional(),
});

const disableParallel = z.boolean().optional();
const toolChoice = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("auto"), disable_parallel_tool_use: disableParallel }),
  z.strictObject({ type: z.literal("any"), disable_parallel_tool_use: disableParallel }),
  z.strictObject({ type: z.literal("tool"), name: z.string(), disable_parallel_tool_use: disableParallel }),
  z.strictObject({ type: z.literal("none") }),
]);

/** `display: "summarized"` is accepted and gives the whole thoughts (Parley does not summarise); `omitted` empties them. */
const display = z.enum(["summarized", "omitted"]).nullish();
const thinking = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1), display }),
  z.strictObject({ type: z.literal("disabled") }),
  z.strictObject({ type: z.literal("adaptive"), display }),
]);

const outputConfig = z.strictObject({
  effort: z.enum(["low", "medium", "high", "xhigh", "max"]).nullish(),
  format: z.strictObject({ type: z.literal("json_schema"), schema: z.record(z.string(), z.unknown()) }).nullish(),
});

/** Parley's extensions on this route (vLLM's names, as on `/v1/chat/completions`). */
const { seed, logit_bias, min_p, repetition_penalty, frequency_penalty, presence_penalty, min_tokens, keep_alive } = generationFields.shape;
const extensions = {
  seed,
  keep_alive,
  logit_bias,
  min_p,
  repetition_penalty,
  frequency_penalty,
  presence_penalty,
  min_tokens,
  chat_template: promptControlFields.shape.chat_template,
  chat_template_kwargs: promptControlFields.shape.chat_template_kwargs,
};

/** The fields both `/v1/messages` and `/v1/messages/count_tokens` read. */
const inputFields = {
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z
    .array(z.looseObject({ type: z.string().nullish() }))
    .max(128)
    .optional(),
  tool_choice: toolChoice.optional(),
  thinking: thinking.optional(),
  output_config: outputConfig.optional(),
  cache_control: z.unknown().optional(),
};

/** Fields of Anthropic's API that Parley refuses with a 400 naming them (unless null), and why. */
export const REFUSED_FIELDS = {
  container: "code-execution containers are not available",
  diagnostics: "request diagnostics are not available",
  inference_geo: "Parley serves from where it runs",
  user_profile_id: "user profiles are not available",
  workspace_id: "workspaces are not available",
} as const;

/** In the schema (so that they are known), refused in normalize.ts with their reason. */
const refused = Object.fromEntries(Object.keys(REFUSED_FIELDS).map((field) => [field, z.unknown().optional()])) as Record<keyof typeof REFUSED_FIELDS, z.ZodOptional<z.ZodUnknown>>;

export const messagesRequestSchema = z
  .object({
    ...refused,
    ...inputFields,
    max_tokens: z.number().int().min(1),
    stop_sequences: z.array(wellFormed).max(MAX_STOP_SEQUENCES).optional(),
    // Anthropic's range is 0–1; the value is used as it is.
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    metadata: z.strictObject({ user_id: z.string().max(MAX_USER_ID).nullish() }).optional(),
    stream: z.boolean().optional(),
    // Accepted: Parley has one tier for this API.
    service_tier: z.enum(["auto", "standard_only"]).optional(),
    speed: z.literal("standard", "only the `standard` speed is available").nullish(),
    ...extensions,
  })
  .loose();

/** `count_tokens` takes the same body (clients often send the very request they will make); `max_tokens` is optional there. */
export const countTokensRequestSchema = messagesRequestSchema.extend({ max_tokens: z.number().int().min(1).optional() });

export type MessagesRequestWire = z.infer<typeof messagesRequestSchema>;
/** Either body, as normalize.ts reads it (`max_tokens` optional). */
export type CountTokensWire = z.infer<typeof countTokensRequestSchema>;
export type MessageWire = z.infer<typeof messageSchema>;
export type ToolChoiceWire = z.infer<typeof toolChoice>;

/**
 * Compile-time check: the SDK's values for the fields above are accepted by our schema (a
 * mismatch fails `tsc`). `messages`, `system`, `tools` and `thinking` are wider in the SDK (every
 * block and server tool): their kinds are checked one by one in normalize.ts.
 */
type Covered = "model" | "max_tokens" | "stop_sequences" | "stream" | "metadata" | "service_tier" | "tool_choice" | "output_config";
type Accepts<T extends Covered> = NonNullable<MessageCreateParamsBase[T]> extends NonNullable<MessagesRequestWire[T]> ? true : never;
export const anthropicFieldsCovered: { [K in Covered]: Accepts<K> } = {
  model: true,
  max_tokens: true,
  stop_sequences: true,
  stream: true,
  metadata: true,
  service_tier: true,
  tool_choice: true,
  output_config: true,
};

/** Compile-time check: no field of the SDK's request (create and count_tokens) is left out of the schema and REFUSED_FIELDS. */
type Placed = keyof typeof messagesRequestSchema.shape;
type Unplaced = Exclude<keyof MessageCreateParamsBase | keyof MessageCountTokensParams, Placed>;
export const everyAnthropicFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
