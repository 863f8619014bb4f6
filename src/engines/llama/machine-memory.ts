/**
 * How much memory this machine has for local models, for the server's default memory budget
 * (`--memory-budget auto`): host RAM (`os.totalmem()`), and the GPU's memory when the process's
 * llama.cpp binding uses one (llama-runtime.ts; 0 on a CPU-only binding). Totals, not what is
 * free now: the budget is what models may take together, and the margin is the caller's.
 */
import { totalmem } from "node:os";
import type { GpuBackend } from "../../config/placement.ts";
import { prepareLlama } from "./llama-runtime.ts";

export interface MachineMemory {
  /** Bytes of host RAM. */
  readonly ram: number;
  /** Bytes of GPU memory the binding sees (0 without a GPU). */
  readonly vram: number;
  /** The binding's GPU backend (`cuda`, `vulkan`, `metal`), or false for the CPU only. */
  readonly gpu: string | false;
}

/** `gpu`: the process's backend (`--gpu`; default: the binding already started, else `auto`). */
export async function machineMemory(gpu?: GpuBackend): Promise<MachineMemory> {
  const llama = await prepareLlama(gpu);
  const vram = llama.gpu === false ? 0 : (await llama.getVramState()).total;
  return { ram: totalmem(), vram, gpu: llama.gpu };
}
