/**
 * The translation table: how each request field Parley forwards is sent to an upstream of each
 * dialect — under the same name, under another, rewritten, left out (only fields that change
 * nothing the upstream generates), or refused with a 400 naming the field (the upstream would
 * ignore it, so the answer would silently not be what was asked). Constraints and tools are
 * translated in `dialect-constraints.ts`; this table covers every other field.
 *
 * Fields are keyed by the name Parley's own body uses (vLLM's names, which Parley accepts). Only
 * fields that differ from their defaults reach the table, so a default is never refused.
 */
import type { ExtensionField } from "../../domain/capabilities.ts";
import { invalidRequest, type ParleyError } from "../../domain/errors.ts";
import { DIALECT_NAMES, type UpstreamDialect } from "./dialect.ts";

/** llama-server's `repeat_last_n` for "the whole context" (see `repetition_penalty`). */
export const WHOLE_CONTEXT = 65_536;

export type WireBody = Record<string, unknown>;

export type FieldRule =
  /** Sent as is, or under the name `as`. */
  | { readonly kind: "send"; readonly as?: string }
  /** A 400 naming the field: the dialect has nothing that does what it asks. */
  | { readonly kind: "reject" }
  /**
   * Not sent, and nothing is lost: metadata Parley records itself, or a hint Parley acts on itself
   * (`prompt_cache_key` places the request on a replica; `service_tier` orders Parley's queue).
   */
  | { readonly kind: "drop" }
  /** Rewritten into other fields; `undefined` refuses this value. `note` says how, for the README. */
  | { readonly kind: "map"; readonly note: string; readonly map: (value: unknown, body: Readonly<WireBody>) => WireBody | undefined };

export type Row = Readonly<Record<UpstreamDialect, FieldRule>>;

const SEND: FieldRule = { kind: "send" };
const REJECT: FieldRule = { kind: "reject" };
const DROP: FieldRule = { kind: "drop" };
const as = (name: string): FieldRule => ({ kind: "send", as: name });
const map = (note: string, fn: (value: unknown, body: Readonly<WireBody>) => WireBody | undefined): FieldRule => ({ kind: "map", note, map: fn });

/** A row in the order openai, vllm, llama-server, sglang, parley (Parley reads every field as is). */
function row(openai: FieldRule, vllm: FieldRule, llamaServer: FieldRule, sglang: FieldRule): Row {
  return { openai, vllm, "llama-server": llamaServer, sglang, parley: SEND };
}

/** vLLM's beam search returns `n` beams: a wider beam than `n` cannot be asked for. */
const vllmBeamWidth = map("with `use_beam_search` and `best_of` = `n` only (vLLM's beam width is `n`)", (value, body) => (body.use_beam_search === true && value === (body.n ?? 1) ? {} : undefined));

export const FIELD_TABLE: Readonly<Record<string, Row>> = {
  //                          openai                           vllm           llama-server                      sglang
  max_tokens: row(as("max_completion_tokens"), SEND, SEND, SEND),
  n: row(SEND, SEND, SEND, SEND),
  temperature: row(SEND, SEND, SEND, SEND),
  top_p: row(SEND, SEND, SEND, SEND),
  top_k: row(REJECT, SEND, SEND, SEND),
  min_p: row(REJECT, SEND, SEND, SEND),
  seed: row(SEND, SEND, SEND, SEND),
  repetition_penalty: row(
    REJECT,
    SEND,
    // vLLM's penalty covers the whole context. llama-server's `repeat_last_n: -1` meant that, but the
    // release node-llama-cpp bundles refuses -1 (0…2^31): a window larger than any context Parley
    // forwards to does the same (llama.cpp keeps a ring buffer of that many tokens: 256 KiB).
    map(`\`repeat_penalty\` over the whole context (\`repeat_last_n: ${WHOLE_CONTEXT}\`)`, (value) => ({ repeat_penalty: value, repeat_last_n: WHOLE_CONTEXT })),
    SEND,
  ),
  frequency_penalty: row(SEND, SEND, SEND, SEND),
  presence_penalty: row(SEND, SEND, SEND, SEND),
  logit_bias: row(SEND, SEND, SEND, SEND),
  stop: row(SEND, SEND, SEND, SEND),
  include_stop_str_in_output: row(REJECT, SEND, REJECT, as("no_stop_trim")),
  stop_token_ids: row(REJECT, SEND, REJECT, SEND),
  ignore_eos: row(REJECT, SEND, SEND, SEND),
  skip_special_tokens: row(REJECT, SEND, REJECT, SEND),
  spaces_between_special_tokens: row(REJECT, SEND, REJECT, REJECT),
  min_tokens: row(REJECT, SEND, REJECT, SEND),
  logprobs: row(SEND, SEND, SEND, SEND),
  top_logprobs: row(SEND, SEND, SEND, SEND),
  prompt_logprobs: row(REJECT, SEND, REJECT, REJECT),
  user: row(SEND, SEND, DROP, SEND),
  peft: row(
    REJECT,
    map("the adapter's name as `model` (vLLM serves each LoRA adapter as a model)", (value) => ({ model: value })),
    REJECT,
    as("lora_path"),
  ),
  guided_whitespace_pattern: row(
    REJECT,
    map("`structured_outputs.whitespace_pattern`", (value) => ({ structured_outputs: { whitespace_pattern: value } })),
    REJECT,
    REJECT,
  ),
  best_of: row(REJECT, vllmBeamWidth, REJECT, REJECT),
  use_beam_search: row(REJECT, SEND, REJECT, REJECT),
  length_penalty: row(REJECT, SEND, REJECT, REJECT),
  early_stopping: row(REJECT, REJECT, REJECT, REJECT),
  add_generation_prompt: row(REJECT, SEND, SEND, REJECT),
  continue_final_message: row(REJECT, SEND, SEND, SEND),
  add_special_tokens: row(REJECT, SEND, REJECT, REJECT),
  echo: row(REJECT, SEND, REJECT, REJECT),
  chat_template: row(REJECT, SEND, REJECT, REJECT),
  chat_template_kwargs: row(REJECT, SEND, SEND, SEND),
  documents: row(REJECT, SEND, REJECT, REJECT),
  reasoning_effort: row(SEND, SEND, SEND, SEND),
  thinking_token_budget: row(REJECT, SEND, as("reasoning_budget_tokens"), REJECT),
  prompt_cache_key: row(SEND, DROP, DROP, DROP),
  service_tier: row(SEND, DROP, DROP, DROP),
  // OpenAI's Predicted Outputs: only OpenAI and another Parley read it; the others would ignore it.
  prediction: row(SEND, REJECT, REJECT, REJECT),
};

