/**
 * Admission to a fixed set of slots (context sequences): at most `slots` generations run at once,
 * the rest wait first-in first-out within their tier: `priority` requests are served before
 * waiting `default` ones, `flex` ones after both (OpenAI's `service_tier`). The queue is bounded in *requests* (a request with n choices
 * counts once), so 429s do not depend on `n`. A waiter whose signal aborts leaves the queue at once,
 * so a disconnected client never occupies a slot; a request still waiting for its first slot after
 * `queueTimeoutMs` leaves it with a 429.
 *
 * Placement: `acquire` may score the free slots (e.g. by the prompt prefix a sequence has cached)
 * and takes the best one; ties go to the slot free the longest. A slot given back while requests
 * wait goes to the oldest waiter, whatever its score: fairness comes first.
 *
 * Every lent slot is recorded under the request it was lent to, so none can be lost: `end(claim)`
 * takes back whatever a finished request still holds (a bug elsewhere, counted in `reclaimed`). A
 * slot whose native work outlives its request (a step still running in llama.cpp after the request
 * was abandoned) is given back with `release(item, until)`: it stays out of use until that work
 * settles, and the watchdog reports it while it is held longer than `heldReportMs`.
 */
import { DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_RETRY_AFTER_S, SHUTTING_DOWN } from "../../config/defaults.ts";
import { ParleyError } from "../../domain/errors.ts";

export interface SequencePoolOptions<T> {
  /** The slots; each is lent to one generation at a time. */
  readonly items: readonly T[];
  /** Requests allowed to wait for a slot before new ones get 429 (default 64). */
  readonly maxQueue?: number;
  /**
   * Milliseconds a request may wait for its first slot, counted from `admit`, before its waits
   * reject with 429 (default 60 000; 0: no limit). Once a request has a slot, its other choices
   * wait without limit.
   */
  readonly queueTimeoutMs?: number;
  /**
   * Called when a slot has been held for `heldReportMs` by work of a request that already ended,
   * and again when it is finally free (default: nothing).
   */
  readonly onHeld?: (event: HeldEvent) => void;
  /** How long a released slot may wait for its work to settle before `onHeld` reports it (default 5000 ms). */
  readonly heldReportMs?: number;
}

/** The watchdog's report on a slot held by work of an ended request. */
export interface HeldEvent {
  readonly state: "held" | "freed";
  readonly heldMs: number;
}

/** Queue tiers, served in this order. */
export type QueueTier = "priority" | "default" | "flex";
const TIER_RANK: Readonly<Record<QueueTier, number>> = { priority: 0, default: 1, flex: 2 };

/** One admitted request; its choices acquire slots under it. */
export interface SlotClaim {
  readonly id: symbol;
  readonly tier: QueueTier;
}

interface Waiter<T> {
  readonly claim: SlotClaim;
  resolve(item: T): void;
}

/** What the pool knows of an admitted request. */
interface Ticket {
  /** `performance.now()` after which waiting for the first slot fails; Infinity: never. */
  readonly deadline: number;
  /** True once one of its choices got a slot. */
  served: boolean;
  /** Resolves `whenServed`. */
  readonly onServed: () => void;
  readonly whenServed: Promise<void>;
}

export class SequencePool<T> {
  /** Free slots, the one free the longest first. */
  readonly #free: T[];
  readonly #size: number;
  readonly #waiters: Waiter<T>[] = [];
  readonly #tickets = new WeakMap<SlotClaim, Ticket>();
  readonly #maxQueue: number;
  readonly #queueTimeoutMs: number;
  /** Each lent slot's request. */
  readonly #lent = new Map<T, SlotClaim>();
  /** Slots given back whose work has not settled yet. */
  #held = 0;
  #reclaimed = 0;
  readonly #onHeld: SequencePoolOptions<T>["onHeld"];
  readonly #heldReportMs: number;
  #closed = false;

  constructor(options: SequencePoolOptions<T>) {
    this.#free = [...options.items];
    this.#size = options.items.length;
    this.#maxQueue = options.maxQueue ?? DEFAULT_QUEUE_SIZE;
    this.#queueTimeoutMs = options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    this.#onHeld = options.onHeld;
    this.#heldReportMs = options.heldReportMs ?? 5000;
  }

