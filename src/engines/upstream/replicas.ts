/**
 * The replicas of one upstream model: least-outstanding-requests balancing, passive ejection on
 * connection errors and 5xx with exponential backoff (1 s doubling to 30 s by default), and active
 * health checks (`GET <baseUrl>/models`) that eject failing replicas and bring recovered ones back.
 * With more than one replica, a request with an affinity key goes where its prefix was served
 * before while that replica is not overloaded (`affinity.ts`); least outstanding otherwise.
 * Health-check timers are unref'd and stopped by `close()`.
 */
import { PrefixAffinity, type AffinityKey, type AffinityOptions } from "./affinity.ts";

export interface ReplicaSetOptions {
  readonly baseUrls: readonly string[];
  /** Active health check period per replica, in ms (default 5 000; 0: no active checks). */
  readonly healthIntervalMs?: number;
  /** First ejection's length, in ms (default 1 000); each consecutive failure doubles it. */
  readonly ejectBaseMs?: number;
  /** Longest ejection, in ms (default 30 000). */
  readonly ejectMaxMs?: number;
  /** Performs one health check of a base URL: resolves true when healthy. */
  readonly check: (baseUrl: string, signal: AbortSignal) => Promise<boolean>;
  /** Clock (default `Date.now`), for tests. */
  readonly now?: () => number;
  /** Prefix affinity (default: on, with `AffinityOptions`' defaults); `false`: least outstanding only. */
  readonly affinity?: AffinityOptions | false;
}

export class Replica {
  readonly baseUrl: string;
  /** Requests in flight to it. */
  outstanding = 0;
  /** Failures since it last worked. */
  failures = 0;
  /** Until when (ms) it gets no traffic; 0: not ejected. */
  ejectedUntil = 0;
  /** Whether any health check or request has told us about it yet. */
  checked = false;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }
}

export class ReplicaSet {
  readonly replicas: readonly Replica[];
  readonly #options: ReplicaSetOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  readonly #checking = new Set<Replica>();
  readonly #checks = new AbortController();
  readonly #affinity: PrefixAffinity | undefined;

  constructor(options: ReplicaSetOptions) {
    if (options.baseUrls.length === 0) throw new Error("an upstream model needs at least one base URL");
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.replicas = options.baseUrls.map((url) => new Replica(url));
    if (options.affinity !== false && this.replicas.length > 1)
      this.#affinity = new PrefixAffinity(
        this.replicas.map((r) => r.baseUrl),
        options.affinity,
      );
    const interval = options.healthIntervalMs ?? 5_000;
    if (interval > 0) {
      this.#timer = setInterval(() => this.checkAll(), interval);
      this.#timer.unref();
      setImmediate(() => this.checkAll()).unref();
    }
  }

  /** Whether a replica takes traffic now. */
  available(replica: Replica): boolean {
    return replica.ejectedUntil <= this.#now();
  }

  /** True when at least one replica takes traffic (ejections expire by themselves). */
  anyAvailable(): boolean {
    return this.replicas.some((r) => this.available(r));
  }

  /**
   * The next replica to try, not in `exclude`: with an affinity `key`, the one affinity chooses
   * (which then remembers it for the key's prefix); else the available one with the fewest requests in
   * flight (ties: the one listed first); when every remaining one is ejected, the one whose ejection
   * ends first (better a likely failure, retried elsewhere, than no attempt). Undefined when none is left.
   */
  pick(exclude: ReadonlySet<Replica>, key?: AffinityKey): Replica | undefined {
    const replica = this.#pick(exclude, key);
    if (replica !== undefined && key !== undefined) this.#affinity?.record(key, this.replicas.indexOf(replica));
    return replica;
  }

  #pick(exclude: ReadonlySet<Replica>, key: AffinityKey | undefined): Replica | undefined {
    if (key !== undefined && this.#affinity !== undefined) {
      const loads = this.replicas.map((r) => (exclude.has(r) || !this.available(r) ? undefined : r.outstanding));
      const chosen = this.#affinity.choose(key, loads);
      if (chosen !== undefined) return this.replicas[chosen.index];
    }
    const left = this.replicas.filter((r) => !exclude.has(r));
    const up = left.filter((r) => this.available(r));
    if (up.length > 0) return up.reduce((best, r) => (r.outstanding < best.outstanding ? r : best));
    if (left.length === 0) return undefined;
    return left.reduce((best, r) => (r.ejectedUntil < best.ejectedUntil ? r : best));
  }

  /** A request or check failed (connection error, 5xx): no traffic for an exponentially growing while. */
  failed(replica: Replica): void {
    replica.checked = true;
    replica.failures++;
    const base = this.#options.ejectBaseMs ?? 1_000;
    const max = this.#options.ejectMaxMs ?? 30_000;
    replica.ejectedUntil = this.#now() + Math.min(max, base * 2 ** Math.min(30, replica.failures - 1));
  }

  /** A request or check succeeded: back in rotation, backoff reset. */
  succeeded(replica: Replica): void {
    replica.checked = true;
    replica.failures = 0;
    replica.ejectedUntil = 0;
  }

  /** Runs one health check of every replica (those still being checked are skipped). */
  checkAll(): void {
    for (const replica of this.replicas) {
      if (this.#checking.has(replica) || this.#checks.signal.aborted) continue;
      this.#checking.add(replica);
      const timeout = AbortSignal.timeout(Math.min(this.#options.healthIntervalMs ?? 5_000, 10_000));
      void this.#options
        .check(replica.baseUrl, AbortSignal.any([timeout, this.#checks.signal]))
        .catch(() => false)
        .then((healthy) => {
          this.#checking.delete(replica);
          if (this.#checks.signal.aborted) return;
          if (healthy) this.succeeded(replica);
          else this.failed(replica); // keeps a dead replica out, with growing backoff
        });
    }
  }

  /** Stops the health checks (and aborts those in flight). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#checks.abort();
  }
}
