/**
 * Lock-step decoding for the sequences of one context, so every decode step carries the next token
 * of every generating sequence (continuous batching), and counts the batches (BatchStats).
 *
 * Why node-llama-cpp alone gains (almost) nothing from several sequences (3.22.1; measured with
 * bench/raw-engine.ts `--schedule default|parley`): its dispatch loop decodes a batch, samples each
 * sequence's token, and starts the next batch at once with whatever is queued by then — its
 * `dispatchSchedule` is consulted only when the loop has gone idle, which at steady state it never
 * does. A sequence's next token is queued only after its sampled token travelled through the
 * generator to its consumer and back, so the sequence sampled last misses every batch: 4 generating
 * sequences decode in batches of 3 in rotating order, 2 sequences never share a batch. And
 * llama.cpp, with node-llama-cpp's per-sequence KV cache (`kv_unified = false`), splits a batch
 * into micro-batches of *consecutive ascending* sequence ids: sequences [2, 3, 0] run as [2, 3] and
 * [0], each streaming all the weights again. (So sequences 0 and 2 generating without 1 still take
 * two micro-batches: slot placement that prefers low ids keeps them consecutive.)
 *
 * The fix is a step barrier on the consumer side: a generating sequence that got its token waits
 * (`step`) until every other generating sequence got its own, then all ask for their next token
 * together, in ascending sequence id, so the loop finds the queue empty, goes idle, and the next
 * dispatch (`setImmediate`, node-llama-cpp's "nextCycle") finds every token queued in order: one
 * batch, one micro-batch. With a single generating sequence `step` returns at once. A sequence that
 * does not arrive within `maxWaitMs` (it is evaluating a long prompt chunk, or its consumer
 * stalls) does not hold the others longer than that.
 */
