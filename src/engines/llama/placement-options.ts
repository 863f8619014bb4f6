/**
 * A model's placement settings (config/placement.ts: `--gpu-layers`, `--flash-attn`,
 * `--kv-cache-type`, `--mlock`, `--no-mmap`, and the process's `--gpu`) as node-llama-cpp's
 * options: for `getLlama`, for `llama.loadModel` and for every context a host creates. Also the
 * checks llama.cpp would otherwise fail with a bare "Failed to create context": a quantized KV
 * cache needs flash attention (for its V half) and heads whose size is a multiple of the type's
 * block (32 values for q8_0 and q4_0). Pure: the hosts (model-host.ts, embed-host.ts) and the
 * memory estimate (memory-estimate.ts) call these.
 */
import { GgmlType, type LlamaContextOptions, type LlamaModelOptions } from "node-llama-cpp";
import type { FlashAttention, GpuBackend, GpuLayers, KvCacheType, ModelPlacement } from "../../config/placement.ts";

/** The `gpu` option of `getLlama` for `--gpu`: `false` (CPU only) or a backend, `auto` trying each. */
export function llamaGpuOption(gpu: GpuBackend): "auto" | "cuda" | "vulkan" | "metal" | false {
  return gpu === "false" ? false : gpu;
}

/** node-llama-cpp's names of the KV cache types. */
const GGML_KV_TYPES: Readonly<Record<KvCacheType, "F16" | "Q8_0" | "Q4_0">> = { f16: "F16", q8_0: "Q8_0", q4_0: "Q4_0" };

/** The KV cache type as node-llama-cpp's `GgmlType` (for GgufInsights' estimates). */
export function ggmlKvType(type: KvCacheType): GgmlType {
  return GgmlType[GGML_KV_TYPES[type]];
}

/** Values per quantization block: a quantized cache's head size must be a multiple of it (llama.cpp refuses the context otherwise). */
const KV_BLOCK_SIZE: Readonly<Record<KvCacheType, number>> = { f16: 1, q8_0: 32, q4_0: 32 };

/** `--flash-attn` as node-llama-cpp's option. */
export function flashAttentionOption(setting: FlashAttention | undefined): boolean | "auto" {
  return setting === "on" ? true : setting === "off" ? false : "auto";
}

/** The options `llama.loadModel` takes from the placement (absent settings keep node-llama-cpp's defaults). */
export function modelLoadOptions(placement: ModelPlacement = {}): Partial<LlamaModelOptions> {
  const kv =
    placement.kvCacheType === undefined
      ? {}
      : { experimentalDefaultContextKvCacheKeyType: GGML_KV_TYPES[placement.kvCacheType], experimentalDefaultContextKvCacheValueType: GGML_KV_TYPES[placement.kvCacheType] };
  return {
    ...(placement.gpuLayers === undefined ? {} : { gpuLayers: placement.gpuLayers }),
    ...(placement.mmap === undefined ? {} : { useMmap: placement.mmap }),
    ...(placement.mlock === undefined ? {} : { useMlock: placement.mlock }),
    // The model's defaults are what embedding contexts get (they take no such options), and what
    // node-llama-cpp's `auto` GPU layers count with.
    defaultContextFlashAttention: flashAttentionOption(placement.flashAttention),
    ...kv,
  };
}

/** The options every context of the model is created with (LoRA adapters' too). */
export function contextPlacementOptions(placement: ModelPlacement = {}): Pick<LlamaContextOptions, "flashAttention" | "experimentalKvCacheKeyType" | "experimentalKvCacheValueType"> {
  const type = GGML_KV_TYPES[placement.kvCacheType ?? "f16"];
  return { flashAttention: flashAttentionOption(placement.flashAttention), experimentalKvCacheKeyType: type, experimentalKvCacheValueType: type };
}

/** What the KV cache checks read of a model. */
export interface KvCacheModelFacts {
  /** Whether node-llama-cpp finds flash attention usable with the model (its GGUF insights). */
  readonly flashAttentionSupported: boolean;
  /** Values per attention head of the keys and of the values (n_embd_head_k, n_embd_head_v). */
  readonly headSizeK: number;
  readonly headSizeV: number;
}

/**
 * Throws an Error naming the settings when llama.cpp could not create a context with this KV cache
 * type: a quantized V cache needs flash attention (`--flash-attn off`, or `auto` on a model without
 * it, cannot), and a quantized cache needs heads that are a multiple of its block size.
 */
export function checkKvCacheType(placement: ModelPlacement, model: KvCacheModelFacts): void {
  const type = placement.kvCacheType ?? "f16";
  if (type === "f16") return;
  const flash = placement.flashAttention ?? "auto";
  if (flash === "off") {
    throw new Error(
      `--kv-cache-type ${type} (kvCacheType) quantizes the V cache, which llama.cpp supports only with flash attention, and --flash-attn off (flashAttn) turns it off: use --flash-attn on or auto, or --kv-cache-type f16`,
    );
  }
  if (!model.flashAttentionSupported) {
    throw new Error(
      `--kv-cache-type ${type} (kvCacheType) quantizes the V cache, which llama.cpp supports only with flash attention, and this model does not support flash attention: use --kv-cache-type f16`,
    );
  }
  const block = KV_BLOCK_SIZE[type];
  for (const [half, size] of [
    ["key", model.headSizeK],
    ["value", model.headSizeV],
  ] as const) {
    if (size % block !== 0) {
      throw new Error(
        `--kv-cache-type ${type} (kvCacheType) stores the cache in blocks of ${block} values, but this model's attention heads have ${size} ${half} values each, not a multiple of ${block}: use --kv-cache-type f16`,
      );
    }
  }
}

/** The head sizes from a GGUF's architecture metadata (`attention.key_length`, else n_embd / n_head). */
export function headSizes(
  architecture:
    | { readonly embedding_length?: number; readonly attention?: { readonly head_count?: number | readonly number[]; readonly key_length?: number; readonly value_length?: number } }
    | undefined,
): { headSizeK: number; headSizeV: number } {
  const heads = architecture?.attention?.head_count;
  const headCount = Array.isArray(heads) ? Math.max(...heads) : typeof heads === "number" ? heads : 0;
  const fallback = headCount > 0 ? (architecture?.embedding_length ?? 0) / headCount : 0;
  return { headSizeK: architecture?.attention?.key_length ?? fallback, headSizeV: architecture?.attention?.value_length ?? fallback };
}

/** The GPU layers the placement asks for, on a model of `totalLayers`, with the process's binding (`gpu` false: none). */
export function plannedGpuLayers(setting: GpuLayers | undefined, totalLayers: number, gpu: string | false): number {
  if (gpu === false) return 0;
  if (setting === undefined || setting === "auto" || setting === "max") return totalLayers;
  return Math.min(setting, totalLayers);
}
