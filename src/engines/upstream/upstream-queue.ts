/**
 * The upstream queue: a counting semaphore for an upstream model's `maxConcurrent` (not the HTTP
 * layer's per-key limiter, http/auth/limiter.ts), with the same queue rules as a local model's
 * slots (`--queue-size`, `--queue-timeout`): up to `limit` holders; later callers wait in FIFO order, at most `maxQueue` of them (one more is refused at once with 429 and
 * `Retry-After`), each for at most `queueTimeoutMs` (then 429 and `Retry-After` too), and a
 * caller whose abort signal fires leaves the queue (rejecting with its reason). As with local
 * models, `service_tier` orders the queue: `priority` callers wait ahead of `default` ones,
 * `flex` ones behind them (first come, first served within a tier).
 */
import type { Scheduling } from "../../domain/chat.ts";
import { DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_RETRY_AFTER_S } from "../../config/defaults.ts";
import { ParleyError } from "../../domain/errors.ts";

const TIER_RANK: Readonly<Record<Scheduling["tier"], number>> = { priority: 0, default: 1, flex: 2 };

export interface UpstreamQueueOptions {
  /** Holders at once (default Infinity: no limit, so nobody waits). */
  readonly limit?: number;
  /** Callers that may wait (default 64, as `--queue-size`). */
  readonly maxQueue?: number;
  /** Longest wait in ms before a 429 (default 60 000, as `--queue-timeout`; 0: no limit). */
  readonly queueTimeoutMs?: number;
}

export class UpstreamQueue {
  readonly #limit: number;
  readonly #maxQueue: number;
  readonly #queueTimeoutMs: number;
  #active = 0;
  readonly #waiters: { readonly rank: number; grant: () => void }[] = [];

  constructor(options: UpstreamQueueOptions = {}) {
    this.#limit = options.limit ?? Infinity;
    this.#maxQueue = options.maxQueue ?? DEFAULT_QUEUE_SIZE;
    this.#queueTimeoutMs = options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function once a place is free (`tier`: the request's `service_tier`, default `default`). */
  async acquire(signal: AbortSignal, tier: Scheduling["tier"] = "default"): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#active < this.#limit) {
      this.#active++;
      return this.#releaser();
    }
    if (this.#waiters.length >= this.#maxQueue) {
      throw new ParleyError("server_busy", "The server is busy: too many requests are waiting for this upstream model. Retry shortly.", { retryAfter: DEFAULT_RETRY_AFTER_S });
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (reason: unknown) => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        signal.removeEventListener("abort", onAbort);
        clearTimeout(timer);
        reject(reason);
      };
      const waiter = {
        rank: TIER_RANK[tier],
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          clearTimeout(timer);
          this.#active++;
          resolve(this.#releaser());
        },
      };
      const onAbort = () => leave(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      const behind = this.#waiters.findIndex((w) => w.rank > waiter.rank);
      this.#waiters.splice(behind === -1 ? this.#waiters.length : behind, 0, waiter);
      if (this.#queueTimeoutMs > 0) {
        const seconds = this.#queueTimeoutMs / 1000;
        timer = setTimeout(
          () =>
            leave(
              new ParleyError("server_busy", `The server is busy: the request waited ${seconds} s for this upstream model without getting a place. Retry shortly.`, {
                retryAfter: DEFAULT_RETRY_AFTER_S,
              }),
            ),
          this.#queueTimeoutMs,
        );
      }
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#waiters.shift()?.grant();
    };
  }
}
