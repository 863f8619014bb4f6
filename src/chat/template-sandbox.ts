/**
 * Renders untrusted Jinja templates (the per-request `chat_template` field) in a child process, so
 * that a template that loops for ever or allocates without bound cannot block or kill the server:
 * each render has a time limit (the process is killed when it runs over) and the process has a
 * heap limit (V8 aborts it when it runs out). Either way the request fails with a
 * {@link TemplateSandboxError} and the next render gets a fresh process.
 *
 * A child process rather than a worker thread because a worker's `resourceLimits` do not contain
 * every out-of-memory: one large allocation near the limit aborts the whole process
 * (nodejs/node#47224, reproduced here with `range(10**9)` and a 64 MiB limit), and
 * `--max-old-space-size` in NODE_OPTIONS silently overrides them (nodejs/node#43991).
 *
 * One process, started on first use, renders one request at a time; others wait in a queue
 * (renders take well under a millisecond, so a pool would buy nothing). It parses each distinct
 * template once and keeps the last 16 parsed. While idle it does not keep this process alive, and
 * it is killed when this process exits.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface TemplateSandboxOptions {
  /** Longest one render may run, in ms, once the process has it (default 2000). */
  readonly timeoutMs?: number;
  /** Heap limit of the process (V8's `--max-old-space-size`), in MiB (default 256). */
  readonly maxOldGenerationSizeMb?: number;
  /** Longest output accepted, in UTF-16 code units (default 4,000,000). */
  readonly maxOutputChars?: number;
  /** Renders that may wait behind the running one before new ones are refused as "busy" (default 16). */
  readonly maxQueue?: number;
}

export type TemplateSandboxErrorKind =
  | "syntax" // the template does not parse
  | "render" // it failed while rendering (unknown filter, `raise_exception(...)`, ...)
  | "timeout" // it ran longer than `timeoutMs`
  | "resources" // it ran out of memory, stack, or V8's string/array length limits
  | "output_too_large" // its output is longer than `maxOutputChars`
  | "busy" // `maxQueue` renders are already waiting
  | "internal"; // the sandbox itself failed: closed, process would not start, context not cloneable

export class TemplateSandboxError extends Error {
  readonly kind: TemplateSandboxErrorKind;

  constructor(kind: TemplateSandboxErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TemplateSandboxError";
    this.kind = kind;
  }
}

export const DEFAULT_TEMPLATE_TIMEOUT_MS = 2000;
export const DEFAULT_TEMPLATE_MAX_OLD_GENERATION_MB = 256;
export const DEFAULT_TEMPLATE_MAX_OUTPUT_CHARS = 4_000_000;

/** How long a new process may take to start and load the Jinja library before it counts as broken. */
const STARTUP_TIMEOUT_MS = 15_000;

const WORKER_PATH = fileURLToPath(new URL("./template-worker.js", import.meta.url));
/** The tsx ESM loader, resolved from here so that the fork finds it whatever its working directory. */
const TSX_LOADER = import.meta.resolve("tsx/esm");

interface Job {
  readonly id: number;
  readonly source: string;
  readonly context: Record<string, unknown>;
  readonly resolve: (output: string) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** What the process sends back (see template-worker.js). */
type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "result"; readonly id: number; readonly ok: true; readonly output: string }
  | { readonly type: "result"; readonly id: number; readonly ok: false; readonly kind: TemplateSandboxErrorKind; readonly message: string };

export class TemplateSandbox {
  readonly #timeoutMs: number;
  readonly #maxOldGenerationSizeMb: number;
  readonly #maxOutputChars: number;
  readonly #maxQueue: number;
  readonly #queue: Job[] = [];
  #running: Job | undefined;
  #child: ChildProcess | undefined;
  #ready = false;
  #startupTimer: NodeJS.Timeout | undefined;
  #killOnExit: (() => void) | undefined;
  #closed = false;
  #nextId = 1;

