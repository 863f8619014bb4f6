/**
 * Admission to a fixed set of slots (context sequences): at most `slots` generations run at once,
 * the rest wait first-in first-out. The queue is bounded in *requests* (a request with n choices
 * counts once), so 429s do not depend on `n`. A waiter whose signal aborts leaves the queue at once,
 * so a disconnected client never occupies a slot.
 */
import { ParleyError } from "../../domain/errors.ts";

export interface SequencePoolOptions<T> {
  /** The slots; each is lent to one generation at a time. */
  readonly items: readonly T[];
  /** Requests allowed to wait for a slot before new ones get 429 (default 64). */
  readonly maxQueue?: number;
}

/** One admitted request; its choices acquire slots under it. */
export interface Admission {
  readonly id: symbol;
}

interface Waiter<T> {
  readonly admission: Admission;
  resolve(item: T): void;
}

export const SHUTTING_DOWN = "The server is shutting down.";

export class SequencePool<T> {
  readonly #free: T[];
  readonly #waiters: Waiter<T>[] = [];
  readonly #maxQueue: number;
  #closed = false;

  constructor(options: SequencePoolOptions<T>) {
    this.#free = [...options.items];
    this.#maxQueue = options.maxQueue ?? 64;
  }

  /** Requests with at least one choice waiting for a slot. */
  get waitingRequests(): number {
    return new Set(this.#waiters.map((w) => w.admission)).size;
  }

  /**
   * Admits a request before it starts: 503 once closing, 429 when every slot is taken and the
   * queue already holds `maxQueue` requests.
   */
  admit(): Admission {
    if (this.#closed) throw new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: 1 });
    if (this.#free.length === 0 && this.waitingRequests >= this.#maxQueue) {
      throw new ParleyError("server_busy", "The server is busy: too many requests are waiting. Retry shortly.", { retryAfter: 1 });
    }
    return { id: Symbol("admission") };
  }

  /** Waits for a free slot (FIFO). Rejects with the signal's reason if it aborts first. */
  acquire(admission: Admission, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const item = this.#free.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal.reason);
      };
      const waiter: Waiter<T> = {
        admission,
        resolve: (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** A free slot right away, if there is one and nobody is waiting (never waits, never jumps the queue). */
  tryAcquire(): T | undefined {
    return this.#waiters.length === 0 ? this.#free.shift() : undefined;
  }

  /** Returns a slot: handed straight to the oldest waiter, if any. */
  release(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(item);
    else this.#free.push(item);
  }

  /**
   * Refuses new requests. Requests already admitted keep their place and still get slots, so a
   * graceful shutdown lets them finish; the engine aborts them if the grace period runs out.
   */
  close(): void {
    this.#closed = true;
  }
}
