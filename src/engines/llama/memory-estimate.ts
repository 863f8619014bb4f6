/**
 * What a local model takes in memory, from its GGUF, before it is loaded (`ChatEngine.estimateMemory`,
 * which the model lifecycle reads to make room under the memory budget) and once it is
 * (`ModelPlacementInfo.memory` in `/v1/models` and the start-up banner).
 *
 * Both use node-llama-cpp's GGUF insights: `estimateModelResourceRequirementsV2` for the weights
 * on the GPU layers and the rest, `estimateContextResourceRequirementsV2` for each context (KV
 * cache, compute buffers, outputs) — llama.cpp itself simulates them on the process's binding
 * where it can, node-llama-cpp's arithmetic otherwise. A chat model has its base context plus one
 * per LoRA adapter (each as large, and the adapter's file besides); an embedding model has
 * `parallel` one-sequence embedding contexts. Before loading, the GPU layers are those the
 * settings ask for (`auto` and `max`: all; none on a CPU-only binding); once loaded, those it got.
 */
import { stat } from "node:fs/promises";
import { GgufInsights, readGgufFileInfo, type Llama, type LlamaModel } from "node-llama-cpp";
import type { LoraSpec } from "../../config/lora-spec.ts";
import type { ModelPlacement } from "../../config/placement.ts";
import type { MemoryEstimate, ModelPlacementInfo } from "../types.ts";
import type { LocalModelLoad } from "./load-model.ts";
import { prepareLlama } from "./llama-runtime.ts";
import { flashAttentionOption, ggmlKvType, plannedGpuLayers } from "./placement-options.ts";

/**
 * The settings a model will load with (those of `LocalModelLoad`, whose defaults apply), for
 * `estimateModelMemory`, and its kind: a chat model has one context of `parallel` sequences (one
 * more per adapter); an embedding model has `parallel` one-sequence contexts (default 1), each as
 * large as its batch, and no adapters.
 */
export type EstimateSettings = Pick<LocalModelLoad, "contextSize" | "parallel" | "batchSize" | "adapters" | "placement" | "gpu"> & { readonly kind: "chat" | "embedding" };

/** One kind of context a model creates, and how many of it. */
export interface ContextPlan {
  readonly count: number;
  readonly contextSize: number;
  readonly sequences: number;
  readonly batchSize?: number | undefined;
  readonly embedding: boolean;
}

/** Everything an estimate is computed for. */
interface MemoryPlan {
  readonly gpuLayers: number;
  readonly useMmap?: boolean | undefined;
  readonly flashAttention: boolean | "auto";
  readonly kvCacheType: NonNullable<ModelPlacement["kvCacheType"]>;
  readonly contexts: ContextPlan;
  /** Bytes of LoRA adapter files loaded besides the weights. */
  readonly adapterBytes: number;
}

/** Reads the GGUF's header at `path` and estimates what loading it with `settings` takes. */
export async function estimateModelMemory(path: string, settings: EstimateSettings, signal?: AbortSignal): Promise<MemoryEstimate> {
  const llama = await prepareLlama(settings.gpu);
  const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false, ...(signal === undefined ? {} : { signal }) });
  signal?.throwIfAborted();
  const insights = await GgufInsights.from(info, llama);
  const placement = settings.placement ?? {};
  const adapters = settings.kind === "chat" ? (settings.adapters ?? []) : [];
  const contextSize = settings.contextSize ?? Math.min(insights.trainContextSize ?? 4096, 4096);
  const contexts: ContextPlan =
    settings.kind === "chat"
      ? { count: 1 + adapters.length, contextSize, sequences: settings.parallel ?? 4, batchSize: settings.batchSize, embedding: false }
      : { count: settings.parallel ?? 1, contextSize, sequences: 1, batchSize: contextSize, embedding: true };
  return estimate(insights, {
    gpuLayers: plannedGpuLayers(placement.gpuLayers, insights.totalLayers, llama.gpu),
    useMmap: placement.mmap,
    flashAttention: flashAttentionOption(placement.flashAttention),
    kvCacheType: placement.kvCacheType ?? "f16",
    contexts,
    adapterBytes: await fileBytes(adapters),
  });
}

/** A chat model's estimate (`LlamaEngine.estimateMemory` before it has loaded) for what `load()` will load. */
export async function estimateChatModel(model: LocalModelLoad | undefined, signal?: AbortSignal): Promise<MemoryEstimate> {
  if (model === undefined) throw new Error("this engine was given a model loaded elsewhere: there are no settings to estimate for");
  const memory = await estimateModelMemory(await model.path(signal), { ...model, kind: "chat" }, signal);
  if (model.draftModel === undefined) return memory;
  // The draft model: one context of as many sequences, as large per sequence (draft-model.ts).
  return sum(memory, await estimateModelMemory(await model.draftModel(signal), { ...model, adapters: [], kind: "chat" }, signal));
}

