/**
 * vLLM's search and likelihood fields → the domain `SearchStrategy` and `promptLogprobs`:
 * `best_of`, `use_beam_search` (+ `length_penalty`, `early_stopping`), `prompt_logprobs` and
 * OctoAI's `loglikelihood` (prompt log-probabilities without alternatives).
 *
 * Beam search is deterministic and ranks by the model's log-probabilities (after `logit_bias`,
 * tempered by `temperature` when it is not 0): fields that would change sampling instead, or cut
 * beams after the fact, are 400s with it rather than ignored.
 */
import { z } from "zod";
import type { SearchStrategy } from "../domain/chat.ts";
import type { FieldIssue } from "../domain/errors.ts";

export const searchFields = z.object({
  best_of: z.number().int().min(1).max(128).nullish(),
  use_beam_search: z.boolean().nullish(),
  length_penalty: z.number().min(-10).max(10).nullish(),
  early_stopping: z.union([z.boolean(), z.literal("never")]).nullish(),
  prompt_logprobs: z.number().int().min(0).max(20).nullish(),
  loglikelihood: z.boolean().nullish(),
});

type SearchWire = z.infer<typeof searchFields> & {
  readonly n?: number | null;
  readonly stream?: boolean | null;
  readonly stop?: string | readonly string[] | null;
  readonly logprobs?: boolean | null;
  readonly top_p?: number | null;
  readonly top_k?: number | null;
  readonly min_p?: number | null;
  readonly frequency_penalty?: number | null;
  readonly presence_penalty?: number | null;
  readonly repetition_penalty?: number | null;
  readonly min_tokens?: number | null;
  readonly reasoning_effort?: string | null;
  readonly thinking_token_budget?: number | null;
};

/** Fields beam search cannot honour, with the value each may keep. */
const NOT_WITH_BEAMS: readonly [keyof SearchWire, (v: unknown) => boolean][] = [
  ["stream", (v) => v === false],
  ["stop", (v) => (Array.isArray(v) ? v.length === 0 : v === "")],
  ["logprobs", (v) => v === false],
  ["top_p", (v) => v === 1],
  ["top_k", (v) => v === 0 || v === -1],
  ["min_p", (v) => v === 0],
  ["frequency_penalty", (v) => v === 0],
  ["presence_penalty", (v) => v === 0],
  ["repetition_penalty", (v) => v === 1],
  ["min_tokens", (v) => v === 0],
  // Beams are not steered: thoughts can be neither bounded nor closed (efforts that set no budget are fine).
  ["thinking_token_budget", () => false],
  ["reasoning_effort", (v) => v === "high" || v === "xhigh" || v === "max"],
];

/** `constrained`: an output constraint or tools are set (neither works with beam search). */
export function toSearch(wire: SearchWire, constrained: string | undefined, issues: FieldIssue[]): SearchStrategy {
  const n = wire.n ?? 1;
  const bestOf = wire.best_of ?? n;
  if (bestOf < n) issues.push({ path: ["best_of"], message: `\`best_of\` (${bestOf}) must be at least \`n\` (${n}).`, type: "invalid_value" });
  if (wire.use_beam_search !== true) {
    for (const field of ["length_penalty", "early_stopping"] as const) {
      if (wire[field] != null) issues.push({ path: [field], message: `\`${field}\` only applies with \`use_beam_search: true\`.`, type: "invalid_value" });
    }
    if (bestOf > n && wire.stream === true) issues.push({ path: ["best_of"], message: "`best_of` greater than `n` cannot be streamed: the best choices are known only at the end.", type: "conflict" });
    return { kind: "sample", bestOf };
  }
  for (const [field, harmless] of NOT_WITH_BEAMS) {
    const value = wire[field];
    if (value != null && !harmless(value)) issues.push({ path: [field], message: `\`${field}\` cannot be combined with \`use_beam_search\`.`, type: "conflict" });
  }
  if (constrained !== undefined) issues.push({ path: [constrained], message: `\`${constrained}\` cannot be combined with \`use_beam_search\`.`, type: "conflict" });
  return { kind: "beam", width: bestOf, lengthPenalty: wire.length_penalty ?? 1, earlyStopping: wire.early_stopping ?? false };
}

/** `prompt_logprobs: k`, or `loglikelihood: true` (k = 0); undefined when neither asks. */
export function toPromptLogprobs(wire: SearchWire): number | undefined {
  return wire.prompt_logprobs ?? (wire.loglikelihood === true ? 0 : undefined);
}
