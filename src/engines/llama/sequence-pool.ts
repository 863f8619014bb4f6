/**
 * Admission to a fixed set of slots (context sequences): at most `slots` generations run at once,
 * the rest wait first-in first-out in a bounded queue. A waiter whose signal aborts leaves the
 * queue at once, so a disconnected client never occupies a slot.
 */
import { ParleyError } from "../../domain/errors.ts";

export interface SequencePoolOptions<T> {
  /** The slots; each is lent to one generation at a time. */
  readonly items: readonly T[];
  /** Waiting requests allowed beyond the running ones before new ones get 429 (default 64). */
  readonly maxQueue?: number;
}

interface Waiter<T> {
  resolve(item: T): void;
  reject(error: unknown): void;
}

export class SequencePool<T> {
  readonly #free: T[];
  readonly #waiters: Waiter<T>[] = [];
  readonly #maxQueue: number;
  #closed = false;

  constructor(options: SequencePoolOptions<T>) {
    this.#free = [...options.items];
    this.#maxQueue = options.maxQueue ?? 64;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  get available(): number {
    return this.#free.length;
  }

  /**
   * Checks, before a request starts, that it may queue: throws 429 when the queue is full and 503
   * when closing. A request with several choices is admitted as a whole.
   */
  admit(): void {
    if (this.#closed) throw new ParleyError("unavailable", "The server is shutting down.", { retryAfter: 1 });
    if (this.#free.length === 0 && this.#waiters.length >= this.#maxQueue) {
      throw new ParleyError("server_busy", "The server is busy: too many requests are waiting. Retry shortly.", { retryAfter: 1 });
    }
  }

  /** Waits for a free slot (FIFO). Rejects with the signal's reason if it aborts first. */
  acquire(signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#closed) return Promise.reject(new ParleyError("unavailable", "The server is shutting down."));
    const item = this.#free.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve: (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        reject,
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Returns a slot: handed straight to the oldest waiter, if any. */
  release(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(item);
    else this.#free.push(item);
  }

  /** Rejects every waiter and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new ParleyError("unavailable", "The server is shutting down."));
  }
}
