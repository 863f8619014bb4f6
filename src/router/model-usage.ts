/**
 * A model's use by requests (managed-model.ts): how many hold it (a lease each, from arrival until
 * their events end), when it was last used (the pool's LRU order), and the timer that unloads it
 * once idle for long enough. Leases are idempotent to release.
 */

/** A request's hold on the model; `release` is idempotent. */
export interface Lease {
  /** `keepAliveS`: the request's `keep_alive` (seconds; -1: keep; 0: unload once idle), if it set one. */
  release(keepAliveS?: number): void;
}

export interface ModelUsageOptions {
  /** Seconds an idle model stays loaded when the last request set no `keep_alive`; ≤ 0: until evicted. */
  readonly ttlS: () => number;
  /** Whether an idle timer may run now (loaded, not pinned, not closing). */
  readonly mayExpire: () => boolean;
  /** Called when the model has been idle for its time. */
  readonly expire: () => void;
  /** Called when a lease ends (loads waiting for room look again). */
  readonly released: () => void;
}

export class ModelUsage {
  readonly #options: ModelUsageOptions;
  #leases = 0;
  #lastUsed = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ModelUsageOptions) {
    this.#options = options;
  }

  /** Requests hold it now (running, or waiting for it to load). */
  get busy(): boolean {
    return this.#leases > 0;
  }

  /** When it was last taken or released (ms, monotonic). */
  get lastUsed(): number {
    return this.#lastUsed;
  }

  /** A new hold: the model counts as busy, and no idle timer runs, until it is released. */
  lease(): Lease {
    this.#leases++;
    this.#lastUsed = performance.now();
    this.cancelExpiry();
    let released = false;
    return {
      release: (keepAliveS) => {
        if (released) return;
        released = true;
        this.#leases--;
        this.#lastUsed = performance.now();
        if (this.#leases === 0) this.idle(keepAliveS);
        this.#options.released();
      },
    };
  }

  /** Starts the idle timer: `keepAliveS` if given, else the TTL; none while busy or when it may not expire. */
  idle(keepAliveS?: number): void {
    this.cancelExpiry();
    if (this.#leases > 0 || !this.#options.mayExpire()) return;
    const ttl = this.#options.ttlS();
    const seconds = keepAliveS ?? (ttl > 0 ? ttl : -1);
    if (seconds < 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#leases === 0) this.#options.expire();
    }, seconds * 1000);
    this.#timer.unref();
  }

  cancelExpiry(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
