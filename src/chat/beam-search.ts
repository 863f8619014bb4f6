/**
 * Beam search over an abstract next-token model (engine-agnostic; the engine supplies `expand`).
 *
 * Semantics follow Hugging Face transformers' `BeamSearchScorer` / `BeamHypotheses` (the same
 * length-penalised score as vLLM's `get_beam_search_score`), with the details pinned down here:
 *
 * - Score. A hypothesis' score is `cumulativeLogprob / max(1, length) ** lengthPenalty`, where
 *   `cumulativeLogprob` is the sum of the log-probabilities of every token chosen, including the
 *   end token when there is one, and `length` is the number of generated tokens, excluding the end
 *   token and the prompt (vLLM counts the prompt; HF counts prompt and end token). The `max(1, …)`
 *   gives an empty hypothesis (end token first) length 1 instead of a division by zero.
 *   `lengthPenalty > 0` favours longer hypotheses, `< 0` shorter ones, `0` ranks by raw log-probability.
 * - Running beams are ranked by their cumulative log-probability (not by the penalised score).
 * - Step t (1 ≤ t ≤ maxTokens): every running beam (t − 1 tokens) is expanded. Candidates
 *   (beam, token, sum = beam sum + logprob) are ordered by higher sum, then lower parent beam
 *   index (parents are kept in rank order, so the better-ranked parent wins), then lower token
 *   id: this total order makes results reproducible. Only the top `2 * width` candidates of the
 *   step are considered (with one end token id each beam yields at most one end candidate, so
 *   `width` beams keep running; with several, fewer may). They are walked in order: an end
 *   candidate becomes a finished ("stop") hypothesis only if its rank is below `width` (HF's
 *   rule); any other candidate becomes a running beam, until `width` beams are running.
 *   Candidates with log-probability −∞ are never taken; a NaN log-probability is an error.
 * - Finished hypotheses live in a pool of the best `width` by score; a new one enters if the pool
 *   has room or it scores strictly higher than the worst one (which is then dropped). On equal
 *   scores the hypothesis found first ranks first.
 * - After each step the search stops once the pool holds `width` hypotheses and:
 *   `earlyStopping === true`: always (running beams are then discarded);
 *   `false`: worst pooled score ≥ bestRunningSum / t ** lengthPenalty (HF's heuristic: it assumes
 *   the best running beam would end now, which can underestimate it when lengthPenalty > 0);
 *   `"never"`: worst pooled score ≥ an upper bound on anything still reachable: bestRunningSum /
 *   maxTokens ** lengthPenalty when lengthPenalty > 0, else bestRunningSum / t ** lengthPenalty
 *   (exact because log-probabilities are ≤ 0, so sums only fall and, for lengthPenalty ≤ 0, longer
 *   only scores lower). So "never" returns what running to maxTokens would, at lower cost.
 *   The search also stops when no running beam is left.
 * - maxTokens counts every generated token, the end token included: an end token can be chosen at
 *   steps 1..maxTokens, so "stop" hypotheses have at most maxTokens − 1 tokens. If step maxTokens
 *   finishes without stopping, every running beam (maxTokens tokens) is offered to the pool as a
 *   "length" hypothesis.
 * - The result is the pool, best score first, cut to `n` (fewer only if fewer hypotheses exist).
 *
 * If `signal` aborts, the promise rejects with `signal.reason` (checked around every `expand`).
 * If `deadline` aborts, the search ends after the current step as if it were step maxTokens:
 * the running beams are offered to the pool as "length" hypotheses.
 */

export interface BeamSearchOptions {
  /** Beams kept per step, and size of the finished-hypothesis pool (>= n). */
  readonly width: number;
  /** Results returned, best first. */
  readonly n: number;
  /** Generated tokens per beam at most (the end token counts as a generated token). */
  readonly maxTokens: number;
  /** score = cumulativeLogprob / max(1, length) ** lengthPenalty; HF's default is 1. */
  readonly lengthPenalty: number;
  /** HF semantics; see the file header. */
  readonly earlyStopping: boolean | "never";
  /** Tokens that finish a hypothesis (EOS/EOT/stop ids); not part of the returned tokens nor its length. */
  readonly isEnd: (token: number) => boolean;
  /**
   * Next-token log-probabilities for each beam (same order as `beams`); may return only the top
   * entries (at least 2 * width of them for results identical to full distributions).
   */
  readonly expand: (beams: readonly (readonly number[])[], signal: AbortSignal) => Promise<readonly ReadonlyMap<number, number>[]>;
  readonly signal: AbortSignal;
  /** Ends the search early, with what it has (e.g. a time limit); default: never. */
  readonly deadline?: AbortSignal;
}

export interface BeamHypothesis {
  /** Generated tokens, without the end token. */
  readonly tokens: readonly number[];
  /** Sum of the chosen tokens' log-probabilities, end token included. */
  readonly cumulativeLogprob: number;
  readonly score: number;
  readonly finishReason: "stop" | "length";
}

/** The length-penalised score of a hypothesis of `length` generated tokens (end token excluded). */
export function beamScore(cumulativeLogprob: number, length: number, lengthPenalty: number): number {
  return cumulativeLogprob / Math.max(1, length) ** lengthPenalty;
}

interface Beam {
  readonly tokens: readonly number[];
  readonly sum: number;
}

interface Candidate {
  /** Index of the parent among the running beams (which are in rank order). */
  readonly beam: number;
  readonly token: number;
  readonly sum: number;
}

/** Negative when `a` ranks before `b`: higher sum, then lower parent index, then lower token id. */
function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.sum !== b.sum) return a.sum > b.sum ? -1 : 1;
  return a.beam - b.beam || a.token - b.token;
}

