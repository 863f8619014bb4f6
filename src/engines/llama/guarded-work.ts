/**
 * Runs a choice's work on its slots (prompt batches and token steps in llama.cpp) so that nothing
 * in it can hold its request for ever: the work reports each finished step (`beat`), and
 *
 * - a step that does not finish within `stepTimeoutMs` fails the request with a 500 (through
 *   `fail`, which aborts the request's signal, so the work is told to stop too);
 * - once the request's signal aborts (client gone, shutdown, a sibling failed), the work has
 *   `abortGraceMs` to stop by itself (it checks its signal between steps, so it normally stops
 *   within one token and still reports what it generated); after that the request goes on without
 *   it.
 *
 * Work that is given up on keeps running natively until its current step ends: `settled` says
 * when, so its slots are given back only then (SequencePool.release's `until`), never while
 * llama.cpp still uses them.
 */
import { ParleyError } from "../../domain/errors.ts";

export interface GuardOptions {
  /** The request's signal: aborting it stops the work. */
  readonly signal: AbortSignal;
  /** Fails the request (aborting `signal`): called with the stall's error. */
  readonly fail: (reason: unknown) => void;
  /** Longest one step may take before the request fails, in ms (0: no limit). */
  readonly stepTimeoutMs: number;
  /** How long aborted work may take to stop before the request gives up on it, in ms (default 1000). */
  readonly abortGraceMs?: number;
}

export interface GuardedWork<T> {
  /** The work's result, or its failure, or the reason it was given up on. */
  readonly result: Promise<T>;
  /** Settles when the work itself has ended (later than `result` if it was given up on). */
  readonly settled: Promise<void>;
  /** True once the work itself has ended. */
  isSettled(): boolean;
}

/** The step timeout's error: llama.cpp did not finish one step of this request in time. */
export function stepStalled(stepTimeoutMs: number): ParleyError {
  return new ParleyError("internal", `Generation stalled: one decoding step took longer than ${stepTimeoutMs / 1000} s. The request was stopped.`, { code: "generation_stalled" });
}

/** Starts `work(beat)`, which calls `beat()` after every finished step and stops when `options.signal` aborts. */
export function guardWork<T>(work: (beat: () => void) => Promise<T>, options: GuardOptions): GuardedWork<T> {
  const { signal, stepTimeoutMs, abortGraceMs = 1000 } = options;
  let giveUp: (reason: unknown) => void = () => undefined;
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
  givenUp.catch(() => undefined);

  let stalled = false;
  let stepTimer: NodeJS.Timeout | undefined;
  const beat = () => {
    if (stepTimeoutMs <= 0 || signal.aborted) return;
    if (stepTimer === undefined) {
      stepTimer = setTimeout(() => {
        const reason = stepStalled(stepTimeoutMs);
        stalled = true;
        options.fail(reason);
        giveUp(reason);
      }, stepTimeoutMs);
    } else {
      stepTimer.refresh();
    }
  };
  let graceTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    clearTimeout(stepTimer);
    if (stalled) return; // the stall already gave up
    graceTimer = setTimeout(() => giveUp(signal.reason), abortGraceMs);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });

  let done = false;
  const finish = () => {
    // Runs before anyone awaiting `result` resumes (registered first), so isSettled() is current.
    done = true;
    clearTimeout(stepTimer);
    clearTimeout(graceTimer);
    signal.removeEventListener("abort", onAbort);
  };
  beat();
  const running = work(beat);
  const settled = running.then(finish, finish);
  return { result: Promise.race([running, givenUp]), settled, isSettled: () => done };
}
