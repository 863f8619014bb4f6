/**
 * Incremental stop-string matching over streamed text.
 *
 * Text is pushed as it is decoded. Anything that could still be the beginning of a stop string is
 * held back, so a stop string split across tokens (or chunks) is never emitted, not even in part.
 */

export interface StopMatch {
  /** Text that is safe to emit now. */
  readonly text: string;
  /** True when a stop string was found; `text` then ends right before it (or with it, `includeStop`). */
  readonly stopped: boolean;
}

export class StopMatcher {
  readonly #stops: readonly string[];
  #pending = "";
  #matched: string | undefined;

  readonly #includeStop: boolean;

  /** @param includeStop emit the stop string itself before stopping (default false). */
  constructor(stops: readonly string[], includeStop = false) {
    this.#stops = stops.filter((s) => s.length > 0);
    this.#includeStop = includeStop;
  }

  /**
   * Feeds newly decoded text; returns what can be emitted. With `active` false (vLLM's `min_tokens`
   * not reached yet) no stop string is matched, but a tail that could begin one is still held back,
   * so a stop string completed by a later, active push is found even if it began earlier.
   */
  push(text: string, active = true): StopMatch {
    this.#pending += text;
    if (this.#stops.length === 0) return this.#take(this.#pending.length, false);
    if (!active) return this.#take(this.#pending.length - this.#heldBackLength(), false);

    let first = -1;
    let end = -1;
    let matched: string | undefined;
    for (const stop of this.#stops) {
      const at = this.#pending.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) {
        first = at;
        end = at + stop.length;
        matched = stop;
      }
    }
    if (first !== -1) {
      const out = this.#pending.slice(0, this.#includeStop ? end : first);
      this.#pending = "";
      this.#matched = matched;
      return { text: out, stopped: true };
    }
    return this.#take(this.#pending.length - this.#heldBackLength(), false);
  }

  /** The stop string that ended the text (the earliest found), once one has; else undefined. */
  get matched(): string | undefined {
    return this.#matched;
  }

  /** Ends the stream without a stop: everything held back is emitted. */
  flush(): string {
    const out = this.#pending;
    this.#pending = "";
    return out;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
  #heldBackLength(): number {
    let longest = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, this.#pending.length);
      for (let len = max; len > longest; len--) {
        if (this.#pending.endsWith(stop.slice(0, len))) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }

  #take(count: number, stopped: boolean): StopMatch {
    const out = this.#pending.slice(0, count);
    this.#pending = this.#pending.slice(count);
    return { text: out, stopped };
  }
}