/**
 * Other servers' fields (domain/capabilities.ts `EXTENSION_FIELDS`) each dialect reads, and how
 * they are sent; a field a dialect has no rule for is refused (the capability check names it
 * before the request is sent). Another Parley receives them all and answers for itself.
 */
export const DIALECT_EXTENSIONS: Readonly<Record<UpstreamDialect, Readonly<Partial<Record<ExtensionField, FieldRule>>>>> = {
  openai: {},
  vllm: {
    allowed_token_ids: SEND,
    bad_words: SEND,
    truncate_prompt_tokens: SEND,
    return_tokens_as_token_ids: SEND,
    // vLLM ≥ 0.12 reads it inside `structured_outputs`, as a JSON string.
    structural_tag: map("`structured_outputs.structural_tag`", (value) => ({ structured_outputs: { structural_tag: typeof value === "string" ? value : JSON.stringify(value) } })),
  },
  "llama-server": { typical_p: SEND, mirostat: SEND, repeat_penalty: SEND, dry_multiplier: SEND, xtc_probability: SEND, cache_prompt: SEND },
  sglang: {},
  parley: {
    allowed_token_ids: SEND,
    bad_words: SEND,
    truncate_prompt_tokens: SEND,
    structural_tag: SEND,
    return_tokens_as_token_ids: SEND,
    logits_processors: SEND,
    typical_p: SEND,
    tfs_z: SEND,
    mirostat: SEND,
    mirostat_mode: SEND,
    cache_prompt: SEND,
    repeat_penalty: SEND,
    dry_multiplier: SEND,
    xtc_probability: SEND,
  },
};

/**
 * The request's `extensions` in `dialect`'s form; a 400 naming the first the dialect does not
 * read, or one whose name the translated `body` already holds (`repeat_penalty` next to
 * `repetition_penalty` for llama.cpp's server).
 */
export function extensionFields(extensions: Readonly<Partial<Record<ExtensionField, unknown>>>, body: Readonly<WireBody>, dialect: UpstreamDialect, modelId: string): WireBody {
  const out: WireBody = {};
  for (const [field, value] of Object.entries(extensions) as [ExtensionField, unknown][]) {
    const rule = DIALECT_EXTENSIONS[dialect][field];
    if (rule === undefined || rule.kind === "reject") throw notInDialect(field, dialect, modelId);
    if (rule.kind === "drop") continue;
    const part = rule.kind === "send" ? { [rule.as ?? field]: value } : rule.map(value, body);
    if (part === undefined) throw notInDialect(field, dialect, modelId, rule.kind === "map" ? `it is accepted ${rule.note}` : undefined);
    for (const key of Object.keys(part)) {
      if (key in body && !isPlainObject(body[key])) throw notInDialect(field, dialect, modelId, `the request already sets \`${key}\` through another field`);
    }
    mergeInto(out, part);
  }
  return out;
}

/** Puts `part` into `body`; an object field both already hold (`structured_outputs`) is merged. */
export function mergeInto(body: WireBody, part: Readonly<WireBody>): void {
  for (const [key, value] of Object.entries(part)) {
    const old = body[key];
    body[key] = isPlainObject(old) && isPlainObject(value) ? { ...old, ...value } : value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The 400 for a field (or constraint) the upstream's dialect cannot honour. */
export function notInDialect(field: string, dialect: UpstreamDialect, modelId: string, detail?: string): ParleyError {
  const why = detail ?? `${DIALECT_NAMES[dialect]}'s API has no field that does this, so the upstream would ignore it`;
  return invalidRequest(`\`${field}\` cannot be honoured by the upstream serving model \`${modelId}\` (dialect \`${dialect}\`): ${why}.`, field.split("."), "unsupported");
}

/**
 * `fields` (Parley's names, in order) in `dialect`: a new body, or a 400 for the first field the
 * dialect cannot honour. Fields the table does not know are sent as they are. `overrides`: rows
 * that replace the table's for one endpoint (text completions: `text-dialect-table.ts`).
 */
export function translateFields(fields: Readonly<WireBody>, dialect: UpstreamDialect, modelId: string, overrides: Readonly<Record<string, Row>> = {}): WireBody {
  const out: WireBody = {};
  for (const [field, value] of Object.entries(fields)) {
    const rule = (overrides[field] ?? FIELD_TABLE[field])?.[dialect] ?? SEND;
    switch (rule.kind) {
      case "send":
        mergeInto(out, { [rule.as ?? field]: value });
        break;
      case "drop":
        break;
      case "reject":
        throw notInDialect(field, dialect, modelId);
      case "map": {
        const part = rule.map(value, fields);
        if (part === undefined) throw notInDialect(field, dialect, modelId, `it is accepted ${rule.note}`);
        mergeInto(out, part);
        break;
      }
    }
  }
  return out;
}
