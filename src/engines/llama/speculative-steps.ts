/**
 * Speculative decoding for one choice: each decode step evaluates the last token together with a
 * draft of the tokens expected after it (drafting.ts), samples every position with the request's
 * own sampler, and keeps the drafted tokens while each equals the token sampled before it.
 *
 * Why so: the draft is a guess that costs one batch. Drafted token i is kept only if the sampler,
 * given exactly the tokens before it, drew that token; the token sampled at the first mismatch is
 * kept too, and the rest of the draft is erased from the KV cache. So every token the choice
 * receives was drawn from the target model's distribution given the real prefix: greedy decoding
 * yields the same tokens as without drafting, and sampling keeps its distribution. A step whose
 * draft is right yields up to 1 + draft tokens for about the price of one (the model's weights are
 * read once per batch). How many drafted tokens a step carries is decided by draft-policy.ts, from
 * the measured cost of each batch size and how often the drafts were right.
 *
 * Parley runs this itself, on node-llama-cpp's `controlledEvaluate`, rather than through
 * node-llama-cpp's `TokenPredictor`: in 3.22.1 that path validates only the first drafted token
 * per step (`_speculativeEvaluate` compares token i > 1 with a list it never fills), capping the
 * gain at 2× and wasting the rest of each batch.
 *
 * Sampling details: `controlledEvaluate` builds a new sampler per call, whose random stream would
 * restart at every step with the same seed (the same draw again and again). So every output
 * position is drawn with its own seed, derived from the choice's seed and the position. (A sampled
 * request with the client's own `seed` does not draft at all, drafting.ts: it must reproduce its
 * output exactly, which batching does not guarantee.) Logits computed
 * in a batch of several tokens may differ from one-token batches in the last bits (llama.cpp's
 * kernels), which can flip a greedy choice between two candidates tied to within ~1e-6: the same
 * caveat as any batched decode (docs/architecture.md, "Determinism").
 */
import type { ControlledEvaluateInputItem, LlamaContextSequence, Token, TokenBias } from "node-llama-cpp";
import type { DraftSource } from "./draft-sources.ts";
import { DraftPolicy, StepCosts } from "./draft-policy.ts";
import { DEFAULT_DRAFT_MAX, type DraftCounts } from "./drafting.ts";

/** A sampled token, as node-llama-cpp's `evaluateWithMetadata` yields it. */
export interface StepOutput {
  readonly token: Token;
  readonly probabilities?: ReadonlyMap<Token, number>;
}

/**
 * What generate-choice.ts consumes token by token: node-llama-cpp's `evaluateWithMetadata`
 * generator, or `SpeculativeSteps`. `next(replacement)` evaluates the replacement (forced tokens)
 * instead of the token last yielded.
 */
export interface TokenSteps {
  next(...replacement: [] | [Token | Token[] | undefined]): Promise<IteratorResult<StepOutput, void>>;
  return(value?: undefined): Promise<unknown>;
}

/** The request's sampler, fixed for the choice (drafting is off when it would change per token: drafting.ts). */
export interface FixedSampling {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
  readonly seed: number;
  readonly tokenBias?: TokenBias | undefined;
}

export interface SpeculativeOptions {
  readonly sequence: LlamaContextSequence;
  /** The prompt: the sequence holds all of it but the last token. */
  readonly prompt: readonly Token[];
  readonly source: DraftSource;
  /** Most tokens drafted per step (default 16). */
  readonly draftMax?: number;
  /** Tokens the choice may generate: nothing is drafted past them. */
  readonly maxTokens: number;
  readonly sampling: FixedSampling;
  /** Whether to draft at the next step (default always): off while other sequences share the decode step. */
  readonly mayDraft?: () => boolean;
  /** Prior chance that a drafted token is kept (draft-policy.ts; default: the source's, else 0.5). */
  readonly prior?: number;
  /** Where step costs are learned (default: the context's, `StepCosts.of`). */
  readonly costs?: StepCosts;
}

const done: IteratorReturnResult<void> = { done: true, value: undefined };

export class SpeculativeSteps implements TokenSteps {
  readonly #options: SpeculativeOptions;
  readonly #costs: StepCosts;
  readonly #policy: DraftPolicy;
  /** Tokens to evaluate at the next decode step. */
  #pending: Token[];
  /** Sampled tokens not yet yielded whose inputs (kept drafts) the KV cache already holds, but the first. */
  #ready: Token[] = [];
  #last: Token | undefined;
  #yielded = 0;
  #finished = false;
  #accepted = 0;
  #rejected = 0;

  constructor(options: SpeculativeOptions) {
    this.#options = options;
    this.#costs = options.costs ?? StepCosts.of(options.sequence.context);
    this.#policy = new DraftPolicy(this.#costs, { prior: options.prior ?? options.source.prior ?? 0.5 });
    this.#pending = options.prompt.slice(-1);
    options.source.reset(options.prompt);
  }

