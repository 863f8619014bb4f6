// The worker side of task-worker.ts (a thread or a child process): registers the TypeScript
// loader (tsx) here, loads the task module, runs its `init` once, then serves `handle` through
// workerpool.
import { isMainThread, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";
import workerpool from "workerpool";

register();
const setup = JSON.parse(isMainThread ? process.argv[2] : workerData);
const task = await import(setup.module);
if (typeof task.init === "function") await task.init(setup.init);
/** workerpool keeps only an error's top-level fields: a ParleyError's travel as JSON text. */
async function handle(input) {
  try {
    return await task.handle(input);
  } catch (error) {
    if (error?.name !== "ParleyError") throw error;
    const { kind, param, code, issues, retryAfter } = error;
    throw Object.assign(new Error(error.message), { name: "ParleyError", parley: JSON.stringify({ kind, param, code, issues, retryAfter }) });
  }
}

workerpool.worker({ handle });
