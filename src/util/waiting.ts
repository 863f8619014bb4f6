/**
 * Waiting on shared work without owning it: give up on a promise (when a signal aborts, or after a
 * time) while the work itself goes on for whoever else waits on it, and run a release once an
 * event stream ends however it ends.
 */

/** `events`, then `release()` once they end, fail or are abandoned. */
export async function* releasing<T>(events: AsyncIterable<T>, release: () => void): AsyncGenerator<T> {
  try {
    yield* events;
  } finally {
    release();
  }
}

/**
 * `work`, given up on (not stopped: others may share it) when `signal` aborts (its reason) or
 * after `timeoutMs` (`timeout()`; 0 or absent: no limit).
 */
export function waitFor<T>(work: Promise<T>, signal?: AbortSignal, timeoutMs = 0, timeout?: () => Error): Promise<T> {
  if (signal === undefined && timeoutMs === 0) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = timeoutMs > 0 && timeout !== undefined ? setTimeout(() => settle(() => reject(timeout())), timeoutMs) : undefined;
    const onAbort = () => settle(() => reject(signal?.reason));
    const settle = (then: () => void) => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      then();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
