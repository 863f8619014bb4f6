/**
 * Where and how a local model's weights and KV cache are placed: GPU offload, flash attention, the
 * KV cache's type, mlock/mmap (per model in the config file, flags for every model), and the
 * memory budget that lazily loaded models share (`--memory-budget`).
 */
import { parseByteSize } from "./byte-size.ts";

/** Layers offloaded to the GPU: `auto` (as many as fit, node-llama-cpp's choice), `max` (all), or a count (0: none). */
export type GpuLayers = "auto" | "max" | number;

export const FLASH_ATTENTION = ["on", "off", "auto"] as const;
export const KV_CACHE_TYPES = ["f16", "q8_0", "q4_0"] as const;
export const GPU_BACKENDS = ["auto", "cuda", "vulkan", "metal", "false"] as const;

export type FlashAttention = (typeof FLASH_ATTENTION)[number];
export type KvCacheType = (typeof KV_CACHE_TYPES)[number];
export type GpuBackend = (typeof GPU_BACKENDS)[number];

/** A local model's placement settings; each absent one keeps its default. */
export interface ModelPlacement {
  /** Default `auto`. */
  readonly gpuLayers?: GpuLayers;
  /** Default `auto` (on where the backend supports it for the model). */
  readonly flashAttention?: FlashAttention;
  /** Type of the KV cache's keys and values (default `f16`). */
  readonly kvCacheType?: KvCacheType;
  /** Lock the weights in RAM so they are never swapped out (default false). */
  readonly mlock?: boolean;
  /** Map the file rather than read it (default true where supported). */
  readonly mmap?: boolean;
}

/** `auto`, `max`, or a non-negative integer; throws an Error otherwise. */
export function parseGpuLayers(value: string | number): GpuLayers {
  if (value === "auto" || value === "max") return value;
  const n = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`expected auto, max or a number of layers (0: none), got "${value}"`);
  return n;
}

/**
 * Memory lazily loaded models may take together, in bytes. `device`: one size for the memory
 * models are placed in (VRAM when the process uses a GPU, RAM otherwise); `ram`/`vram`: each on
 * its own. Absent sizes default to what the machine has, less a margin (server.ts).
 */
export interface MemoryBudget {
  readonly device?: number;
  readonly ram?: number;
  readonly vram?: number;
}

/** `auto`, a size (`20GiB`), or `ram=<size>,vram=<size>` (either or both); throws an Error otherwise. */
export function parseMemoryBudget(text: string): MemoryBudget {
  if (text.trim() === "auto") return {};
  if (!text.includes("=")) return { device: parseByteSize(text) };
  const budget: { ram?: number; vram?: number } = {};
  for (const part of text.split(",")) {
    const [key, value] = part.split("=").map((s) => s.trim());
    if ((key !== "ram" && key !== "vram") || value === undefined || value === "") throw new Error(`expected auto, a size, or ram=<size>,vram=<size>; got "${part}"`);
    budget[key] = parseByteSize(value);
  }
  return budget;
}
