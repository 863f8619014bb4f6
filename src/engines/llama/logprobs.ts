/**
 * Log-probabilities for OpenAI's `logprobs`, from the probabilities node-llama-cpp reports.
 *
 * When logprobs are requested, the native sampler chain runs without temperature or truncation
 * (greedy, or temperature 1 and no top-p), so the reported map is the model's own distribution
 * after logit bias and penalties; temperature and top-p are then applied in JavaScript (see
 * sampler.ts). These are therefore the probabilities before temperature and truncation. Grammar-
 * constrained requests are the exception: they sample natively (see `temperature` below), and
 * their logprobs are over the tokens the grammar allows.
 */

import type { TokenLogprob } from "../../domain/events.ts";
import type { Vocabulary } from "./vocabulary.ts";

export interface TokenLogprobValue {
  readonly token: number;
  readonly logprob: number;
}

export interface Logprobs {
  /** Log-probability of the chosen token (−Infinity if it was not among the candidates). */
  readonly chosen: number;
  /** The `count` most likely tokens, sorted by descending logprob. */
  readonly top: readonly TokenLogprobValue[];
}

/**
 * @param probabilities token → probability (need not sum to exactly 1; it is renormalised).
 * @param temperature the temperature these probabilities were tempered with (default 1: none).
 *   Grammar-constrained requests sample natively at their temperature; since temperature divides
 *   every logit alike, p(i) ∝ p_T(i)^T recovers the untempered distribution (tokens whose
 *   tempered probability underflowed to 0 drop out, so very low temperatures lose the tail).
 */
export function computeLogprobs(probabilities: ReadonlyMap<number, number>, chosenToken: number, count: number, temperature = 1): Logprobs {
  const scale = temperature > 0 ? temperature : 1;
  let total = 0;
  for (const p of probabilities.values()) if (p > 0) total += p ** scale;
  const logTotal = Math.log(total);
  const logprob = (p: number) => scale * Math.log(p) - logTotal;
  const chosenP = probabilities.get(chosenToken) ?? 0;
  return {
    chosen: chosenP > 0 ? logprob(chosenP) : -Infinity,
    top: topEntries(probabilities, count).map(([token, p]) => ({ token, logprob: logprob(p) })),
  };
}

/** The `count` largest entries, descending, in one pass (count is small: at most 20). */
function topEntries(probabilities: ReadonlyMap<number, number>, count: number): [number, number][] {
  const top: [number, number][] = [];
  if (count <= 0) return top;
  for (const entry of probabilities) {
    if (!(entry[1] > 0)) continue;
    if (top.length === count && entry[1] <= (top[count - 1]?.[1] ?? 0)) continue;
    let at = top.length;
    while (at > 0 && (top[at - 1]?.[1] ?? 0) < entry[1]) at--;
    top.splice(at, 0, entry);
    if (top.length > count) top.pop();
  }
  return top;
}

const lossy = new TextDecoder("utf-8");

/** The OpenAI-shaped entry for `token`: its text (lossy for partial characters), bytes, logprob and top alternatives. */
export function logprobEntry(vocabulary: Vocabulary, token: number, probabilities: ReadonlyMap<number, number> | undefined, top: number, temperature = 1): TokenLogprob {
  const values = computeLogprobs(probabilities ?? new Map(), token, top, temperature);
  return describeLogprobs(vocabulary, token, values);
}

/** `values` as an OpenAI-shaped entry for `token`. */
export function describeLogprobs(vocabulary: Vocabulary, token: number, values: Logprobs): TokenLogprob {
  const describe = (id: number) => ({ token: lossy.decode(vocabulary.bytes(id)), bytes: Array.from(vocabulary.bytes(id)) });
  return {
    ...describe(token),
    logprob: values.chosen,
    topLogprobs: values.top.map((alt) => ({ ...describe(alt.token), logprob: alt.logprob })),
  };
}