function sum(a: MemoryEstimate, b: MemoryEstimate): MemoryEstimate {
  return { ram: a.ram + b.ram, vram: a.vram + b.vram };
}

/**
 * What a loaded model's placement is, its memory estimated for what it got (from the insights it
 * was loaded with: no file read). `flashAttention`: its contexts' setting (`auto` is llama.cpp's
 * choice when it creates a context, which node-llama-cpp does not report: it is reported on where
 * the model supports it by node-llama-cpp's insights, as llama.cpp does on devices with the kernels).
 */
export async function placementInfo(loaded: {
  readonly model: LlamaModel;
  readonly contexts: ContextPlan;
  readonly flashAttention: boolean | "auto";
  readonly placement: ModelPlacement;
  readonly adapters?: readonly LoraSpec[];
  /** A draft model loaded beside it (draft-model.ts): its estimate is added. */
  readonly draftModelPath?: string;
}): Promise<ModelPlacementInfo> {
  const { model, placement } = loaded;
  const kvCacheType = placement.kvCacheType ?? "f16";
  const flash = loaded.flashAttention;
  const memory = await estimate(model.fileInsights, {
    gpuLayers: model.gpuLayers,
    useMmap: model.useMmap,
    flashAttention: flash,
    kvCacheType,
    contexts: loaded.contexts,
    adapterBytes: await fileBytes(loaded.adapters ?? []),
  });
  const flashAttention = flash === "auto" ? model.flashAttentionSupported : flash;
  const { contextSize, sequences } = loaded.contexts;
  const total = loaded.draftModelPath === undefined ? memory : sum(memory, await estimateModelMemory(loaded.draftModelPath, { contextSize, parallel: sequences, placement, kind: "chat" }));
  return { device: deviceOf(model.llama, model.gpuLayers), gpuLayers: model.gpuLayers, totalLayers: model.fileInsights.totalLayers, flashAttention, kvCacheType, memory: total };
}

/** `cpu`, or the GPU backend when layers are offloaded to it. */
function deviceOf(llama: Llama, gpuLayers: number): string {
  return llama.gpu === false || gpuLayers === 0 ? "cpu" : llama.gpu;
}

async function estimate(insights: GgufInsights, plan: MemoryPlan): Promise<MemoryEstimate> {
  const weights = await insights.estimateModelResourceRequirementsV2({ gpuLayers: plan.gpuLayers, ...(plan.useMmap === undefined ? {} : { useMmap: plan.useMmap }) });
  const { contexts } = plan;
  const kv = ggmlKvType(plan.kvCacheType);
  const context =
    contexts.count === 0 || contexts.contextSize === 0
      ? { cpuRam: 0, gpuVram: 0 }
      : await insights.estimateContextResourceRequirementsV2({
          contextSize: contexts.contextSize,
          modelGpuLayers: plan.gpuLayers,
          sequences: contexts.sequences,
          isEmbeddingContext: contexts.embedding,
          flashAttention: plan.flashAttention,
          kvCacheKeyType: kv,
          kvCacheValueType: kv,
          ...(contexts.batchSize === undefined ? {} : { batchSize: contexts.batchSize }),
          ...(plan.useMmap === undefined ? {} : { useMmap: plan.useMmap }),
        });
  // Adapters' tensors go where the model's layers do (all on the GPU, or none, in practice).
  const adaptersOnGpu = plan.gpuLayers > 0;
  return {
    ram: Math.round(weights.cpuRam + contexts.count * context.cpuRam + (adaptersOnGpu ? 0 : plan.adapterBytes)),
    vram: Math.round(weights.gpuVram + contexts.count * context.gpuVram + (adaptersOnGpu ? plan.adapterBytes : 0)),
  };
}

async function fileBytes(adapters: readonly LoraSpec[]): Promise<number> {
  const sizes = await Promise.all(adapters.map(async (adapter) => (await stat(adapter.path)).size));
  return sizes.reduce((sum, size) => sum + size, 0);
}

/**
 * `compute` run once, its result kept (a model's file and settings do not change); a failure is
 * not kept, so a later call tries again.
 */
export function onceEstimate(compute: (signal?: AbortSignal) => Promise<MemoryEstimate>): (signal?: AbortSignal) => Promise<MemoryEstimate> {
  let cached: Promise<MemoryEstimate> | undefined;
  return (signal) => {
    const attempt = (cached ??= compute(signal));
    attempt.catch(() => {
      if (cached === attempt) cached = undefined;
    });
    return attempt;
  };
}
