/**
 * What a benchmark ran on, for its report's header: the CPU (model, cores, the SIMD extensions
 * llama.cpp's kernels choose from), the llama.cpp build node-llama-cpp loaded in this process (its
 * release, backend, and which CPU kernel variant of the prebuilt binary it picked), where Parley
 * placed the model (device, flash attention: its `/v1/models` entry), and what a peer says of its
 * build (llama-server's `/props`). A figure is only true with its machine named.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import type { GpuBackend } from "../src/config/placement.ts";
import { llamaGpuOption } from "../src/engines/llama/placement-options.ts";

/** The SIMD extensions that decide llama.cpp's CPU kernels, in the order they matter. */
const CPU_FEATURES = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"];

/** `AMD EPYC, 2 cores; avx2 avx512f …` from /proc/cpuinfo (Linux; elsewhere the core count only). */
export function cpuDescription(): string {
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return `${availableParallelism()} cores`;
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "").split(/\s+/));
  return `${model}, ${availableParallelism()} cores; ${CPU_FEATURES.filter((f) => flags.has(f)).join(" ") || "no AVX2"}`;
}

/**
 * The llama.cpp binding this process loads for `gpu`: node-llama-cpp's llama.cpp release, prebuilt
 * or built here, the backend and its devices, and the CPU kernel variant (`libggml-cpu-<variant>.so`)
 * the prebuilt binary chose for this CPU.
 */
export async function llamaBuildDescription(gpu: GpuBackend): Promise<string> {
  const llama = await getLlama({ gpu: llamaGpuOption(gpu), logLevel: LlamaLogLevel.error, logger: () => undefined });
  let variant = "unknown";
  try {
    const maps = readFileSync("/proc/self/maps", "utf8");
    variant = [...new Set(maps.match(/libggml-cpu[\w.-]*\.so/g) ?? [])].join(", ") || "built in";
  } catch {
    // not Linux
  }
  const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames();
  return `llama.cpp ${llama.llamaCppRelease.release} (${llama.buildType}) via node-llama-cpp; backend ${llama.gpu === false ? "CPU" : `${llama.gpu} (${devices.join(", ")})`}; CPU kernels ${variant}`;
}

/** Where Parley placed its model (`placement` of its first `/v1/models` entry), in words. */
export async function parleyPlacement(baseUrl: string): Promise<string> {
  try {
    const list = (await (await fetch(`${baseUrl}/v1/models`)).json()) as {
      data?: { placement?: { device?: string; gpu_layers?: number; total_layers?: number; flash_attention?: boolean; kv_cache_type?: string } }[];
    };
    const p = list.data?.[0]?.placement;
    if (p === undefined) return "placement unknown";
    return `device ${p.device}, ${p.gpu_layers}/${p.total_layers} layers on the GPU, flash attention ${p.flash_attention === true ? "on" : "off"}, KV cache ${p.kv_cache_type}`;
  } catch {
    return "placement unknown";
  }
}

/** What a llama-server peer says of itself (`/props`: its build); empty for other servers. */
export async function peerBuild(baseUrl: string): Promise<string> {
  try {
    const props = (await (await fetch(`${baseUrl}/props`)).json()) as { build_info?: string; total_slots?: number };
    if (props.build_info === undefined) return "";
    return `llama-server build ${props.build_info}, ${props.total_slots ?? "?"} slots; flash attention as it was started (-fa, default auto)`;
  } catch {
    return "";
  }
}
