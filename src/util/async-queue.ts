/**
 * A single-consumer async queue: producers push values (or an error) and close it; the consumer
 * iterates with `for await`. Used to merge the events of concurrently generated choices.
 *
 * A waiting consumer is woken on the next event-loop turn (`setImmediate`), not at once: the
 * producer (a generating sequence) first queues its next decode, so delivering a token (JSON,
 * socket write) overlaps the decode of the next one instead of delaying it; events pushed meanwhile
 * are taken in the same wake.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #closed = false;
  #error: unknown = undefined;
  #failed = false;
  #wake: (() => void) | undefined;
  /** A wake is scheduled for the next turn. */
  #waking = false;

  push(item: T): void {
    if (this.#closed) return;
    this.#items.push(item);
    this.#notify();
  }

  /** Ends iteration after the queued items; with an error, the consumer's loop throws it. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) {
      this.#failed = true;
      this.#error = error;
    }
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#closed) {
        if (this.#failed) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #notify(): void {
    if (this.#wake === undefined || this.#waking) return;
    this.#waking = true;
    setImmediate(this.#wakeNow);
  }

  readonly #wakeNow = (): void => {
    this.#waking = false;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  };
}