import type { BatchingOptions, CustomBatchingPrioritizationStrategy, LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import { BatchStats } from "./batch-stats.ts";

export interface BatchSchedulerOptions {
  /** Where dispatched batches are counted (default: a new BatchStats). */
  readonly stats?: BatchStats;
  /** Longest a sequence waits at the barrier for the others, in ms (default 50). */
  readonly maxWaitMs?: number;
}

/** A generating sequence's place in the lock step (from `BatchScheduler.join`). */
export interface StepMember {
  /**
   * Call after consuming a token, before asking for the next: undefined means go on at once,
   * otherwise await the promise (it never rejects).
   */
  step(): Promise<void> | undefined;
  /** The sequence stopped generating. Idempotent. */
  leave(): void;
}

interface Member {
  /** llama.cpp's sequence id: released members ask for their tokens in this order. */
  readonly order: number;
  waiting: boolean;
  left: boolean;
  resolve: (() => void) | undefined;
}

const schedulers = new WeakMap<LlamaContext, BatchScheduler>();

export class BatchScheduler {
  readonly stats: BatchStats;
  /** node-llama-cpp `batching` options for the context this scheduler serves. */
  readonly batching: BatchingOptions;
  readonly #maxWaitMs: number;
  readonly #members = new Set<Member>();
  #waiting: Member[] = [];
  #spare: Member[] = [];
  /** Members neither waiting nor gone. */
  #running = 0;
  #round = 0;
  #armedRound = -1;
  #timer: NodeJS.Timeout | undefined;
  #joined = 0;

  constructor(options: BatchSchedulerOptions = {}) {
    this.stats = options.stats ?? new BatchStats();
    this.#maxWaitMs = options.maxWaitMs ?? 50;
    this.batching = { itemPrioritizationStrategy: this.#prioritize, dispatchSchedule: this.#dispatchSchedule };
  }

  /** The scheduler of a context that `attach` registered. */
  static of(context: LlamaContext): BatchScheduler | undefined {
    return schedulers.get(context);
  }

  /** Registers this scheduler as `context`'s (created with `batching: this.batching`). */
  attach(context: LlamaContext): void {
    schedulers.set(context, this);
  }

  /** Sequences generating now. */
  get members(): number {
    return this.#members.size;
  }

  /** `sequence` starts generating: from its second token on, it steps with the others. */
  join(sequence: LlamaContextSequence): StepMember {
    const member: Member = { order: sequenceId(sequence) ?? this.#joined, waiting: false, left: false, resolve: undefined };
    this.#joined++;
    this.#members.add(member);
    this.#running++;
    return { step: () => this.#step(member), leave: () => this.#leave(member) };
  }

  #step(member: Member): Promise<void> | undefined {
    if (member.left || this.#members.size === 1) return undefined;
    const turn = new Promise<void>((resolve) => (member.resolve = resolve));
    member.waiting = true;
    this.#waiting.push(member);
    this.#running--;
    // The last to arrive is released with the others, one microtask later: by then it awaits its
    // turn like them, so all resume (and queue their tokens) in sequence id order.
    if (this.#running === 0) queueMicrotask(this.#releaseAll);
    else if (this.#waiting.length === 1) this.#arm();
    return turn;
  }

  readonly #releaseAll = (): void => this.#release();

  #leave(member: Member): void {
    if (member.left) return;
    member.left = true;
    this.#members.delete(member);
    if (member.waiting) {
      // It stopped waiting from outside (never in Parley's loop): let it go, it asks for nothing.
      this.#waiting.splice(this.#waiting.indexOf(member), 1);
      member.waiting = false;
      member.resolve?.();
      member.resolve = undefined;
    } else {
      this.#running--;
    }
    if (this.#running === 0 && this.#waiting.length > 0) this.#release();
  }

  /** Lets every waiting member go, lowest sequence id first. */
  #release(): void {
    if (this.#waiting.length === 0) return;
    const released = this.#waiting;
    this.#waiting = this.#spare;
    this.#spare = released;
    this.#round++;
    if (released.length > 1) released.sort(byOrder);
    this.#running += released.length;
    for (const member of released) {
      member.waiting = false;
      const resolve = member.resolve;
      member.resolve = undefined;
      resolve?.();
    }
    released.length = 0;
  }

  /** Bounds the wait of the round that just began. One timer, re-armed, for all rounds. */
  #arm(): void {
    this.#armedRound = this.#round;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        if (this.#round === this.#armedRound && this.#waiting.length > 0) this.#release();
      }, this.#maxWaitMs);
    } else {
      this.#timer.refresh();
    }
  }

  /**
   * When a queued token is the only one to expect (a single generating sequence), its batch is
   * dispatched at once, so the decode starts before the event loop turns to the token's delivery
   * (which AsyncQueue defers to the next turn): streaming runs beside the decode, not before it.
   * Otherwise node-llama-cpp's "nextCycle", by which time the lock step queued every token.
   */
  readonly #dispatchSchedule = (dispatch: () => void): void => {
    if (this.#members.size === 1) dispatch();
    else setImmediate(dispatch);
  };

  /**
   * Like node-llama-cpp's default "maximumParallelism" (every queued item an equal share of the
   * batch, so each generating sequence's token and a part of each pending prompt go in), but what
   * is left goes to the items in queue order (the oldest prompt first) rather than spread evenly.
   * Records each batch. node-llama-cpp does not export its strategies, hence this one.
   */
  readonly #prioritize: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
    const share = Math.max(1, Math.floor(size / Math.max(1, items.length)));
    let left = size;
    const chosen = [];
    for (const item of items) {
      const processAmount = Math.min(item.tokens.length, share, left);
      if (processAmount <= 0) break;
      left -= processAmount;
      chosen.push({ item, processAmount });
    }
    let tokens = size - left;
    for (const entry of chosen) {
      if (left === 0) break;
      const more = Math.min(entry.item.tokens.length - entry.processAmount, left);
      entry.processAmount += more;
      left -= more;
      tokens += more;
    }
    this.stats.record(chosen.length, tokens);
    return chosen;
  };
}

function byOrder(a: Member, b: Member): number {
  return a.order - b.order;
}

/**
 * llama.cpp's id of a sequence, which decides how a batch is split (see above). node-llama-cpp
 * keeps it internal (`_sequenceId`, version pinned); without it members step in join order.
 */
function sequenceId(sequence: LlamaContextSequence): number | undefined {
  const id: unknown = (sequence as unknown as { readonly _sequenceId?: unknown })._sequenceId;
  return typeof id === "number" ? id : undefined;
}
