/**
 * Evaluates a prompt once for all of a request's choices (`n` > 1, `best_of`): the first choice
 * evaluates it, and each sibling copies that sequence's KV state instead of evaluating the prompt
 * again.
 *
 * node-llama-cpp 3.22.1 copies sequence state only through an internal method
 * (`_copyStateFromOtherSequence`, built on llama.cpp's `llama_memory_seq_cp`; node-llama-cpp is
 * pinned to that exact version). Without it, siblings evaluate the prompt themselves, as before.
 * A copy is only made when the source holds more of the prompt than the sibling's own cache.
 *
 * The copy must not overlap a decode of the source (node-llama-cpp does not order the two), so
 * the source, once its prompt is in, waits for the siblings already copying and then seals the
 * fork: siblings that get a slot later evaluate the prompt themselves.
 */
import type { LlamaContextSequence, Token } from "node-llama-cpp";

interface CopyableSequence {
  _copyStateFromOtherSequence?: (other: LlamaContextSequence, upToTokenIndex: number) => Promise<boolean>;
}

export class PromptFork {
  readonly #prompt: readonly Token[];
  readonly #source: Promise<LlamaContextSequence | undefined>;
  #provide: (sequence: LlamaContextSequence | undefined) => void = () => undefined;
  /** Copies under way (or waiting for the source): the source does not decode before they end. */
  readonly #copying = new Set<Promise<void>>();
  #sealed = false;

  constructor(prompt: readonly Token[]) {
    this.#prompt = prompt;
    this.#source = new Promise((resolve) => (this.#provide = resolve));
  }

  /** The first choice's sequence now holds the prompt (undefined: it never will). Idempotent. */
  provide(sequence: LlamaContextSequence | undefined): void {
    this.#provide(sequence);
  }

  /** For the source, before its first decode: waits for the copies under way, then refuses new ones. */
  async seal(): Promise<void> {
    while (this.#copying.size > 0) await Promise.allSettled([...this.#copying]);
    this.#sealed = true;
  }

  /** Brings a sibling's `sequence` to the prompt by copying the source's state, when that saves work. */
  async adopt(sequence: LlamaContextSequence, signal: AbortSignal): Promise<void> {
    const copy = (sequence as unknown as CopyableSequence)._copyStateFromOtherSequence;
    const wanted = this.#prompt.length - 1;
    const own = sequence.compareContextTokens(this.#prompt as Token[]).firstDifferentIndex;
    if (this.#sealed || typeof copy !== "function" || own >= wanted) return;
    const work = (async () => {
      const source = await this.#source;
      if (source === undefined || signal.aborted) return;
      const shared = Math.min(wanted, source.compareContextTokens(this.#prompt as Token[]).firstDifferentIndex);
      // false: the state did not copy cleanly; start the sibling from nothing rather than trust it.
      if (shared > own && !(await copy.call(sequence, source, shared))) await sequence.clearHistory();
    })();
    this.#copying.add(work);
    try {
      await work;
    } finally {
      this.#copying.delete(work);
    }
  }
}
