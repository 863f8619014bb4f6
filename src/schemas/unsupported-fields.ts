/**
 * The policy for request fields outside the chat schema, so that none is silently ignored:
 *
 * - fields Parley knows but does not implement (FIELDS): a 400 naming it, unless set to `null` or
 *   to the value that matches what Parley already does (it then asks for nothing Parley fails to
 *   deliver);
 * - fields accepted on purpose without effect (IGNORED_FIELDS, listed in README): caching hints
 *   that cannot change an answer;
 * - any other field, which no dialect Parley speaks defines: a 400 naming it.
 */
import type { FieldIssue } from "../domain/errors.ts";

type Noop = (value: unknown) => boolean;

const isFalse: Noop = (v) => v === false;
const isEmptyArray: Noop = (v) => Array.isArray(v) && v.length === 0;
const never: Noop = () => false;

/** Field → which values are no-ops today, and why the field is not available otherwise. */
const FIELDS = {
  // Other servers' sampling and output controls, so that clients written for them are told
  allowed_token_ids: { noop: never, reason: "allowed_token_ids is not available" },
  bad_words: { noop: isEmptyArray, reason: "bad_words is not available" },
  truncate_prompt_tokens: { noop: never, reason: "prompt truncation is not available (Parley never truncates)" },
  structural_tag: { noop: never, reason: "structural tags are not available" },
  return_tokens_as_token_ids: { noop: isFalse, reason: "token-id output is not available" },
  logits_processors: { noop: isEmptyArray, reason: "logits processors are not available" },
  typical_p: { noop: (v) => v === 1, reason: "typical_p sampling is not available" },
  tfs_z: { noop: (v) => v === 1, reason: "tail-free sampling is not available" },
  mirostat: { noop: (v) => v === 0, reason: "mirostat sampling is not available" },
  mirostat_mode: { noop: (v) => v === 0, reason: "mirostat sampling is not available" },
  cache_prompt: { noop: (v) => v === true, reason: "Parley always reuses the cached prefix of a prompt (the output does not depend on it)" },
  repeat_penalty: { noop: (v) => v === 1, reason: "repeat_penalty is not available" },
  dry_multiplier: { noop: (v) => v === 0, reason: "DRY sampling is not available" },
  xtc_probability: { noop: (v) => v === 0, reason: "XTC sampling is not available" },
  // OpenAI features outside a text-only local model
  audio: { noop: never, reason: "audio output is not supported" },
  modalities: { noop: (v) => Array.isArray(v) && v.every((m) => m === "text"), reason: "only the text modality is supported" },
  prediction: { noop: never, reason: "predicted outputs are not supported" },
  web_search_options: { noop: never, reason: "web search is not supported" },
  moderation: { noop: never, reason: "moderated completions are not supported" },
} satisfies Record<string, { noop: Noop; reason: string }>;

/** Fields Parley knows and does not implement (see FIELDS). */
export type UnsupportedField = keyof typeof FIELDS;

/** OpenAI's prompt-cache hints: Parley's prefix cache is implicit and in memory, and the answer never depends on it. */
export const IGNORED_FIELDS = ["prompt_cache_retention", "prompt_cache_options"] as const;

/** Issues for the body's fields that are neither `known` (the schema's), nor in FIELDS, nor ignored on purpose. */
export function unknownFieldIssues(body: Readonly<Record<string, unknown>>, known: ReadonlySet<string>): FieldIssue[] {
  const ignored = new Set<string>(IGNORED_FIELDS);
  return Object.keys(body)
    .filter((field) => !known.has(field) && !Object.hasOwn(FIELDS, field) && !ignored.has(field))
    .map((field) => ({ path: [field], message: `\`${field}\` is not a field of the chat completions API (OpenAI's, vLLM's or llama-server's) that Parley knows: remove it.`, type: "unknown_field" }));
}

/** Returns an issue for each field that asks for something Parley cannot do yet. */
export function unsupportedFieldIssues(body: Readonly<Record<string, unknown>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [field, rule] of Object.entries(FIELDS) as [string, { noop: Noop; reason: string }][]) {
    const value = body[field];
    if (value === undefined || value === null || rule.noop(value)) continue;
    issues.push({ path: [field], message: `\`${field}\` is not supported by Parley: ${rule.reason}.`, type: "unsupported" });
  }
  return issues;
}
