/**
 * The engines a server runs, one per model spec, each built by its kind's entry in the engine
 * registry (engines/registry.ts): a local model's engine loads its own GGUF (its weights plus
 * ctxSize × parallel of KV cache, so memory adds up model by model), an upstream's forwards.
 * Engines answer 503 until `load()` has resolved; the server loads them one after the other.
 */
import type { LocalModelSpec, ModelSpec } from "./config/config-file.ts";
import type { Config } from "./config/config.ts";
import { TEST_MODEL_SOURCE } from "./config/defaults.ts";
import { createEngine } from "./engines/registry.ts";
import type { ChatEngine } from "./engines/types.ts";
import type { Logger } from "./util/logger.ts";

export { TEST_MODEL_SOURCE };

/** The one local model of a flags-only start (`--model`, or the test model without it). */
export function modelFromFlags(config: Config, defaultId: (spec: string) => string): LocalModelSpec {
  const spec = config.model ?? "parley-test-model.gguf";
  return {
    kind: "local",
    id: config.modelAlias ?? defaultId(spec),
    aliases: [],
    source: config.model ?? TEST_MODEL_SOURCE,
    ...(config.chatTemplateFile === undefined ? {} : { chatTemplateFile: config.chatTemplateFile }),
    lora: config.lora,
  };
}

export interface BuiltModel {
  readonly spec: ModelSpec;
  readonly engine: ChatEngine;
}

/** Builds the engines (nothing is loaded yet). `config` gives the defaults local models fall back on. */
export function buildModels(config: Config, specs: readonly ModelSpec[], logger: () => Logger | undefined): BuiltModel[] {
  return specs.map((spec) => ({ spec, engine: createEngine(spec, config, { logger }) }));
}

/** Alias → id for the router. */
export function routerAliases(models: readonly BuiltModel[]): Map<string, string> {
  return new Map(models.flatMap(({ spec }) => spec.aliases.map((alias) => [alias, spec.id] as const)));
}
