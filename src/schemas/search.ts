/**
 * vLLM's search and likelihood fields → the domain `SearchStrategy` and `promptLogprobs`:
 * `best_of`, `use_beam_search` (+ `length_penalty`, `early_stopping`), `prompt_logprobs` and
 * OctoAI's `loglikelihood` (prompt log-probabilities without alternatives).
 *
 * Beam search is deterministic and ranks by the model's log-probabilities (after `logit_bias`,
 * tempered by `temperature` when it is not 0): the fields an engine's beams cannot honour are its
 * capability (`beamSearch.combinesWith`), refused by router/capabilities.ts rather than ignored.
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
  readonly n?: number | null | undefined;
  readonly stream?: boolean | null | undefined;
};

/**
 * The search strategy, with the checks of the API itself: `best_of` ≥ `n`; `length_penalty` and
 * `early_stopping` only with beams; nothing that is ranked at the end (`best_of` > `n`, beams) can
 * be streamed. What an engine's beam search can be combined with (stop strings, sampling fields,
 * constraints, tools…) is its capability, checked once the engine is chosen
 * (router/capabilities.ts).
 */
export function toSearch(wire: SearchWire, issues: FieldIssue[]): SearchStrategy {
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
  if (wire.stream === true) issues.push({ path: ["stream"], message: "`stream` cannot be combined with `use_beam_search`: the beams are ranked only at the end.", type: "conflict" });
  return { kind: "beam", width: bestOf, lengthPenalty: wire.length_penalty ?? 1, earlyStopping: wire.early_stopping ?? false };
}

/** `prompt_logprobs: k`, or `loglikelihood: true` (k = 0); undefined when neither asks. */
export function toPromptLogprobs(wire: SearchWire): number | undefined {
  return wire.prompt_logprobs ?? (wire.loglikelihood === true ? 0 : undefined);
}
