/**
 * Default CPU thread count for evaluation, chosen from measurements (README, "Threads").
 *
 * node-llama-cpp's prebuilt CPU binaries are built without OpenMP and attach no persistent ggml
 * threadpool, so every decode step with N threads creates N−1 fresh OS threads, runs the graph with
 * busy-waiting barriers between operations, and joins them again (strace: one `clone3` per token
 * at 2 threads). On the 2-core VM this project is developed on, creating and scheduling those
 * threads costs milliseconds per token — more than a small model's whole step — and with more
 * threads than cores the spinning barriers stall until the OS preempts a spinner: 2 threads were
 * ~20× slower than 1 on the test model and 1.6× slower on a 55 MB model; 4 threads ~300×.
 * llama.cpp's own server is not hurt because its threads persist across steps.
 *
 * Hence: 1 thread up to 2 cores; beyond that, all cores but one (which stays free for Node's event
 * loop and the libuv thread driving the decode), where a larger model's compute outweighs the
 * per-step thread cost. `--threads` overrides.
 */

/** @param cores the machine's math cores (node-llama-cpp's `llama.cpuMathCores`). */
export function defaultThreads(cores: number): number {
  return cores <= 2 ? 1 : cores - 1;
}