  /** Drafted tokens kept in the output, and evaluated but not kept, so far. */
  get counts(): DraftCounts {
    return { accepted: this.#accepted, rejected: this.#rejected };
  }

  async next(...args: [] | [Token | Token[] | undefined]): Promise<IteratorResult<StepOutput, void>> {
    if (this.#finished) return done;
    const replacement = args[0];
    const last = this.#last;
    if (last !== undefined) {
      const appended = replacement === undefined ? [last] : Array.isArray(replacement) ? [...replacement] : [replacement];
      this.#options.source.push(appended);
      if (replacement === undefined) this.#policy.followed(appended);
      if (replacement === undefined && this.#ready.length > 0) return this.#yield(this.#ready.shift() as Token);
      // A replacement makes the kept drafts past this point wrong.
      await this.#dropReady();
      this.#pending = appended;
    }
    await this.#decode();
    return this.#yield(this.#ready.shift() as Token);
  }

  /** Ends the choice: drafted tokens the cache holds past its output are erased. */
  async return(): Promise<IteratorResult<StepOutput, void>> {
    if (!this.#finished) {
      this.#finished = true;
      this.#options.source.finish?.(this.counts);
      await this.#dropReady();
    }
    return done;
  }

  #yield(token: Token): IteratorYieldResult<StepOutput> {
    this.#last = token;
    this.#yielded++;
    return { done: false, value: { token } };
  }

  async #decode(): Promise<void> {
    const { sequence, sampling } = this.#options;
    const pending = this.#pending;
    const room = sequence.context.contextSize - sequence.nextTokenIndex - pending.length;
    // A step yields at most 1 + draft tokens: draft no more than the choice may still generate.
    const max = Math.min(this.#options.draftMax ?? DEFAULT_DRAFT_MAX, this.#options.maxTokens - this.#yielded - 1, room);
    const available = max > 0 && (this.#options.mayDraft?.() ?? true) ? await this.#predict(max, pending.length) : [];
    const draft = available.length === 0 ? available : available.slice(0, this.#policy.choose(available, pending.length));
    const { tokenBias, ...rest } = sampling;
    const sampled = (token: Token, index: number): ControlledEvaluateInputItem => {
      // Every output position draws from its own seed: each call builds a new sampler, whose stream would restart at every step.
      const seed = sampling.temperature > 0 && index > 0 ? positionSeed(sampling.seed, index) : sampling.seed;
      return [token, { generateNext: { token: true, options: { ...rest, seed, ...(tokenBias === undefined ? {} : { tokenBias }) } } }];
    };
    const input: ControlledEvaluateInputItem[] = [...pending.slice(0, -1), ...[pending.at(-1) as Token, ...(draft as Token[])].map((token, i) => sampled(token, this.#yielded + i))];
    const started = performance.now();
    const results = await sequence.controlledEvaluate(input);
    this.#costs.record(input.length, performance.now() - started);
    const at = pending.length - 1;
    const first = results[at]?.next.token;
    if (first === undefined || first === null) throw new Error("Failed to sample the next token");
    const ready: Token[] = [first];
    let kept = 0;
    while (kept < draft.length && ready[kept] === draft[kept]) {
      const next = results[at + 1 + kept]?.next.token;
      if (next === undefined || next === null) break;
      kept++;
      ready.push(next);
    }
    const wrong = draft.length - kept;
    if (wrong > 0) await eraseLast(sequence, wrong);
    this.#policy.sent(draft.length, kept);
    this.#accepted += kept;
    this.#rejected += wrong;
    this.#ready = ready;
  }

  /** The source's draft of at most `max` tokens; a costly source is asked for what pays (nothing while nothing does). */
  async #predict(max: number, pending: number): Promise<number[]> {
    const { source } = this.#options;
    if (source.costly !== true) return (await source.predict(max)).slice(0, max);
    const asked = this.#policy.limit(max, pending);
    if (asked === 0) return [];
    const started = performance.now();
    const draft = (await source.predict(asked)).slice(0, asked);
    this.#policy.drafted(Math.max(1, draft.length), source.lastDraftMs ?? performance.now() - started);
    return draft;
  }

  /** Erases the kept drafts past the output (their sampled tokens will not be yielded). */
  async #dropReady(): Promise<void> {
    const count = this.#ready.length;
    this.#ready = [];
    if (count > 0 && !this.#options.sequence.disposed) await eraseLast(this.#options.sequence, count);
  }
}

async function eraseLast(sequence: LlamaContextSequence, count: number): Promise<void> {
  const end = sequence.nextTokenIndex;
  await sequence.eraseContextTokenRanges([{ start: Math.max(0, end - count), end }]);
}

/** The seed of output position `index` of a choice seeded `seed` (uint32; murmur-style mixing, so positions draw unrelated values). */
export function positionSeed(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
