/**
 * The process's one llama.cpp binding (node-llama-cpp's `Llama`), shared by every model host.
 *
 * `getLlama` is slow (about a second): on Linux node-llama-cpp first forks a process to check that
 * the prebuilt binary works on this machine. Sharing one binding pays that once per process, not
 * once per model, and `prepareLlama()` lets `parley serve` start it at the very beginning, so the
 * check runs in its own process while the server's modules load (bin/parley.js). llama.cpp's log
 * callback is process-wide anyway: its messages go to the logger of the host that acquired the
 * binding last (and still holds it), at the most verbose level any holder asked for.
 *
 * The binding lives as long as the process (it does not keep the event loop alive); hosts only
 * dispose their models and contexts.
 *
 * Its GPU backend is `--gpu` (`auto`: CUDA, Vulkan or Metal when one works here, else the CPU;
 * `false`: the CPU only), one for the whole process. The early start reads it from the command
 * line and `PARLEY_GPU` (bin/parley.js) and cannot see a config file's `gpu`: when a later call
 * asks for another backend before any model has taken the binding, the early one is dropped and
 * the asked one started (paying the check again); once a model holds it, asking for another backend
 * is an error, never a silent switch.
 */
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import type { GpuBackend } from "../../config/placement.ts";
import type { Logger } from "../../util/logger.ts";
import { llamaGpuOption } from "./placement-options.ts";

interface Holder {
  readonly logger: Logger;
  readonly verbose: boolean;
}

let shared: Promise<Llama> | undefined;
/** The backend `shared` was started with. */
let sharedBackend: GpuBackend = "auto";
/** Whether a model host has taken `shared` (then it is never replaced). */
let taken = false;
const holders: Holder[] = [];
/** Messages logged before any host holds the binding (e.g. while `prepareLlama` runs). */
const early: { level: LlamaLogLevel; text: string }[] = [];

function forward(level: LlamaLogLevel, message: string): void {
  const text = message.trim();
  if (text === "") return;
  const logger = holders.at(-1)?.logger;
  if (logger === undefined) {
    if (early.length < 100) early.push({ level, text });
    return;
  }
  if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error({ source: "llama.cpp" }, text);
  else if (level === LlamaLogLevel.warn) logger.warn({ source: "llama.cpp" }, text);
  else logger.debug({ source: "llama.cpp" }, text);
}

/**
 * Starts loading the binding if nothing has yet; safe to call any number of times. `gpu`: the
 * backend (default: the one already started, else `auto`). A binding started with another setting
 * serves when it resolved to the backend asked for (`auto` that found no GPU serves `false`);
 * otherwise it is restarted with `gpu` while no model holds it, and the call fails once one does.
 */
export function prepareLlama(gpu?: GpuBackend): Promise<Llama> {
  const current = shared;
  if (current === undefined) return start(gpu ?? "auto");
  if (gpu === undefined || gpu === sharedBackend) return current;
  return current.then(
    (llama) => {
      if (gpu !== "auto" && llama.gpu === llamaGpuOption(gpu)) return llama;
      if (taken) throw new Error(`the llama.cpp binding already runs with --gpu ${sharedBackend} (${llama.gpu === false ? "CPU only" : llama.gpu}); --gpu ${gpu} cannot be used in the same process`);
      if (shared === current) {
        shared = undefined;
        void llama.dispose().catch(() => undefined);
      }
      return prepareLlama(gpu);
    },
    () => (shared === undefined || shared === current ? start(gpu) : prepareLlama(gpu)),
  );
}

function start(gpu: GpuBackend): Promise<Llama> {
  sharedBackend = gpu;
  const started = getLlama({ gpu: llamaGpuOption(gpu), logLevel: LlamaLogLevel.warn, logger: forward }).catch((error: unknown) => {
    if (shared === started) shared = undefined; // let a later call try again
    throw error;
  });
  shared = started;
  return started;
}

/**
 * The shared binding, with llama.cpp's messages going to `logger` (debug-level ones too with
 * `verbose`) until `release()`; `gpu` as for `prepareLlama`.
 */
export async function acquireLlama(options: { readonly logger: Logger; readonly verbose?: boolean; readonly gpu?: GpuBackend | undefined }): Promise<{ llama: Llama; release(): void }> {
  const llama = await prepareLlama(options.gpu);
  taken = true;
  const holder: Holder = { logger: options.logger, verbose: options.verbose === true };
  holders.push(holder);
  for (const { level, text } of early.splice(0)) forward(level, text);
  applyLogLevel(llama);
  let released = false;
  return {
    llama,
    release() {
      if (released) return;
      released = true;
      holders.splice(holders.indexOf(holder), 1);
      applyLogLevel(llama);
    },
  };
}

function applyLogLevel(llama: Llama): void {
  if (llama.disposed) return;
  llama.logLevel = holders.some((h) => h.verbose) ? LlamaLogLevel.info : LlamaLogLevel.warn;
}
