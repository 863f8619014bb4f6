/**
 * Default CPU thread count for evaluation.
 *
 * Measured on a 2-core machine (see README "Threads"): llama.cpp's CPU threads synchronise with
 * busy-waiting between graph operations. As long as every thread has a core of its own that costs
 * nothing, but Parley's process also runs Node's event loop and libuv worker threads (the decode
 * itself runs on one of them). When compute threads outnumber the cores left free, a spinning
 * thread holds a core the thread it waits for needs, and each step stalls until the OS scheduler
 * preempts it — node-llama-cpp's default of 4 threads on 2 cores was ~100× slower than 1.
 * So Parley leaves one core for the rest of the process: physical cores − 1, at least 1.
 */
import { availableParallelism } from "node:os";

export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}