  /** Requests with at least one choice waiting for a slot. */
  get waitingRequests(): number {
    return new Set(this.#waiters.map((w) => w.claim)).size;
  }

  /** Slots lent out now (held ones included). */
  get activeItems(): number {
    return this.#size - this.#free.length;
  }

  /** Slots given back whose work is still running (see `release`). */
  get heldItems(): number {
    return this.#held;
  }

  /** Slots `end` took back from requests that had finished without returning them. */
  get reclaimed(): number {
    return this.#reclaimed;
  }

  /** All slots, lent or free. */
  get size(): number {
    return this.#size;
  }

  /**
   * Admits a request before it starts: 503 once closing, 429 when every slot is taken and the
   * queue already holds `maxQueue` requests. `tier`: where its choices wait (default `default`).
   */
  admit(tier: QueueTier = "default"): SlotClaim {
    if (this.#closed) throw new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: DEFAULT_RETRY_AFTER_S });
    if (this.#free.length === 0 && this.waitingRequests >= this.#maxQueue) {
      throw new ParleyError("server_busy", "The server is busy: too many requests are waiting. Retry shortly.", { retryAfter: 1 });
    }
    const claim: SlotClaim = { id: Symbol("slot-claim"), tier };
    const deadline = this.#queueTimeoutMs > 0 ? performance.now() + this.#queueTimeoutMs : Infinity;
    let onServed: () => void = () => undefined;
    const whenServed = new Promise<void>((resolve) => (onServed = resolve));
    this.#tickets.set(claim, { deadline, served: false, onServed, whenServed });
    return claim;
  }

  /**
   * Resolves once one of `claim`'s choices got a slot; never rejects (a request that never
   * gets one fails through `acquire`).
   */
  whenServed(claim: SlotClaim): Promise<void> {
    return this.#tickets.get(claim)?.whenServed ?? Promise.resolve();
  }

  /**
   * A slot for one of `claim`'s choices: the free one `prefer` scores highest (the one free
   * the longest among equals; without `prefer`, that one), else the next one given back, in
   * arrival order. Rejects with the signal's reason if it aborts first, and with 429 if the
   * request has no slot yet when its queue timeout passes.
   */
  acquire(claim: SlotClaim, signal: AbortSignal, prefer?: (item: T) => number): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const ticket = this.#tickets.get(claim);
    const item = this.#takeFree(prefer);
    if (item !== undefined) {
      this.#lent.set(item, claim);
      if (ticket !== undefined) served(ticket);
      return Promise.resolve(item);
    }
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (reason: unknown) => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        signal.removeEventListener("abort", onAbort);
        clearTimeout(timer);
        reject(reason);
      };
      const onAbort = () => leave(signal.reason);
      const waiter: Waiter<T> = {
        claim,
        resolve: (value) => {
          signal.removeEventListener("abort", onAbort);
          clearTimeout(timer);
          this.#lent.set(value, claim);
          if (ticket !== undefined) served(ticket);
          resolve(value);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      // Behind every waiter of its tier or a higher one, ahead of lower tiers.
      const rank = TIER_RANK[claim.tier];
      const after = this.#waiters.findIndex((w) => TIER_RANK[w.claim.tier] > rank);
      this.#waiters.splice(after === -1 ? this.#waiters.length : after, 0, waiter);
      if (ticket !== undefined && !ticket.served && ticket.deadline !== Infinity) {
        // A sibling choice may have been served meanwhile: the request then waits without limit.
        const timedOut = () => {
          if (!ticket.served)
            leave(new ParleyError("server_busy", `The server is busy: the request waited ${this.#queueTimeoutMs / 1000} s for a slot without getting one. Retry shortly.`, { retryAfter: 1 }));
        };
        timer = setTimeout(timedOut, Math.max(0, ticket.deadline - performance.now()));
      }
    });
  }

  /** A free slot right away, if there is one and nobody is waiting (never waits, never jumps the queue). */
  tryAcquire(claim: SlotClaim, prefer?: (item: T) => number): T | undefined {
    const item = this.#waiters.length === 0 ? this.#takeFree(prefer) : undefined;
    if (item !== undefined) this.#lent.set(item, claim);
    return item;
  }

  /**
   * Returns a slot: handed straight to the first waiter (the oldest of the highest tier), if any. With `until` (work on the slot
   * that is still running, e.g. a native step its abandoned request could not wait for), the slot
   * stays out of use until `until` settles.
   */
  release(item: T, until?: PromiseLike<unknown>): void {
    if (!this.#lent.delete(item)) return; // not lent (already given back): never hand a slot out twice
    if (until === undefined) {
      this.#handOut(item);
      return;
    }
    this.#held++;
    const since = performance.now();
    const report = setTimeout(() => this.#onHeld?.({ state: "held", heldMs: performance.now() - since }), this.#heldReportMs);
    report.unref();
    const free = () => {
      this.#held--;
      clearTimeout(report);
      const heldMs = performance.now() - since;
      if (heldMs >= this.#heldReportMs) this.#onHeld?.({ state: "freed", heldMs });
      this.#handOut(item);
    };
    until.then(free, free);
  }

  /**
   * The request is over: forgets it, and takes back any slot still lent to it (which its code
   * should have released: counted in `reclaimed`). Returns how many were taken back.
   */
  end(claim: SlotClaim): number {
    this.#tickets.delete(claim);
    let taken = 0;
    for (const [item, owner] of this.#lent) {
      if (owner !== claim) continue;
      taken++;
      this.release(item);
    }
    this.#reclaimed += taken;
    return taken;
  }

  #handOut(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(item);
    else this.#free.push(item);
  }

  /** Removes and returns the free slot `prefer` scores highest (the first among equals). */
  #takeFree(prefer: ((item: T) => number) | undefined): T | undefined {
    if (prefer === undefined || this.#free.length < 2) return this.#free.shift();
    let best = 0;
    let bestScore = -Infinity;
    this.#free.forEach((item, index) => {
      const score = prefer(item);
      if (score > bestScore) {
        best = index;
        bestScore = score;
      }
    });
    return this.#free.splice(best, 1)[0];
  }

  /**
   * Refuses new requests. Requests already admitted keep their place and still get slots, so a
   * graceful shutdown lets them finish; the engine aborts them if the grace period runs out.
   */
  close(): void {
    this.#closed = true;
  }
}

function served(ticket: Ticket): void {
  ticket.served = true;
  ticket.onServed();
}
