/**
 * How many drafted tokens a step should carry, so that drafting never costs more than it gains.
 *
 * A decode step of n tokens does not cost n single steps, nor one: on a GPU a batch of 16 costs
 * about one token (the weights are read once), on a CPU it is compute-bound (measured with
 * llama.cpp's prebuilt CPU kernels on a 2-vCPU AMD EPYC, one thread, 25M-parameter Q8_0 model:
 * 1 token 2.4 ms, 2 tokens 6.4 ms, 4: 8.2 ms, 8: 12 ms, 16: 15.7 ms). So a one-token draft loses
 * there even when it is right, and a long draft pays only when most of it is kept.
 *
 * `StepCosts` learns each batch size's cost on a context from the steps it times (shared by every
 * choice on the context); `DraftPolicy` estimates, per choice, the chance p that a drafted token is
 * kept given the one before it was (kept / tried, decayed so it follows the output: a prediction
 * is right for long runs between edits). It sends the k drafted tokens (0 … available) that
 * maximise the expected tokens per millisecond, (1 + p + p² + … + pᵏ) / cost(k + 1). A size never
 * measured is assumed to cost what the nearest measured sizes suggest, and as little as the
 * largest one measured below it, so it gets tried (and measured) once; until a plain step (the
 * last token alone) was measured, and every 32 steps after, nothing is drafted. Drafts not sent are still
 * compared with the output (`shadow`), so p keeps learning while drafting pauses. A draft model
 * costs time per drafted token too: `limit` asks it for no more than pays with that time counted.
 */
import type { LlamaContext } from "node-llama-cpp";

/** Step costs by batch size (tokens), learned from timed steps. */
export class StepCosts {
  readonly #ms: (number | undefined)[] = [];
  /** When each size was last recorded, in records. */
  readonly #at: number[] = [];
  #records = 0;

  static of(context: LlamaContext): StepCosts {
    let costs = contexts.get(context);
    if (costs === undefined) {
      costs = new StepCosts();
      contexts.set(context, costs);
    }
    return costs;
  }

  /** A step of `tokens` tokens took `ms` (an average with more weight on recent steps). */
  record(tokens: number, ms: number): void {
    if (tokens < 1 || !(ms >= 0)) return;
    const old = this.#ms[tokens];
    this.#ms[tokens] = old === undefined ? ms : old + (ms - old) * 0.2;
    this.#at[tokens] = ++this.#records;
  }

  /** Steps recorded since a step of `tokens` tokens last was (Infinity: never). */
  age(tokens: number): number {
    const at = this.#at[tokens];
    return at === undefined ? Infinity : this.#records - at;
  }

  /** The cost of a step of `tokens` tokens: measured, interpolated, or the nearest measured below (undefined: nothing measured up to it). */
  estimate(tokens: number): number | undefined {
    const exact = this.#ms[tokens];
    if (exact !== undefined) return exact;
    let below = tokens - 1;
    while (below >= 1 && this.#ms[below] === undefined) below--;
    let above = tokens + 1;
    while (above < this.#ms.length && this.#ms[above] === undefined) above++;
    const low = below >= 1 ? this.#ms[below] : undefined;
    const high = above < this.#ms.length ? this.#ms[above] : undefined;
    if (low === undefined) return undefined;
    if (high === undefined) return low;
    return low + ((high - low) * (tokens - below)) / (above - below);
  }
}

const contexts = new WeakMap<LlamaContext, StepCosts>();

/** Steps of other sizes after which a plain step is measured again. */
const REMEASURE_AFTER = 32;

export interface DraftPolicyOptions {
  /** Prior chance that a drafted token is kept (default 0.5). */
  readonly prior?: number;
  /** Weight of the prior, in tokens (default 2). */
  readonly priorWeight?: number;
  /** Each outcome's weight is multiplied by this at every later one (default 0.9: about the last 10 outcomes count). */
  readonly decay?: number;
}

export class DraftPolicy {
  readonly #costs: StepCosts;
  readonly #decay: number;
  #kept: number;
  #tried: number;
  /** Drafted tokens not sent, compared with the output as it comes. */
  #shadow: readonly number[] = [];
  /** A costly source's time per drafted token (ms), once measured. */
  #draftMs: number | undefined;

  constructor(costs: StepCosts, options: DraftPolicyOptions = {}) {
    this.#costs = costs;
    this.#decay = options.decay ?? 0.9;
    const weight = options.priorWeight ?? 2;
    this.#kept = (options.prior ?? 0.5) * weight;
    this.#tried = weight;
  }

  /** The chance now that a drafted token is kept. */
  get acceptance(): number {
    return this.#kept / this.#tried;
  }

  /** How many tokens to ask a costly source (a draft model) for: what pays, counting its time per token. */
  limit(max: number, pending: number): number {
    return this.#best(max, pending, this.#draftMs ?? 0);
  }

  /** How many of `draft` (the tokens available, already drafted) to send with the `pending` tokens evaluated anyway; the rest is shadowed. */
  choose(draft: readonly number[], pending: number): number {
    const best = this.#best(draft.length, pending, 0);
    this.#shadow = best === 0 ? draft : [];
    return best;
  }

  /** A costly source took `ms` to draft `tokens` tokens. */
  drafted(tokens: number, ms: number): void {
    if (tokens <= 0) return;
    const perToken = ms / tokens;
    this.#draftMs = this.#draftMs === undefined ? perToken : this.#draftMs + (perToken - this.#draftMs) * 0.2;
  }

  /** The k in 0 … max with the most expected tokens per ms, (1 + p + … + pᵏ) / (cost(pending + k) + k × drafting). */
  #best(max: number, pending: number, draftMs: number): number {
    const base = this.#costs.estimate(pending);
    // A plain step first, and again now and then: what drafting is weighed against must stay current.
    if (base === undefined || this.#costs.age(pending) >= REMEASURE_AFTER) return 0;
    const p = this.acceptance;
    let best = 0;
    let bestRate = 1 / base;
    let expected = 1;
    let gain = 1;
    for (let k = 1; k <= max; k++) {
      gain *= p;
      expected += gain;
      const rate = expected / ((this.#costs.estimate(pending + k) ?? base) + k * draftMs);
      if (rate > bestRate) {
        bestRate = rate;
        best = k;
      }
    }
    return best;
  }

  /** A step sent `drafted` tokens, of which the first `kept` were kept. */
  sent(drafted: number, kept: number): void {
    if (drafted > 0) this.#learn(kept, kept < drafted);
  }

  /** The output went on with `tokens`: a shadowed draft is scored against them. */
  followed(tokens: readonly number[]): void {
    if (this.#shadow.length === 0) return;
    let kept = 0;
    while (kept < tokens.length && kept < this.#shadow.length && tokens[kept] === this.#shadow[kept]) kept++;
    const failed = kept < tokens.length && kept < this.#shadow.length;
    this.#shadow = failed || kept === this.#shadow.length ? [] : this.#shadow.slice(kept);
    if (kept > 0 || failed) this.#learn(kept, failed);
  }

  #learn(kept: number, failed: boolean): void {
    for (let i = 0; i < kept; i++) this.#add(1);
    if (failed) this.#add(0);
  }

  #add(outcome: number): void {
    this.#kept = this.#kept * this.#decay + outcome;
    this.#tried = this.#tried * this.#decay + 1;
  }
}
