/**
 * What one choice drafts from in speculative decoding, and whether it may draft at all. The drafts
 * are verified by speculative-steps.ts; their sources are a predicted output (OpenAI `prediction`)
 * and prompt lookup (`--draft-ngram`), pure token bookkeeping in draft-sources.ts, or a draft model
 * (`--draft-model`, draft-model.ts).
 */
import type { LlamaContextSequence } from "node-llama-cpp";
import { ModelDraft, type DraftRecord } from "./draft-model.ts";
import { NgramDraft, PredictionDraft, type DraftSource, type PredictionText } from "./draft-sources.ts";

/** Server-wide drafting settings (`--draft-ngram`, `--draft-max`, `--draft-min`). */
export interface DraftSettings {
  /** Prompt-lookup drafting: the longest run of recent tokens looked up (0: off; default 0). */
  readonly ngram?: number;
  /** Most tokens drafted per step (default 16). */
  readonly draftMax?: number;
  /** Fewest tokens worth drafting with prompt lookup (default 1). */
  readonly draftMin?: number;
  /** A draft model's draft ends at a token it gives less than this probability (default 0). */
  readonly pMin?: number;
}

export const DEFAULT_DRAFT_MAX = 16;

/** A request's `prediction`: its tokens, and its text for following an output that tokenizes it otherwise. */
export interface PredictedOutput {
  readonly tokens: readonly number[];
  readonly text?: PredictionText;
}

/** Drafted tokens of one choice: kept in the output, and evaluated but not kept. */
export interface DraftCounts {
  readonly accepted: number;
  readonly rejected: number;
}

/** What one choice may draft from. */
export interface DraftInputs {
  /** The request's `prediction`. */
  readonly prediction?: PredictedOutput | undefined;
  readonly promptLength: number;
  /** The choice's slot's draft-model sequence (`--draft-model`), and that model's record. */
  readonly draftModel?: { readonly sequence: LlamaContextSequence; readonly record: DraftRecord } | undefined;
}

/** The draft source of one choice: its prediction, else the draft model, else prompt lookup when on; undefined: no drafting. */
export function draftSource(inputs: DraftInputs, settings: DraftSettings = {}): DraftSource | undefined {
  const { prediction, promptLength } = inputs;
  if (prediction !== undefined && prediction.tokens.length > 0) {
    return new PredictionDraft(prediction.tokens, { promptLength, ...(prediction.text === undefined ? {} : { text: prediction.text }) });
  }
  if (inputs.draftModel !== undefined) return new ModelDraft(inputs.draftModel.sequence, { minConfidence: settings.pMin ?? 0, record: inputs.draftModel.record });
  const ngram = settings.ngram ?? 0;
  return ngram > 0 ? new NgramDraft({ ngram, minDraft: settings.draftMin ?? 1 }) : undefined;
}

/** Drafted tokens of every choice on a model, for `/metrics`. */
export class DraftCounter {
  accepted = 0;
  rejected = 0;

  record(counts: DraftCounts): void {
    this.accepted += counts.accepted;
    this.rejected += counts.rejected;
  }
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
  /** Sampled (temperature > 0) with the client's `seed`, which must reproduce the output exactly. */
  readonly seeded: boolean;
}

/**
 * Whether drafting leaves the choice's output unchanged. Every drafted position is sampled with
 * the sampler options of the step (token bias, penalty window) as they were when the batch was
 * built, before the tokens ahead of that position were accepted. So drafting is off when those
 * options change token by token: OpenAI's frequency and presence penalties and `min_tokens` (a
 * bias rebuilt per token, choice-bias.ts), vLLM's repetition penalty (its window grows per token),
 * and grammars (Parley's UTF-8 guard under a grammar is such a bias too). And with
 * log-probabilities: temperature and top-p are then applied in JavaScript to the distribution of
 * the token at hand (generate-choice.ts), which a drafted position's validation cannot see.
 * And for a sampled request with the client's `seed`: how many tokens a step carries follows
 * measured timings, and a batch's logits can differ from a one-token step's in the last bits
 * (llama.cpp's kernels, the KV cache's layout after a rejected draft is erased), which moves a
 * sampled token when the distribution is flat; the seed must give the same output every time.
 * Reasoning redirects (reasoning-steer.ts) combine: a forced token replaces the sampled one, and
 * the drafted tokens that followed it are discarded.
 */
export function draftAllowed(choice: DraftEligibility): boolean {
  return !choice.probabilities && !choice.seeded && !choice.grammar && choice.repetitionPenalty === 1 && choice.frequencyPenalty === 0 && choice.presencePenalty === 0 && choice.minTokens === 0;
}
