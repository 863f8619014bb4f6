/**
 * Background responses while they run (`background: true`): each run's stream events, recorded
 * in memory for those who follow it live (the POST that started it with `stream: true`, or a
 * `GET /v1/responses/{id}?stream=true` that resumes it) and in the store for replay once the run
 * is over; and its abort controller, for `POST /v1/responses/{id}/cancel` and shutdown.
 */
import { DONE, type SseFrame } from "../http/sse.ts";
import type { ResponseStore } from "./store.ts";

/** A stream event with its place: `sequence` is what `starting_after` counts. */
export interface RecordedFrame {
  readonly sequence: number;
  readonly frame: SseFrame;
}

/** Why a background run stopped early: a client cancelled it. */
export class ResponseCancelled extends Error {
  constructor() {
    super("response cancelled");
    this.name = "ResponseCancelled";
  }
}

/** The `sequence_number` of a frame; the end-of-stream sentinel always follows everything. */
function sequenceOf(frame: SseFrame, previous: number): number {
  if (frame === DONE) return Number.MAX_SAFE_INTEGER;
  const data = frame.data as { sequence_number?: unknown } | null;
  return typeof data?.sequence_number === "number" ? data.sequence_number : previous;
}

export class BackgroundRun {
  readonly id: string;
  readonly owner: string;
  readonly controller = new AbortController();
  readonly #frames: RecordedFrame[] = [];
  readonly #store: ResponseStore;
  #wake: (() => void)[] = [];
  #ended = false;
  #storeFailed = false;
  readonly #onStoreError: (error: unknown) => void;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  /** `onStoreError`: told once when the store fails to keep the run's events (default: nothing). */
  constructor(id: string, owner: string, store: ResponseStore, onStoreError: (error: unknown) => void = () => undefined) {
    this.id = id;
    this.owner = owner;
    this.#store = store;
    this.#onStoreError = onStoreError;
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** Resolves once the run has ended and its final state is stored. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Records frames (in memory, then in the store) and wakes the followers. A store that fails
   * does not stop the run: its live followers still get every frame; the failure is reported once
   * (`onStoreError`) and later frames are not written (a replay from the store would have a gap).
   */
  record(frames: readonly SseFrame[]): void {
    const from = this.#frames.length;
    for (const frame of frames) {
      const previous = this.#frames.at(-1)?.sequence ?? -1;
      this.#frames.push({ sequence: sequenceOf(frame, previous), frame });
    }
    this.#notify();
    if (this.#storeFailed) return;
    try {
      this.#frames
        .slice(from)
        .forEach(({ sequence, frame }, i) =>
          this.#store.appendEvent(this.id, { position: from + i, sequence, event: frame === DONE ? undefined : frame.event, data: frame === DONE ? DONE : frame.data }),
        );
    } catch (error) {
      this.#storeFailed = true;
      this.#onStoreError(error);
    }
  }

  /** The run is over: followers get what is left, then their streams end. */
  end(): void {
    this.#ended = true;
    this.#notify();
    this.#resolveDone();
  }

  /** Every frame after sequence number `after`, live: waits for new ones until the run ends. */
  async *follow(after: number): AsyncGenerator<SseFrame> {
    let next = 0;
    for (;;) {
      while (next < this.#frames.length) {
        const recorded = this.#frames[next++];
        if (recorded !== undefined && recorded.sequence > after) yield recorded.frame;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const resolve of wake) resolve();
  }
}

/** The runs in progress, by response id. */
export class BackgroundRuns {
  readonly #runs = new Map<string, BackgroundRun>();
  readonly #store: ResponseStore;

  constructor(store: ResponseStore) {
    this.#store = store;
  }

  /** A new run, registered until `run.end()`. */
  start(id: string, owner: string, onStoreError?: (error: unknown) => void): BackgroundRun {
    const run = new BackgroundRun(id, owner, this.#store, onStoreError);
    this.#runs.set(id, run);
    void run.done.then(() => this.#runs.delete(id));
    return run;
  }

  /** The live run of `id` when `owner` owns it. */
  get(id: string, owner: string): BackgroundRun | undefined {
    const run = this.#runs.get(id);
    return run?.owner === owner ? run : undefined;
  }

  /** Cancels `id`'s run; resolves once its final state is stored. */
  async cancel(run: BackgroundRun): Promise<void> {
    if (!run.cancelled) run.controller.abort(new ResponseCancelled());
    await run.done;
  }

  /** Stops every run (shutdown) and waits until they have stored their end. */
  async close(): Promise<void> {
    await Promise.all([...this.#runs.values()].map((run) => this.cancel(run)));
  }
}