  constructor(options: TemplateSandboxOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TEMPLATE_TIMEOUT_MS;
    this.#maxOldGenerationSizeMb = options.maxOldGenerationSizeMb ?? DEFAULT_TEMPLATE_MAX_OLD_GENERATION_MB;
    this.#maxOutputChars = options.maxOutputChars ?? DEFAULT_TEMPLATE_MAX_OUTPUT_CHARS;
    this.#maxQueue = options.maxQueue ?? 16;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Renders `source` with `context` (plain structured-cloneable data: what JSON has, plus `Date`s
   * and the like) in the child process. Rejects with a {@link TemplateSandboxError}, or with
   * `signal.reason` once `signal` aborts.
   */
  render(source: string, context: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
    if (this.#closed) return Promise.reject(new TemplateSandboxError("internal", "The template sandbox is closed"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length >= this.#maxQueue) return Promise.reject(new TemplateSandboxError("busy", `${this.#queue.length} template renders are already waiting`));
    return new Promise<string>((resolve, reject) => {
      const job: Job = { id: this.#nextId++, source, context, resolve, reject, signal, onAbort: undefined, timer: undefined };
      if (signal !== undefined) {
        job.onAbort = () => this.#abort(job);
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Fails every pending render and stops the process. Later renders reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const jobs = [...(this.#running === undefined ? [] : [this.#running]), ...this.#queue.splice(0)];
    this.#running = undefined;
    for (const job of jobs) this.#settle(job, new TemplateSandboxError("internal", "The template sandbox was closed"));
    await this.#discardChild(true);
  }

  /** Starts the next queued job if the process is free (starting the process if need be). */
  #pump(): void {
    if (this.#closed || this.#running !== undefined) return;
    const idle = this.#queue.length === 0;
    const child = this.#child ?? (idle ? undefined : this.#startChild());
    if (child === undefined) return;
    // Idle, the process (and its IPC channel) must not keep this one alive; busy, it must.
    if (idle) {
      child.unref();
      child.channel?.unref();
      return;
    }
    child.ref();
    child.channel?.ref();
    if (!this.#ready) return; // its "ready" message pumps again
    const job = this.#queue.shift();
    if (job === undefined) return;
    this.#running = job;
    job.timer = setTimeout(() => {
      if (this.#running !== job) return;
      this.#running = undefined;
      void this.#discardChild();
      this.#settle(job, new TemplateSandboxError("timeout", `The chat template took longer than ${this.#timeoutMs} ms to render`));
      this.#pump();
    }, this.#timeoutMs);
    try {
      child.send({ id: job.id, source: job.source, context: job.context, maxOutputChars: this.#maxOutputChars });
    } catch (error) {
      // DataCloneError: something in `context` is not plain data.
      this.#running = undefined;
      const detail = error instanceof Error ? error.message : String(error);
      this.#settle(job, new TemplateSandboxError("internal", `The template context could not be sent to the sandbox: ${detail}`, { cause: error }));
      this.#pump();
    }
  }

  #startChild(): ChildProcess {
    const child = fork(WORKER_PATH, [], {
      // Not the parent's flags (`--inspect` would clash), only the tsx ESM loader the worker needs for
      // the Jinja engine (TypeScript), and no NODE_OPTIONS, whose `--max-old-space-size` could
      // lift the heap limit.
      execArgv: ["--import", TSX_LOADER, `--max-old-space-size=${this.#maxOldGenerationSizeMb}`],
      env: { ...process.env, NODE_OPTIONS: "" },
      serialization: "advanced",
      // V8's out-of-memory report would only clutter the server's log; the exit signal says it.
      stdio: ["ignore", "ignore", "ignore", "ipc"],
    });
    this.#child = child;
    this.#ready = false;
    this.#startupTimer = setTimeout(
      () => {
        if (this.#child === child && !this.#ready) this.#childFailed(child, "internal", "The template sandbox process did not start");
      },
      Math.max(STARTUP_TIMEOUT_MS, this.#timeoutMs),
    );
    this.#startupTimer.unref();
    // A template still running when this process exits would otherwise outlive it.
    this.#killOnExit = () => child.kill("SIGKILL");
    process.once("exit", this.#killOnExit);
    // The listeners stay attached after the process is discarded (they check it is still the
    // current one): an `error` event with no listener would crash this process.
    child.on("message", (message: WorkerMessage) => {
      if (this.#child !== child) return;
      if (message.type === "ready") {
        this.#ready = true;
        clearTimeout(this.#startupTimer);
        this.#pump();
        return;
      }
      const job = this.#running;
      if (job === undefined || job.id !== message.id) return;
      this.#running = undefined;
      if (message.ok) this.#settle(job, undefined, message.output);
      else this.#settle(job, new TemplateSandboxError(message.kind, message.message));
      this.#pump();
    });
    child.on("error", (error) => {
      this.#childFailed(child, "internal", `The template sandbox process failed: ${error.message}`, error);
    });
    child.on("exit", (code, signal) => {
      // V8 aborts (SIGABRT) when the heap limit is reached.
      if (signal === "SIGABRT" || code === 134) {
        this.#childFailed(child, "resources", "The chat template used more memory than allowed");
      } else {
        this.#childFailed(child, "internal", `The template sandbox process exited unexpectedly (${signal ?? `code ${code}`})`);
      }
    });
    return child;
  }

  /** The process died or hung: fail the job it had (or, if it never started, the next one). */
  #childFailed(child: ChildProcess, kind: TemplateSandboxErrorKind, message: string, cause?: unknown): void {
    if (this.#child !== child) return;
    const wasReady = this.#ready;
    void this.#discardChild();
    const job = this.#running ?? (wasReady ? undefined : this.#queue.shift());
    this.#running = undefined;
    if (job !== undefined) this.#settle(job, new TemplateSandboxError(kind, message, cause === undefined ? undefined : { cause }));
    this.#pump();
  }

  #abort(job: Job): void {
    const reason: unknown = job.signal?.reason;
    if (this.#running === job) {
      this.#running = undefined;
      void this.#discardChild();
      this.#settle(job, reason);
      this.#pump();
      return;
    }
    const index = this.#queue.indexOf(job);
    if (index >= 0) {
      this.#queue.splice(index, 1);
      this.#settle(job, reason);
    }
  }

  /**
   * Forgets the current process and kills it; the next job starts a new one. Resolves once it is
   * gone, which only happens if `wait` keeps it referenced until then.
   */
  #discardChild(wait = false): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    this.#ready = false;
    clearTimeout(this.#startupTimer);
    this.#startupTimer = undefined;
    if (this.#killOnExit !== undefined) process.removeListener("exit", this.#killOnExit);
    this.#killOnExit = undefined;
    if (child === undefined) return Promise.resolve();
    if (wait) {
      child.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    return gone;
  }

  #settle(job: Job, error: unknown, output?: string): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    if (job.onAbort !== undefined) job.signal?.removeEventListener("abort", job.onAbort);
    job.onAbort = undefined;
    if (output !== undefined) job.resolve(output);
    else job.reject(error);
  }
}
