/**
 * Nucleus (top-p) sampling in JavaScript, used only when a request asks for logprobs with
 * `top_p` < 1. llama.cpp applies top-p before it reports probabilities, which would leave the
 * reported logprobs renormalised over the truncated set; so for those requests the native chain
 * runs without top-p (reporting the full distribution) and the token is drawn here instead.
 * Same rule as llama.cpp: keep the most likely tokens until their mass reaches `topP` (at least one).
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

/** Draws a token from `probabilities` restricted to its top-p nucleus. */
export function sampleTopP(probabilities: ReadonlyMap<number, number>, topP: number, random: () => number): number {
  const sorted = [...probabilities].filter(([, p]) => p > 0).sort((a, b) => b[1] - a[1]);
  const first = sorted[0];
  if (first === undefined) throw new Error("no candidate tokens to sample from");
  let mass = 0;
  let keep = 0;
  while (keep < sorted.length) {
    mass += sorted[keep]?.[1] ?? 0;
    keep++;
    if (mass >= topP) break;
  }
  let target = random() * mass;
  for (let i = 0; i < keep; i++) {
    const [token, p] = sorted[i] ?? first;
    target -= p;
    if (target < 0) return token;
  }
  return sorted[keep - 1]?.[0] ?? first[0];
}
