/**
 * Speculative decoding on a slot: the node-llama-cpp `TokenPredictor` each sequence is created with
 * (a sequence's predictor is fixed for its life), configured per request by `generate-choice.ts`
 * through `beginDrafting`: a predicted output (OpenAI `prediction`), prompt lookup
 * (`--draft-ngram`), or nothing.
 *
 * How node-llama-cpp 3.22.1 uses it (`LlamaContextSequence._speculativeEvaluate`): before each
 * decode it asks `predictTokens()` for a draft, evaluates [last token, ...draft] in one batch with
 * logits at every position, and samples every position with the request's own sampler (same
 * options, same chain, one after another). Drafted token i is kept only if it equals the token
 * sampled at position i − 1; the first mismatch discards the rest of the draft (its KV cells are
 * erased). So every token the request receives was sampled from the target model's distribution
 * given exactly the tokens before it: greedy decoding picks the same argmax, and sampling keeps
 * the same distribution. What can differ: (1) a seeded sample's exact tokens, since positions of a
 * rejected draft also drew from the sampler's random stream; (2) logits computed in a batch of
 * several tokens may differ from one-token batches in the last bits (llama.cpp's kernels), which
 * can flip a greedy choice between two candidates tied to within ~1e-6 — the same caveat as any
 * batched decode (docs/architecture.md, "Determinism").
 *
 * Drafting is skipped (an empty draft, a plain one-token step) while more than one sequence is
 * generating on the context: the lock-step batch already fills the decode step (batch-scheduler.ts),
 * and a draft would make every sequence wait for the longest batch.
 */
import { TokenPredictor, type LlamaContext, type LlamaContextSequence, type Token } from "node-llama-cpp";
import { BatchScheduler } from "./batch-scheduler.ts";
import { NgramDraft, PredictionDraft, type DraftSource, type PredictionText } from "./draft-sources.ts";

/** Server-wide drafting settings (`--draft-ngram`, `--draft-max`, `--draft-min`). */
export interface DraftSettings {
  /** Prompt-lookup drafting: the longest run of recent tokens looked up (0: off; default 0). */
  readonly ngram?: number;
  /** Most tokens drafted per step (default 16). */
  readonly draftMax?: number;
  /** Fewest tokens worth drafting with prompt lookup (default 1). */
  readonly draftMin?: number;
}

export const DEFAULT_DRAFT_MAX = 16;

/**
 * Drafted tokens node-llama-cpp 3.22.1 can accept per decode step: one. Its validation
 * (`_speculativeEvaluate`) compares drafted token i > 1 with the last *validated* output, read from
 * a list it never fills, so every drafted token after the first is refuted and its batch position
 * wasted. Drafting one token per step still yields two tokens for the price of one two-token
 * batch when it is right. Raise this (up to `--draft-max`) once the library validates whole drafts.
 */
export const ACCEPTED_PER_STEP = 1;

/** What one choice drafts from. */
export interface DraftPlan {
  /** The prompt (the state tokens past it are output). */
  readonly prompt: readonly Token[];
  /** The predicted output (OpenAI `prediction`), if any. */
  readonly prediction?: PredictedOutput | undefined;
  /** Tokens the choice may generate: nothing is drafted past them. */
  readonly maxTokens: number;
  /** False: the request combines with something drafting would change (see generate-choice.ts); nothing is drafted. */
  readonly allowed: boolean;
}

/** A request's `prediction`: its tokens, and its text for following an output that tokenizes it otherwise. */
export interface PredictedOutput {
  readonly tokens: readonly Token[];
  readonly text?: PredictionText;
}

/** Drafted tokens of one choice: kept in the output, and evaluated but not kept. */
export interface DraftCounts {
  readonly accepted: number;
  readonly rejected: number;
}

/** A choice's drafting, from `beginDrafting`; `end` once it stops generating. */
export interface Drafting {
  /** Stops drafting for this choice, returns its counts. */
  end(): DraftCounts;
}

export class SlotPredictor extends TokenPredictor {
  readonly #settings: DraftSettings;
  readonly #context: LlamaContext;
  #source: DraftSource | undefined;
  #left = 0;
  /** Draft length now: halved after a draft fails at its first tokens, doubled after one is kept whole. */
  #window = DEFAULT_DRAFT_MAX;
  /** The last draft's tokens not yet confirmed by the output. */
  #pending: readonly Token[] = [];

  constructor(context: LlamaContext, settings: DraftSettings = {}) {
    super();
    this.#context = context;
    this.#settings = settings;
  }

