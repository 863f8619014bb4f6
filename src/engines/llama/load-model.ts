/**
 * What a local model is loaded from, and the loading itself: the GGUF's path (resolved, and
 * downloaded if needed, by the caller's `path`), its chat template override, and its context's
 * settings. The llama engine's `load()` calls `loadLocalModel` once; the engine registry
 * (engines/registry.ts) fills `LocalModelLoad` from a model spec and the server's flags.
 */
import type { LoraSpec } from "../../config/lora-spec.ts";
import type { GpuBackend, ModelPlacement } from "../../config/placement.ts";
import type { Logger } from "../../util/logger.ts";
import { loadModelHost, readChatTemplateFile, type ModelHost } from "./model-host.ts";
import type { DraftSettings } from "./drafting.ts";

export interface LocalModelLoad {
  /** Resolves the GGUF's local path (downloading it if needed); rejects with the signal's reason when aborted. */
  readonly path: (signal?: AbortSignal) => Promise<string>;
  /** A Jinja file overriding the GGUF's chat template (`--chat-template-file`; default: the GGUF's). */
  readonly chatTemplateFile?: string | undefined;
  /** Tokens of context per slot (default: the model's training context, at most 4096). */
  readonly contextSize?: number | undefined;
  /** Slots (default 4). */
  readonly parallel?: number | undefined;
  /** CPU threads (default: see threads.ts). */
  readonly threads?: number | undefined;
  /** Tokens per decode batch (default: node-llama-cpp's). */
  readonly batchSize?: number | undefined;
  /** LoRA adapters requests may select (default none). */
  readonly adapters?: readonly LoraSpec[] | undefined;
  /** Forward llama.cpp's informational messages too (default false). */
  readonly verbose?: boolean | undefined;
  /** GPU offload, flash attention, KV cache type, mlock/mmap (default: each setting's default, see config/placement.ts). */
  readonly placement?: ModelPlacement | undefined;
  /** The process's GPU backend (`--gpu`; default: the binding's, see llama-runtime.ts). */
  readonly gpu?: GpuBackend | undefined;
  /** Prompt states kept beyond the slots (default: none). */
  readonly promptCache?: PromptCacheSettings | undefined;
  /** Speculative decoding (`--draft-ngram`, `--draft-max`, `--draft-min`; default: drafting from a request's `prediction` only). */
  readonly drafting?: DraftSettings | undefined;
  /** Resolves the draft model's local path (`--draft-model`; default: none, see draft-model.ts). */
  readonly draftModel?: ((signal?: AbortSignal) => Promise<string>) | undefined;
}

/** Where a chat model keeps prompt states evicted from its slots (`--prompt-cache-ram`, `--prompt-cache-dir`). */
export interface PromptCacheSettings {
  /** Bytes of host RAM (0: no RAM cache). */
  readonly ramBytes: number;
  /** A folder where states are also kept on disk (default: none). */
  readonly dir?: string | undefined;
}

/** Resolves the model file and loads it with its context (model-host.ts). */
export async function loadLocalModel(model: LocalModelLoad, logger: Logger, signal?: AbortSignal): Promise<ModelHost> {
  const modelPath = await model.path(signal);
  const chatTemplate = model.chatTemplateFile === undefined ? undefined : await readChatTemplateFile(model.chatTemplateFile);
  const draftModelPath = await model.draftModel?.(signal);
  signal?.throwIfAborted();
  const { contextSize, parallel, threads, batchSize, adapters, verbose, placement, gpu, drafting } = model;
  return loadModelHost({
    modelPath,
    logger,
    ...(placement === undefined ? {} : { placement }),
    ...(gpu === undefined ? {} : { gpu }),
    ...(verbose === undefined ? {} : { verbose }),
    ...(adapters === undefined ? {} : { adapters }),
    ...(parallel === undefined ? {} : { parallel }),
    ...(threads === undefined ? {} : { threads }),
    ...(contextSize === undefined ? {} : { contextSize }),
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
    ...(drafting === undefined ? {} : { drafting }),
    ...(draftModelPath === undefined ? {} : { draftModelPath }),
  });
}

/** A logger that drops everything (an engine built without one). */
export const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };
