/**
 * Log-probabilities for OpenAI's `logprobs`, from the probabilities node-llama-cpp reports.
 *
 * node-llama-cpp reports the distribution at the end of its sampler chain: after logit bias and
 * penalties, divided by the temperature. Temperature is a constant factor on logits, so the
 * model's own distribution is recovered exactly: log p(i) = log_softmax(T · log p_T(i)). Tokens
 * whose tempered probability underflowed to 0 contribute nothing measurable and are left out.
 * Truncation (top-p) is kept out of the native chain when logprobs are requested (see top-p.ts),
 * so these are always the probabilities before truncation.
 */

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
 * @param probabilities token → probability at the end of the sampler chain.
 * @param temperature the sampling temperature (0 = greedy: probabilities are untempered).
 */
export function computeLogprobs(
  probabilities: ReadonlyMap<number, number>,
  chosenToken: number,
  temperature: number,
  count: number,
): Logprobs {
  const scale = temperature > 0 ? temperature : 1;
  let max = -Infinity;
  const scaled: [number, number][] = [];
  for (const [token, p] of probabilities) {
    if (!(p > 0)) continue;
    const value = scale * Math.log(p);
    scaled.push([token, value]);
    if (value > max) max = value;
  }
  let sum = 0;
  for (const [, value] of scaled) sum += Math.exp(value - max);
  const logZ = max + Math.log(sum);

  let chosen = -Infinity;
  for (const [token, value] of scaled) if (token === chosenToken) chosen = value - logZ;

  const top: TokenLogprobValue[] = [];
  if (count > 0) {
    scaled.sort((a, b) => b[1] - a[1]);
    for (const [token, value] of scaled.slice(0, count)) top.push({ token, logprob: value - logZ });
  }
  return { chosen, top };
}