/** The best `k` candidates of one beam, in order. */
function beamTop(beam: number, parent: Beam, dist: ReadonlyMap<number, number>, k: number): Candidate[] {
  const top: Candidate[] = [];
  for (const [token, logprob] of dist) {
    if (Number.isNaN(logprob)) throw new TypeError(`beam search: log-probability of token ${token} is NaN`);
    if (logprob === -Infinity) continue;
    const sum = parent.sum + logprob;
    const last = top[top.length - 1];
    if (top.length === k && last !== undefined && (sum < last.sum || (sum === last.sum && token >= last.token))) {
      continue;
    }
    const candidate: Candidate = { beam, token, sum };
    let at = top.length;
    while (at > 0 && compareCandidates(candidate, top[at - 1]!) < 0) at--;
    top.splice(at, 0, candidate);
    if (top.length > k) top.pop();
  }
  return top;
}

/** The best `k` candidates of the step over all beams (any of them is in its own beam's top k). */
function stepTop(running: readonly Beam[], dists: readonly ReadonlyMap<number, number>[], k: number): Candidate[] {
  const all: Candidate[] = [];
  running.forEach((parent, i) => {
    const dist = dists[i];
    if (dist === undefined) throw new Error(`beam search: expand returned no distribution for beam ${i}`);
    all.push(...beamTop(i, parent, dist, k));
  });
  return all.sort(compareCandidates).slice(0, k);
}

interface Finished extends BeamHypothesis {
  readonly order: number;
}

/** The best `capacity` finished hypotheses, kept sorted (score descending, then order found). */
class HypothesisPool {
  readonly #capacity: number;
  readonly #lengthPenalty: number;
  readonly #items: Finished[] = [];
  #found = 0;

  constructor(capacity: number, lengthPenalty: number) {
    this.#capacity = capacity;
    this.#lengthPenalty = lengthPenalty;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Score of the worst kept hypothesis (−∞ when empty). */
  get worstScore(): number {
    return this.#items[this.#items.length - 1]?.score ?? -Infinity;
  }

  add(tokens: readonly number[], cumulativeLogprob: number, finishReason: "stop" | "length"): void {
    const score = beamScore(cumulativeLogprob, tokens.length, this.#lengthPenalty);
    if (this.#items.length >= this.#capacity && !(score > this.worstScore)) return;
    const item: Finished = { tokens, cumulativeLogprob, score, finishReason, order: this.#found++ };
    let at = this.#items.length;
    while (at > 0 && this.#items[at - 1]!.score < score) at--;
    this.#items.splice(at, 0, item);
    if (this.#items.length > this.#capacity) this.#items.pop();
  }

  best(n: number): BeamHypothesis[] {
    return this.#items.slice(0, n).map(({ tokens, cumulativeLogprob, score, finishReason }) => ({
      tokens,
      cumulativeLogprob,
      score,
      finishReason,
    }));
  }
}

function isDone(options: BeamSearchOptions, pool: HypothesisPool, bestRunningSum: number, step: number): boolean {
  if (pool.size < options.width) return false;
  if (options.earlyStopping === true) return true;
  const length = options.earlyStopping === "never" && options.lengthPenalty > 0 ? options.maxTokens : step;
  return pool.worstScore >= beamScore(bestRunningSum, length, options.lengthPenalty);
}

function validate(options: BeamSearchOptions): void {
  const { width, n, maxTokens, lengthPenalty, earlyStopping } = options;
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`beam search: width must be an integer >= 1, got ${width}`);
  if (!Number.isInteger(n) || n < 1 || n > width) {
    throw new RangeError(`beam search: n must be an integer in [1, width=${width}], got ${n}`);
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new RangeError(`beam search: maxTokens must be an integer >= 1, got ${maxTokens}`);
  }
  if (!Number.isFinite(lengthPenalty)) throw new RangeError(`beam search: lengthPenalty must be finite, got ${lengthPenalty}`);
  if (earlyStopping !== true && earlyStopping !== false && earlyStopping !== "never") {
    throw new RangeError(`beam search: earlyStopping must be true, false or "never", got ${String(earlyStopping)}`);
  }
}

/** Runs beam search (semantics in the file header); resolves to at most `n` hypotheses, best first. */
export async function beamSearch(options: BeamSearchOptions): Promise<BeamHypothesis[]> {
  validate(options);
  const { width, maxTokens, signal, isEnd } = options;
  const pool = new HypothesisPool(width, options.lengthPenalty);
  let running: Beam[] = [{ tokens: [], sum: 0 }];

  for (let step = 1; step <= maxTokens; step++) {
    signal.throwIfAborted();
    const dists = await options.expand(
      running.map((beam) => beam.tokens),
      signal,
    );
    signal.throwIfAborted();
    if (dists.length !== running.length) {
      throw new Error(`beam search: expand returned ${dists.length} distributions for ${running.length} beams`);
    }

    const next: Beam[] = [];
    const candidates = stepTop(running, dists, 2 * width);
    for (const [rank, candidate] of candidates.entries()) {
      const parent = running[candidate.beam]!;
      if (isEnd(candidate.token)) {
        if (rank < width) pool.add(parent.tokens, candidate.sum, "stop");
        continue;
      }
      next.push({ tokens: [...parent.tokens, candidate.token], sum: candidate.sum });
      if (next.length === width) break;
    }
    running = next;

    const best = running[0];
    if (best === undefined || isDone(options, pool, best.sum, step)) return pool.best(options.n);
    if (options.deadline?.aborted === true) break;
  }

  for (const beam of running) pool.add(beam.tokens, beam.sum, "length");
  return pool.best(options.n);
}
