/**
 * `--draft-model`: a small GGUF of the same vocabulary that drafts tokens for the target model
 * (speculative-steps.ts verifies them). It gets its own context with one sequence per target slot;
 * each target slot's drafts come from its own draft sequence, which keeps the output so far in its
 * KV cache (only what the target rejected is evaluated again).
 *
 * The draft model loads with the target (same placement settings, same context size) and frees with
 * it. Its vocabulary must be the target's: same tokenizer model, and the same text for every token
 * both have (llama.cpp's own speculative example allows the sizes to differ by up to 128 tokens,
 * the added tokens at the end: so does this).
 */
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import type { ModelPlacement } from "../../config/placement.ts";
import { reusePrefix } from "./choice-prompt.ts";
import type { DraftSource } from "./draft-sources.ts";
import type { DraftCounts } from "./drafting.ts";
import { contextPlacementOptions, modelLoadOptions } from "./placement-options.ts";

export interface DraftModelOptions {
  readonly path: string;
  /** Tokens of context per sequence: the target's. */
  readonly contextSize: number;
  /** Sequences: the target's slots. */
  readonly sequences: number;
  readonly threads: number;
  readonly placement: ModelPlacement;
}

/** Sizes of the two vocabularies may differ by this many tokens (added tokens at the end). */
const VOCABULARY_SIZE_SLACK = 128;

export class DraftModel {
  readonly path: string;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #free: LlamaContextSequence[];
  readonly #assigned = new WeakMap<LlamaContextSequence, LlamaContextSequence>();
  /** How often this model's drafts were kept, over the choices that drafted with it. */
  readonly record = new DraftRecord();

  private constructor(path: string, model: LlamaModel, context: LlamaContext) {
    this.path = path;
    this.#model = model;
    this.#context = context;
    this.#free = Array.from({ length: context.totalSequences }, () => context.getSequence());
  }

  /** Loads the draft model for `target`; throws naming the file when the vocabularies differ. */
  static async load(llama: Llama, target: LlamaModel, options: DraftModelOptions): Promise<DraftModel> {
    const model = await llama.loadModel({ modelPath: options.path, ...modelLoadOptions(options.placement) });
    try {
      checkSameVocabulary(target, model, options.path);
      const context = await model.createContext({ contextSize: options.contextSize, sequences: options.sequences, threads: options.threads, ...contextPlacementOptions(options.placement) });
      return new DraftModel(options.path, model, context);
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  /** The draft sequence paired with target slot `target` (undefined when every one is taken: a slot of another context). */
  sequenceFor(target: LlamaContextSequence): LlamaContextSequence | undefined {
    let sequence = this.#assigned.get(target);
    if (sequence === undefined) {
      sequence = this.#free.shift();
      if (sequence !== undefined) this.#assigned.set(target, sequence);
    }
    return sequence;
  }

  async dispose(): Promise<void> {
    await this.#context.dispose();
    await this.#model.dispose();
  }
}

function checkSameVocabulary(target: LlamaModel, draft: LlamaModel, path: string): void {
  const tokens = (model: LlamaModel) => {
    const ggml = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { model?: string; tokens?: readonly string[] } } }).tokenizer?.ggml;
    return { kind: ggml?.model ?? "", list: ggml?.tokens ?? [] };
  };
  const a = tokens(target);
  const b = tokens(draft);
  const fail = (why: string) => new Error(`--draft-model ${path} cannot draft for this model: ${why}. A draft model must share the target's vocabulary (a smaller model of the same family).`);
  if (a.kind !== b.kind) throw fail(`its tokenizer is "${b.kind}", the model's is "${a.kind}"`);
  if (Math.abs(a.list.length - b.list.length) > VOCABULARY_SIZE_SLACK) throw fail(`it has ${b.list.length} tokens, the model ${a.list.length}`);
  const shared = Math.min(a.list.length, b.list.length);
  for (let id = 0; id < shared; id++) {
    if (a.list[id] !== b.list[id]) throw fail(`token ${id} is ${JSON.stringify(b.list[id])} there, ${JSON.stringify(a.list[id])} in the model`);
  }
}

/**
 * What the choices drafting with one draft model learned: how often its drafted tokens were kept.
 * A new choice starts from it (draft-policy.ts's prior), so a draft model that keeps failing on
 * this workload is not paid for again by every request; every 8th choice starts hopeful, so one
 * that becomes useful is found again.
 */
export class DraftRecord {
  #acceptance = HOPEFUL;
  #choices = 0;

  /** The prior chance that a drafted token is kept, for the next choice. */
  prior(): number {
    this.#choices++;
    return this.#choices % 8 === 0 ? Math.max(this.#acceptance, HOPEFUL) : this.#acceptance;
  }

  /** A choice ended having drafted these. */
  record(counts: DraftCounts): void {
    const tried = counts.accepted + counts.rejected;
    if (tried > 0) this.#acceptance += (counts.accepted / tried - this.#acceptance) * 0.3;
  }
}

const HOPEFUL = 0.8;

export interface ModelDraftOptions {
  /** A drafted token whose probability under the draft model is below this ends the draft (default 0: none does). */
  readonly minConfidence?: number;
  /** Where the draft model's acceptance is kept across choices (default: this choice only). */
  readonly record?: DraftRecord;
}

/**
 * Drafts with a draft model, greedily, from the sequence's state: the prompt and the output so far.
 * Costly (one draft-model step per token, and catching up with the tokens the target generated
 * since it last drafted), so speculative-steps.ts asks it only for as many tokens as pay
 * (draft-policy.ts) and not at all while none do; it stops early at a token it is unsure of
 * (`--draft-p-min`).
 */
export class ModelDraft implements DraftSource {
  readonly costly = true;
  readonly prior: number;
  lastDraftMs = 0;
  readonly #sequence: LlamaContextSequence;
  readonly #minConfidence: number;
  readonly #record: DraftRecord | undefined;
  #state: number[] = [];

  constructor(sequence: LlamaContextSequence, options: ModelDraftOptions = {}) {
    this.#sequence = sequence;
    this.#minConfidence = options.minConfidence ?? 0;
    this.#record = options.record;
    this.prior = this.#record?.prior() ?? HOPEFUL;
  }

  finish(counts: DraftCounts): void {
    this.#record?.record(counts);
  }

  reset(state: readonly number[]): void {
    this.#state = [...state];
  }

  push(tokens: readonly number[]): void {
    for (const token of tokens) this.#state.push(token);
  }

  async predict(max: number): Promise<number[]> {
    const sequence = this.#sequence;
    const state = this.#state as Token[];
    if (max <= 0 || state.length === 0 || state.length + max > sequence.contextSize) return [];
    // Keep what the draft sequence holds of the state (its last drafts past it are erased).
    const keep = await reusePrefix(sequence, state);
    if (keep < state.length - 1) await sequence.evaluateWithoutGeneratingNewTokens(state.slice(keep, -1));
    const draft: number[] = [];
    const started = performance.now();
    const steps = sequence.evaluateWithMetadata(state.slice(-1), { confidence: this.#minConfidence > 0 }, { temperature: 0, yieldEogToken: true });
    for await (const step of steps) {
      const { token } = step;
      if ("confidence" in step && typeof step.confidence === "number" && step.confidence < this.#minConfidence) break;
      draft.push(token);
      if (draft.length >= max) break;
    }
    this.lastDraftMs = performance.now() - started;
    return draft;
  }
}
