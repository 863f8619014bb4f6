/**
 * The request fields every text-generating dialect shares (chat and text completions): length,
 * sampling, stopping, the vLLM/OctoAI extensions, scheduling and bookkeeping. `generationFields`
 * is their zod schema; `toGeneration` their share of the domain request, with every default
 * resolved and the seed drawn when absent. Each dialect adds its own input fields (messages or a
 * prompt) and output options.
 */
import { randomInt } from "node:crypto";
import { z } from "zod";
import { keepAliveField } from "./keep-alive.ts";
import type { ChatRequest, Scheduling } from "../domain/chat.ts";
import type { FieldIssue } from "../domain/errors.ts";
import { constraintFields } from "./constraints.ts";
import { searchFields } from "./search.ts";

/** A string without lone UTF-16 surrogates (which could cut a character in two). */
export const wellFormed = z.string().refine((v) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v), "must be well-formed Unicode (no lone surrogates)");

const penalty = z.number().min(-2).max(2).nullish();
export const positiveInt = z.number().int().min(1).nullish();

export const generationFields = constraintFields.extend(searchFields.shape).extend({
  model: z.string().min(1),
  max_tokens: positiveInt,
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
  // the queue position (`priority` first, `flex` last); `store`, recorded in the request log
  // (Parley keeps no completions).
  safety_identifier: z.string().max(256).nullish(),
  prompt_cache_key: z.string().max(1024).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  // Ollama's: how long the (local) model stays loaded after this request (keep-alive.ts).
  keep_alive: keepAliveField,
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

export type GenerationWire = z.infer<typeof generationFields>;

/** The shared part of the domain request (the dialect adds messages or a prompt, search, tools, reasoning…). */
export type GenerationPart = Pick<
  ChatRequest,
  | "model"
  | "n"
  | "stop"
  | "includeStopString"
  | "stopTokenIds"
  | "ignoreEos"
  | "skipSpecialTokens"
  | "spacesBetweenSpecialTokens"
  | "minTokens"
  | "sampling"
  | "user"
  | "scheduling"
  | "adapter"
  | "whitespacePattern"
>;

/** Checks across the shared fields; `maxTokens`: the dialect's resolved length limit. */
export function generationIssues(wire: GenerationWire, maxTokens: number | null | undefined, issues: FieldIssue[]): void {
  if (wire.stream_options != null && wire.stream !== true) {
    issues.push({ path: ["stream_options"], message: "`stream_options` is only allowed when `stream` is true.", type: "invalid_value" });
  }
  if (wire.min_tokens != null && maxTokens != null && wire.min_tokens > maxTokens) {
    issues.push({ path: ["min_tokens"], message: `\`min_tokens\` (${wire.min_tokens}) cannot exceed \`max_tokens\` (${maxTokens}).`, type: "invalid_value" });
  }
}

/** A stop string would cut a constrained structure short and break its validity guarantee: `stop` with an output constraint (set by `constraintField`) is a 400. */
export function stopWithConstraintIssues(stop: string | readonly string[] | null | undefined, constraintField: string | undefined, issues: FieldIssue[]): void {
  if (constraintField === undefined || stop == null || stop.length === 0) return;
  issues.push({ path: ["stop"], message: `\`stop\` cannot be combined with an output constraint (\`${constraintField}\`): it could cut the structure short.`, type: "conflict" });
}

export function toGeneration(wire: GenerationWire): GenerationPart {
  const seed = wire.seed ?? null;
  return {
    model: wire.model,
    n: wire.n ?? 1,
    stop: typeof wire.stop === "string" ? [wire.stop] : (wire.stop ?? []).filter((s) => s !== ""),
    includeStopString: wire.include_stop_str_in_output ?? false,
    stopTokenIds: new Set(wire.stop_token_ids ?? []),
    ignoreEos: wire.ignore_eos ?? false,
    skipSpecialTokens: wire.skip_special_tokens ?? true,
    spacesBetweenSpecialTokens: wire.spaces_between_special_tokens ?? true,
    minTokens: wire.min_tokens ?? 0,
    sampling: {
      // As vLLM: a temperature this close to 0 is greedy (dividing logits by it would overflow).
      temperature: (wire.temperature ?? 1) < GREEDY_BELOW ? 0 : (wire.temperature ?? 1),
      topP: wire.top_p ?? 1,
      topK: Math.max(0, wire.top_k ?? 0),
      minP: wire.min_p ?? 0,
      repetitionPenalty: wire.repetition_penalty ?? 1,
      seed: seed === null ? randomInt(0, 2 ** 32) : toUint32(seed),
      seedFromClient: seed !== null,
      frequencyPenalty: wire.frequency_penalty ?? 0,
      presencePenalty: wire.presence_penalty ?? 0,
      logitBias: new Map(Object.entries(wire.logit_bias ?? {}).map(([k, v]) => [Number(k), v])),
    },
    user: wire.user ?? wire.safety_identifier ?? undefined,
    scheduling: {
      tier: tierOf(wire.service_tier),
      cacheKey: wire.prompt_cache_key ?? undefined,
      ...(wire.keep_alive == null ? {} : { keepAlive: wire.keep_alive }),
    },
    whitespacePattern: wire.guided_whitespace_pattern ?? undefined,
    adapter: wire.peft ?? undefined,
  };
}

/** What every dialect's parsed request carries beside the domain request (bookkeeping fields). */
export interface Bookkeeping {
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** OpenAI `metadata` tags: recorded in the request log, nothing else. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** OctoAI `log_prompt`: this request's text goes into the request log. */
  readonly logPrompt: boolean;
  /** OpenAI `store` and `safety_identifier`: recorded in the request log, nothing else (Parley keeps no completions). */
  readonly store: boolean | undefined;
  readonly safetyIdentifier: string | undefined;
}

export function toBookkeeping(wire: GenerationWire): Bookkeeping {
  return {
    stream: wire.stream ?? false,
    includeUsage: wire.stream_options?.include_usage ?? false,
    metadata: wire.metadata ?? undefined,
    logPrompt: wire.log_prompt ?? false,
    store: wire.store ?? undefined,
    safetyIdentifier: wire.safety_identifier ?? undefined,
  };
}

/** OpenAI's tiers as Parley's queue sees them: `scale` and `auto` are the default. */
function tierOf(tier: string | null | undefined): Scheduling["tier"] {
  return tier === "priority" || tier === "flex" ? tier : "default";
}

/** Any integer seed (OpenAI allows 64-bit, negative too) mapped onto the sampler's uint32. */
function toUint32(seed: number): number {
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

/** Temperatures below this are greedy. */
const GREEDY_BELOW = 1e-5;
