/**
 * Work kept off the event loop and inside a time budget: a module's `handle(input)` runs in a
 * worker — a thread for pure JavaScript, a child process for native code that a thread could not
 * stop — one task at a time (workerpool). A task over budget fails with `TaskTimeout` and its
 * worker is terminated (the next task gets a fresh one), so no input, however large or
 * pathological, holds the server's event loop or a worker for longer than the budget. Tasks wait
 * in a bounded queue; beyond it `run` fails with `TaskQueueFull`.
 *
 * The module is TypeScript: the worker registers tsx itself (task-worker-entry.js), since the
 * loader of this process does not reach workers. It may export `init(data)`, run once per worker
 * before its first task. Errors thrown by `handle` come back with their message and fields; a
 * ParleyError is rebuilt as one.
 */
import { fileURLToPath } from "node:url";
import workerpool from "workerpool";
import { ParleyError, type ErrorKind, type FieldIssue } from "../domain/errors.ts";

export interface TaskWorkerOptions {
  /** URL of a module exporting `handle(input): output` (and optionally `init(data)`); values must be structured-cloneable. */
  readonly module: URL;
  /** Passed to the module's `init` in each new worker (default: none). */
  readonly init?: unknown;
  /** A thread (default), or a child process (for native code: it can be killed mid-call). */
  readonly isolation?: "thread" | "process";
  /** Longest one task may run once a worker has it, in ms (default 2000). */
  readonly timeoutMs?: number;
  /** Tasks that may wait behind the running one (default 32). */
  readonly maxQueue?: number;
  /**
   * Keep a worker started at all times (default false: start one on the first task): the start
   * (a few hundred ms) then does not fall on a task, and a worker killed over its budget is
   * replaced at once, before the next task comes. Its start counts against the budget of a task
   * that has to wait for it.
   */
  readonly keepWarm?: boolean;
}

export class TaskTimeout extends Error {}
export class TaskQueueFull extends Error {}

const ENTRY = fileURLToPath(new URL("./task-worker-entry.js", import.meta.url));

export class TaskWorker<I, O> {
  readonly #pool: workerpool.Pool;
  readonly #timeoutMs: number;
  readonly #maxQueue: number;
  #closed = false;

  constructor(options: TaskWorkerOptions) {
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxQueue = options.maxQueue ?? 32;
    const setup = JSON.stringify({ module: options.module.href, init: options.init ?? null });
    this.#pool = workerpool.pool(ENTRY, {
      minWorkers: options.keepWarm === true ? 1 : 0,
      maxWorkers: 1,
      workerType: options.isolation ?? "thread",
      workerThreadOpts: { workerData: setup },
      // Not this process's flags (`--test`, `--inspect`), nor NODE_OPTIONS.
      forkArgs: [setup],
      forkOpts: { execArgv: [], env: { ...process.env, NODE_OPTIONS: "" }, serialization: "advanced" },
    });
  }

  async run(input: I): Promise<O> {
    if (this.#closed) throw new Error("the task worker is closed");
    const stats = this.#pool.stats();
    if (stats.pendingTasks >= this.#maxQueue) throw new TaskQueueFull("too many tasks are waiting");
    try {
      return (await this.#pool.exec("handle", [input]).timeout(this.#timeoutMs)) as O;
    } catch (error) {
      if (error instanceof workerpool.Promise.TimeoutError) throw new TaskTimeout(`the task took longer than ${this.#timeoutMs} ms`);
      throw revive(error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.terminate(true);
  }
}

/** A ParleyError thrown in the worker arrives with its fields as JSON text (task-worker-entry.js): one again. */
function revive(error: unknown): unknown {
  const { name, message, parley } = error as { name?: unknown; message?: unknown; parley?: unknown };
  if (name !== "ParleyError" || typeof parley !== "string") return error;
  const fields = JSON.parse(parley) as { kind: ErrorKind; param: string | null; code: string | null; issues: FieldIssue[]; retryAfter?: number };
  return new ParleyError(fields.kind, String(message), {
    param: fields.param,
    code: fields.code,
    issues: fields.issues,
    ...(fields.retryAfter === undefined ? {} : { retryAfter: fields.retryAfter }),
  });
}
