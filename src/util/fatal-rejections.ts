/**
 * What the server does with a promise rejection nobody handled: it treats it as the bug it is.
 * It logs the reason with its stack, closes the server gracefully (running requests get the
 * shutdown grace; a bounded wait), and exits with status 1, so a supervisor restarts a process
 * whose state can no longer be trusted (a slot, a lock or a queue the failed code held may never
 * be given back). This is Node's own default (`--unhandled-rejections=throw`), plus the log line
 * and the graceful close.
 *
 * Expected failures are handled where they arise, never here: llama.cpp's sampler errors are
 * caught per sequence (engines/llama/decode-guard.ts); aborted and failed generations end their
 * request's event stream with the error (the engines' queues); a client that leaves is a 499. The
 * test suite runs every HTTP test in-process under `node:test`, which fails any test during which
 * an unhandled rejection occurs, so those paths are known to leave none.
 */

export interface FatalRejectionOptions {
  /** Logs the rejection (the reason, with its stack when it is an Error). */
  readonly log: (reason: unknown) => void;
  /** Closes the server gracefully. */
  readonly close: () => Promise<void>;
  /** The longest wait for `close`, in ms, before exiting anyway (default 30 000). */
  readonly closeTimeoutMs?: number;
  /** Ends the process (default `process.exit`). */
  readonly exit?: (code: number) => void;
  /** Where rejections are reported (default `process`). */
  readonly target?: { on(event: "unhandledRejection", listener: (reason: unknown) => void): unknown };
}

/** Exit status after an unhandled rejection. */
export const UNHANDLED_REJECTION_EXIT_CODE = 1;

/**
 * Installs the handler. The first rejection starts the close; later ones (a failing close, say)
 * are logged and do not start another.
 */
export function exitOnUnhandledRejection(options: FatalRejectionOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.closeTimeoutMs ?? 30_000;
  let exiting = false;
  (options.target ?? process).on("unhandledRejection", (reason) => {
    options.log(reason);
    if (exiting) return;
    exiting = true;
    // Not unref'd: a close that hangs with nothing else pending must still end in exit(1), not 0.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const closed = options.close().catch((error: unknown) => options.log(error));
    void Promise.race([closed, deadline]).then(() => {
      clearTimeout(timer);
      exit(UNHANDLED_REJECTION_EXIT_CODE);
    });
  });
}