  /** Whether this slot drafts anything without a `prediction` (prompt lookup is on). */
  get draftsWithoutPrediction(): boolean {
    return (this.#settings.ngram ?? 0) > 0;
  }

  /** Sets the source for the choice about to run on this slot (undefined: none). */
  use(plan: DraftPlan | undefined): void {
    this.#source = undefined;
    if (plan === undefined || !plan.allowed) return;
    this.#left = plan.maxTokens;
    this.#window = this.#settings.draftMax ?? DEFAULT_DRAFT_MAX;
    this.#pending = [];
    const prediction = plan.prediction;
    if (prediction !== undefined && prediction.tokens.length > 0) {
      this.#source = new PredictionDraft(prediction.tokens, { promptLength: plan.prompt.length, ...(prediction.text === undefined ? {} : { text: prediction.text }) });
    } else if (this.draftsWithoutPrediction) {
      this.#source = new NgramDraft({ ngram: this.#settings.ngram ?? 0, minDraft: this.#settings.draftMin ?? 1 });
    }
  }

  reset({ stateTokens }: { stateTokens: Token[] }): void {
    this.#source?.reset(stateTokens);
  }

  pushTokens(tokens: Token[]): void {
    if (this.#source === undefined) return;
    this.#left -= tokens.length;
    this.#source.push(tokens);
    this.#follow(tokens);
  }

  /** Adapts the draft length to how the output followed the last draft (a draft rejected early costs a batch for nothing). */
  #follow(tokens: readonly Token[]): void {
    const max = this.#settings.draftMax ?? DEFAULT_DRAFT_MAX;
    for (const token of tokens) {
      if (this.#pending.length === 0) return;
      if (this.#pending[0] !== token) {
        this.#window = Math.max(1, this.#window >> 1);
        this.#pending = [];
        return;
      }
      this.#pending = this.#pending.slice(1);
      if (this.#pending.length === 0) this.#window = Math.min(max, this.#window * 2);
    }
  }

  predictTokens(): Token[] {
    if (this.#source === undefined) return [];
    // Alone on the context, or the lock-step batch already carries every generating sequence.
    if ((BatchScheduler.of(this.#context)?.members ?? 1) > 1) return [];
    // A batch of 1 + k tokens yields at most k + 1: draft no more than the choice may still generate.
    const draft = this.#source.predict(Math.min(this.#window, this.#left - 1, ACCEPTED_PER_STEP)) as Token[];
    this.#pending = draft;
    return draft;
  }
}

/** The sequences of a context, each with its own `SlotPredictor`. */
export function slotSequences(context: LlamaContext, settings: DraftSettings | undefined): LlamaContextSequence[] {
  return Array.from({ length: context.totalSequences }, () => context.getSequence({ tokenPredictor: new SlotPredictor(context, settings) }));
}

/**
 * Configures `sequence`'s predictor for one choice (nothing when it has none: a sequence made
 * elsewhere). Counts come from node-llama-cpp's per-sequence statistics, as differences.
 */
export function beginDrafting(sequence: LlamaContextSequence, plan: DraftPlan): Drafting {
  const predictor = sequence.tokenPredictor;
  if (!(predictor instanceof SlotPredictor)) return { end: () => ({ accepted: 0, rejected: 0 }) };
  predictor.use(plan);
  const before = sequence.tokenPredictions;
  return {
    end() {
      predictor.use(undefined);
      const after = sequence.tokenPredictions;
      const accepted = after.used - before.used;
      const evaluated = after.validated - before.validated + (after.refuted - before.refuted);
      return { accepted, rejected: Math.max(0, evaluated - accepted) };
    },
  };
}

/**
 * Drops drafted tokens still in the sequence's KV cache after its choice ended (validated ones it
 * did not get to use), so the next request and the prompt cache find only real tokens.
 * `nextTokenIndex` excludes them: erasing from there removes them and nothing else. How many are
 * left is node-llama-cpp's internal (`_loadedTokenPredictions`, version pinned); without it, the
 * erase runs anyway (a no-op when none is left).
 */
export async function dropLeftoverDrafts(sequence: LlamaContextSequence): Promise<void> {
  const loaded: unknown = (sequence as unknown as { readonly _loadedTokenPredictions?: unknown })._loadedTokenPredictions;
  if (Array.isArray(loaded) && loaded.length === 0) return;
  if (sequence.disposed) return;
  const at = sequence.nextTokenIndex;
  await sequence.eraseContextTokenRanges([{ start: at, end: at + sequence.context.contextSize }]).catch(() => undefined);
}

/** What of a choice decides whether drafting may run for it. */
export interface DraftEligibility {
  /** Log-probabilities or scores are computed (JS sampling, or numbers that must not depend on batching). */
  readonly probabilities: boolean;
  /** An output grammar constrains the choice. */
  readonly grammar: boolean;
  readonly repetitionPenalty: number;
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  readonly minTokens: number;
}

/**
 * Whether drafting leaves the choice's output unchanged. node-llama-cpp samples every drafted
 * position with the sampler options of the step (token bias, penalty window) as they were when
 * the batch was built, before the tokens ahead of that position were accepted. So drafting is off
 * when those options change token by token: OpenAI's frequency and presence penalties and
 * `min_tokens` (a bias rebuilt per token, choice-bias.ts), vLLM's repetition penalty (its window
 * grows per token), and grammars (Parley's UTF-8 guard under a grammar is such a bias too). And
 * with log-probabilities: temperature and top-p are then applied in JavaScript to the
 * distribution of the token at hand (generate-choice.ts), which a drafted position's validation
 * cannot see. Reasoning redirects (reasoning-steer.ts) combine: a forced token replaces the
 * sampled one, and node-llama-cpp then discards the drafted tokens that followed it.
 */
export function draftAllowed(choice: DraftEligibility): boolean {
  return !choice.probabilities && !choice.grammar && choice.repetitionPenalty === 1 && choice.frequencyPenalty === 0 && choice.presencePenalty === 0 && choice.minTokens === 0;
}
