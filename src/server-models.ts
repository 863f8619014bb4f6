/**
 * The engines a server runs, one per model spec, each built by its kind's entry in the engine
 * registry (engines/registry.ts). A local model's engine is wrapped in a ManagedModel (router/
 * managed-model.ts), which builds and loads it on demand and unloads it when idle or to make room
 * in the shared ModelPool; an upstream's engine forwards and is used as it is.
 */
import { totalmem } from "node:os";
import type { LocalModelSpec, ModelSpec } from "./config/config-file.ts";
import type { Config } from "./config/config.ts";
import { TEST_MODEL_SOURCE } from "./config/defaults.ts";
import { modelsInDir } from "./config/models-dir.ts";
import type { MemoryBudget } from "./config/placement.ts";
import { UNLOADED_LOCAL_CAPABILITIES } from "./engines/llama/capabilities.ts";
import { createEngine } from "./engines/registry.ts";
import type { ChatEngine } from "./engines/types.ts";
import { ManagedModel } from "./router/managed-model.ts";
import type { ModelPool, PoolBudget } from "./router/model-pool.ts";
import type { Logger } from "./util/logger.ts";

export { TEST_MODEL_SOURCE };

/** The one local model of a flags-only start (`--model`, or the test model without it): loaded at start. */
export function modelFromFlags(config: Config, defaultId: (spec: string) => string): LocalModelSpec {
  const spec = config.model ?? "parley-test-model.gguf";
  return {
    kind: "local",
    id: config.modelAlias ?? defaultId(spec),
    aliases: [],
    source: config.model ?? TEST_MODEL_SOURCE,
    ...(config.chatTemplateFile === undefined ? {} : { chatTemplateFile: config.chatTemplateFile }),
    ...(config.draftModel === undefined ? {} : { draftModel: config.draftModel }),
    lora: config.lora,
    lifecycle: { preload: true },
  };
}

/**
 * Every model the server offers: the config file's (or the flags' one model), then the
 * `--models-dir` files whose names no model or alias already takes. With `--models-dir` and
 * neither `--model` nor a config file, only the folder's models.
 */
export function modelSpecs(config: Config, fileModels: readonly ModelSpec[] | undefined, defaultId: (spec: string) => string): ModelSpec[] {
  const dirModels = config.modelsDir === undefined ? [] : modelsInDir(config.modelsDir);
  const named = fileModels ?? (config.model === undefined && dirModels.length > 0 ? [] : [modelFromFlags(config, defaultId)]);
  const taken = new Set(named.flatMap((spec) => [spec.id, ...spec.aliases]));
  return [...named, ...dirModels.filter((spec) => !taken.has(spec.id))];
}

export interface BuiltModel {
  readonly spec: ModelSpec;
  readonly engine: ChatEngine;
}

/** Builds the engines (nothing is loaded yet). `config` gives the defaults local models fall back on. */
export function buildModels(config: Config, specs: readonly ModelSpec[], logger: () => Logger | undefined, pool: ModelPool): BuiltModel[] {
  return specs.map((spec) => {
    if (spec.kind !== "local") return { spec, engine: createEngine(spec, config, { logger }) };
    const { ttl, pin, preload } = spec.lifecycle ?? {};
    const engine: ManagedModel = new ManagedModel({
      id: spec.id,
      create: () => createEngine(spec, config, { logger, onDownload: (progress) => engine.reportDownload(progress) }),
      pendingCapabilities: UNLOADED_LOCAL_CAPABILITIES,
      pool,
      ...(ttl === undefined ? {} : { ttlS: ttl }),
      ...(pin === undefined ? {} : { pin }),
      ...(preload === undefined ? {} : { preload }),
    });
    return { spec, engine };
  });
}

/** Alias → id for the router. */
export function routerAliases(models: readonly BuiltModel[]): Map<string, string> {
  return new Map(models.flatMap(({ spec }) => spec.aliases.map((alias) => [alias, spec.id] as const)));
}

/** What the machine has, for the default budget. */
export interface MachineMemory {
  readonly ram: number;
  /** Total GPU memory; 0 without a GPU. */
  readonly vram: number;
}

/**
 * The pool's budget: `--memory-budget`'s sizes, the rest from the machine less a margin (RAM: 10%,
 * at least 1 GiB, for the OS and Parley itself; VRAM: 5%, at least 512 MiB, for the compute
 * buffers' estimate error). A single size (`device`) is the VRAM's with a GPU, the RAM's without.
 */
export function poolBudget(budget: MemoryBudget, machine: MachineMemory = { ram: totalmem(), vram: 0 }): PoolBudget {
  const gpu = machine.vram > 0;
  const ram = budget.ram ?? (!gpu ? budget.device : undefined) ?? Math.max(0, machine.ram - Math.max(2 ** 30, machine.ram * 0.1));
  const vram = budget.vram ?? (gpu ? budget.device : undefined) ?? (gpu ? Math.max(0, machine.vram - Math.max(2 ** 29, machine.vram * 0.05)) : undefined);
  return vram === undefined ? { ram } : { ram, vram };
}
