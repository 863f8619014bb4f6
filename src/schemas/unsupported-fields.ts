/**
 * The policy for request fields outside the chat schema, so that none is silently ignored:
 *
 * - other servers' fields (vLLM's, llama.cpp's server's: EXTENSIONS, names in
 *   domain/capabilities.ts): kept in the domain request's `extensions` when their value asks for
 *   something (`extensionFields`); the engine chosen for the request then forwards them, or the
 *   capability check (router/capabilities.ts) refuses them with a 400 naming the field. Their
 *   values are checked here, at the edge, for their type;
 * - OpenAI features no engine offers (UNSUPPORTED): a 400 naming the field, unless set to `null`
 *   or to the value that matches what Parley already does;
 * - fields accepted on purpose without effect (IGNORED_FIELDS, listed in README): caching hints
 *   that cannot change an answer;
 * - any other field, which no dialect Parley speaks defines: a 400 naming it.
 */
import type { ExtensionField } from "../domain/capabilities.ts";
import type { FieldIssue } from "../domain/errors.ts";

type Noop = (value: unknown) => boolean;

const isFalse: Noop = (v) => v === false;
const isEmptyArray: Noop = (v) => Array.isArray(v) && v.length === 0;
const never: Noop = () => false;

/** A check of an extension's value: undefined when it is well-formed, else what it must be. */
type Shape = (value: unknown) => string | undefined;
const number: Shape = (v) => (typeof v === "number" && Number.isFinite(v) ? undefined : "a number");
const integer: Shape = (v) => (Number.isInteger(v) ? undefined : "an integer");
const boolean: Shape = (v) => (typeof v === "boolean" ? undefined : "a boolean");
const tokenIds: Shape = (v) => (Array.isArray(v) && v.every((t) => Number.isInteger(t) && (t as number) >= 0) ? undefined : "an array of token ids");
const strings: Shape = (v) => (Array.isArray(v) && v.every((s) => typeof s === "string") ? undefined : "an array of strings");
const stringOrObject: Shape = (v) => (typeof v === "string" || (typeof v === "object" && v !== null && !Array.isArray(v)) ? undefined : "a string or an object");
const array: Shape = (v) => (Array.isArray(v) ? undefined : "an array");

/**
 * Other servers' fields: which values change nothing (so they are not kept), and the shape a
 * value must have. Which engines forward which: src/engines/upstream/dialect-table.ts.
 */
const EXTENSIONS: Readonly<Record<ExtensionField, { readonly noop: Noop; readonly shape: Shape }>> = {
  // vLLM
  allowed_token_ids: { noop: never, shape: tokenIds },
  bad_words: { noop: isEmptyArray, shape: strings },
  truncate_prompt_tokens: { noop: never, shape: integer },
  structural_tag: { noop: never, shape: stringOrObject },
  return_tokens_as_token_ids: { noop: isFalse, shape: boolean },
  logits_processors: { noop: isEmptyArray, shape: array },
  // llama.cpp's server
  typical_p: { noop: (v) => v === 1, shape: number },
  tfs_z: { noop: (v) => v === 1, shape: number },
  mirostat: { noop: (v) => v === 0, shape: integer },
  mirostat_mode: { noop: (v) => v === 0, shape: integer },
  // Parley always reuses the cached prefix of a prompt: `false` asks for what llama.cpp's server does without
  cache_prompt: { noop: (v) => v === true, shape: boolean },
  repeat_penalty: { noop: (v) => v === 1, shape: number },
  dry_multiplier: { noop: (v) => v === 0, shape: number },
  xtc_probability: { noop: (v) => v === 0, shape: number },
};

/** OpenAI features no engine offers: which values are no-ops, and why the field is not available otherwise. */
const UNSUPPORTED = {
  audio: { noop: never, reason: "audio output is not supported" },
  modalities: { noop: (v) => Array.isArray(v) && v.every((m) => m === "text"), reason: "only the text modality is supported" },
  web_search_options: { noop: never, reason: "web search is not supported" },
  moderation: { noop: never, reason: "moderated completions are not supported" },
} satisfies Record<string, { noop: Noop; reason: string }>;

/** Fields Parley knows outside its schema: other servers' (see EXTENSIONS) and OpenAI features it does not offer. */
export type UnsupportedField = keyof typeof UNSUPPORTED | ExtensionField;

/** OpenAI's prompt-cache hints: Parley's prefix cache is implicit and in memory, and the answer never depends on it. */
export const IGNORED_FIELDS = ["prompt_cache_retention", "prompt_cache_options"] as const;

const placed = (field: string) => Object.hasOwn(UNSUPPORTED, field) || Object.hasOwn(EXTENSIONS, field);

/**
 * Issues for the body's fields that are neither `known` (the schema's), nor placed by this
 * policy, nor ignored on purpose. `api`: the dialect, as the message names it (default `chat completions`).
 */
export function unknownFieldIssues(body: Readonly<Record<string, unknown>>, known: ReadonlySet<string>, api = "chat completions"): FieldIssue[] {
  const ignored = new Set<string>(IGNORED_FIELDS);
  return Object.keys(body)
    .filter((field) => !known.has(field) && !placed(field) && !ignored.has(field))
    .map((field) => ({ path: [field], message: `\`${field}\` is not a field of the ${api} API (OpenAI's, vLLM's or llama-server's) that Parley knows: remove it.`, type: "unknown_field" }));
}

/**
 * An issue for each OpenAI feature no engine offers, and for each other server's field whose
 * value has the wrong type (whether an engine forwards it is the capability check's matter).
 */
export function unsupportedFieldIssues(body: Readonly<Record<string, unknown>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [field, rule] of Object.entries(UNSUPPORTED) as [string, { noop: Noop; reason: string }][]) {
    const value = body[field];
    if (value === undefined || value === null || rule.noop(value)) continue;
    issues.push({ path: [field], message: `\`${field}\` is not supported by Parley: ${rule.reason}.`, type: "unsupported" });
  }
  for (const [field, rule] of Object.entries(EXTENSIONS)) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const expected = rule.shape(value);
    if (expected !== undefined) issues.push({ path: [field], message: `\`${field}\` must be ${expected}.`, type: "invalid_type" });
  }
  return issues;
}

/**
 * The other servers' fields the body sets to something that is not a no-op, verbatim, for the
 * domain request's `extensions` (call after validation: values are as sent). Empty when none.
 */
export function extensionFields(body: Readonly<Record<string, unknown>>): Readonly<Partial<Record<ExtensionField, unknown>>> {
  const out: Partial<Record<ExtensionField, unknown>> = {};
  for (const [field, rule] of Object.entries(EXTENSIONS) as [ExtensionField, { noop: Noop; shape: Shape }][]) {
    const value = body[field];
    if (value !== undefined && value !== null && !rule.noop(value)) out[field] = value;
  }
  return out;
}
