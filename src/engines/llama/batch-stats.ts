/**
 * Counts llama.cpp decode batches as node-llama-cpp dispatches them: how many batches ran, how
 * many sequences and tokens each held. This is how tests see that concurrent requests really
 * advance in the same decode steps, and what `/metrics` reports.
 */

export interface BatchSnapshot {
  /** Decode batches dispatched so far. */
  readonly batches: number;
  /** Batches that held tokens of more than one sequence. */
  readonly multiSequenceBatches: number;
  /** Sum over batches of the sequences each held. */
  readonly sequences: number;
  /** Tokens evaluated in all batches. */
  readonly tokens: number;
}

export class BatchStats {
  #batches = 0;
  #multiSequence = 0;
  #sequences = 0;
  #tokens = 0;

  /** Records one dispatched batch. */
  record(sequences: number, tokens: number): void {
    this.#batches++;
    if (sequences > 1) this.#multiSequence++;
    this.#sequences += sequences;
    this.#tokens += tokens;
  }

  snapshot(): BatchSnapshot {
    return { batches: this.#batches, multiSequenceBatches: this.#multiSequence, sequences: this.#sequences, tokens: this.#tokens };
  }
}
