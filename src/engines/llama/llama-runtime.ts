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
 */
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import type { Logger } from "../../util/logger.ts";

interface Holder {
  readonly logger: Logger;
  readonly verbose: boolean;
}

let shared: Promise<Llama> | undefined;
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

/** Starts loading the binding (GPU: auto) if nothing has yet; safe to call any number of times. */
export function prepareLlama(): Promise<Llama> {
  shared ??= getLlama({ gpu: "auto", logLevel: LlamaLogLevel.warn, logger: forward }).catch((error: unknown) => {
    shared = undefined; // let a later call try again
    throw error;
  });
  return shared;
}

/**
 * The shared binding, with llama.cpp's messages going to `logger` (debug-level ones too with
 * `verbose`) until `release()`.
 */
export async function acquireLlama(options: { readonly logger: Logger; readonly verbose?: boolean }): Promise<{ llama: Llama; release(): void }> {
  const llama = await prepareLlama();
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
