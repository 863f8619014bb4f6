/**
 * Request fields Parley knows but does not implement yet. A request that uses one gets a 400 naming
 * it — never silently ignored. A field set to `null`, or to the value that matches what Parley
 * already does, is accepted: it asks for nothing Parley fails to deliver.
 */
import type { FieldIssue } from "../domain/errors.ts";

type Noop = (value: unknown) => boolean;

const isFalse: Noop = (v) => v === false;
const isEmptyArray: Noop = (v) => Array.isArray(v) && v.length === 0;
const never: Noop = () => false;

/** Field → which values are no-ops today, and why the field is not available otherwise. */
const FIELDS: Record<string, { noop: Noop; reason: string }> = {
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
  repeat_penalty: { noop: (v) => v === 1, reason: "repeat_penalty is not available" },
  dry_multiplier: { noop: (v) => v === 0, reason: "DRY sampling is not available" },
  xtc_probability: { noop: (v) => v === 0, reason: "XTC sampling is not available" },
  n_predict: { noop: never, reason: "use max_tokens" },
  // OpenAI features outside a text-only local model
  audio: { noop: never, reason: "audio output is not supported" },
  modalities: { noop: (v) => Array.isArray(v) && v.every((m) => m === "text"), reason: "only the text modality is supported" },
  prediction: { noop: never, reason: "predicted outputs are not supported" },
  web_search_options: { noop: never, reason: "web search is not supported" },
  store: { noop: isFalse, reason: "Parley does not store completions" },
  service_tier: { noop: (v) => v === "auto" || v === "default", reason: "only the default service tier exists" },
  verbosity: { noop: (v) => v === "medium", reason: "response verbosity control is not supported" },
};

/** Returns an issue for each field that asks for something Parley cannot do yet. */
export function unsupportedFieldIssues(body: Readonly<Record<string, unknown>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [field, rule] of Object.entries(FIELDS)) {
    const value = body[field];
    if (value === undefined || value === null || rule.noop(value)) continue;
    issues.push({ path: [field], message: `\`${field}\` is not supported by Parley: ${rule.reason}.`, type: "unsupported" });
  }
  return issues;
}
