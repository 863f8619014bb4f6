/**
 * Temperature, top-k, top-p and min-p sampling in JavaScript, used only when a request asks for logprobs: the
 * native chain then reports the untempered, untruncated distribution (see logprobs.ts) and the
 * token is drawn here. Same order as node-llama-cpp's native chain, so `top_p` means the same with
 * or without logprobs: the nucleus is taken on the untempered distribution (the most likely tokens
 * until their mass reaches `topP`, at least one), then temperature reshapes the kept tokens.
 */

/** A small, fast, seedable PRNG (mulberry32): uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The truncation and temperature settings the JS sampler applies (0 = off for top-k and min-p). */
export interface JsSampling {
  readonly temperature: number;
  readonly topP: number;
  readonly topK?: number;
  readonly minP?: number;
}

/**
 * Draws a token. `probabilities` is the untempered distribution; node-llama-cpp reports it sorted
 * by descending probability (it is sorted here if not). Order as in the native chain: top-k, then
 * top-p, then min-p (tokens below `minP` × the most likely one), then temperature.
 */
export function sampleToken(probabilities: ReadonlyMap<number, number>, sampling: JsSampling, random: () => number): number {
  const { temperature, topP } = sampling;
  const candidates = descending(probabilities);
  const first = candidates[0];
  if (first === undefined) throw new Error("no candidate tokens to sample from");
  const topK = sampling.topK ?? 0;
  const limit = topK > 0 ? Math.min(topK, candidates.length) : candidates.length;
  let mass = 0;
  let keep = 0;
  while (keep < limit) {
    mass += candidates[keep]?.[1] ?? 0;
    keep++;
    if (mass >= topP) break;
  }
  const floor = (sampling.minP ?? 0) * first[1];
  while (keep > 1 && (candidates[keep - 1]?.[1] ?? 0) < floor) keep--;
  // Tempered weights p^(1/T), relative to the most likely token to stay in range.
  const logTop = Math.log(first[1]);
  const weights = candidates.slice(0, keep).map(([, p]) => Math.exp((Math.log(p) - logTop) / temperature));
  let target = random() * weights.reduce((sum, w) => sum + w, 0);
  for (let i = 0; i < keep; i++) {
    target -= weights[i] ?? 0;
    if (target < 0) return candidates[i]?.[0] ?? first[0];
  }
  return candidates[keep - 1]?.[0] ?? first[0];
}

function descending(probabilities: ReadonlyMap<number, number>): [number, number][] {
  const entries = [...probabilities].filter(([, p]) => p > 0);
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i]?.[1] ?? 0) > (entries[i - 1]?.[1] ?? 0)) return entries.sort((a, b) => b[1] - a[1]);
  }
  return entries;
}
