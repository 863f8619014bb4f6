/**
 * The engines a server runs: one LlamaEngine per local model (each with its own ModelHost: its
 * weights plus ctxSize × parallel of KV cache, so memory adds up model by model) and one upstream
 * engine per upstream model. Local models load one after the other in the background (bounding the
 * peak memory and CPU of loading); each engine answers 503 until its model is loaded.
 */
import type { LocalModelSpec, ModelSpec } from "./config/config-file.ts";
import type { Config } from "./config/config.ts";
import { LlamaEngine } from "./engines/llama/engine.ts";
import { loadModelHost, readChatTemplateFile, type ModelHost } from "./engines/llama/model-host.ts";
import { resolveModelSource } from "./engines/llama/model-source.ts";
import type { ChatEngine } from "./engines/types.ts";
import { UpstreamEngine } from "./engines/upstream/engine.ts";
import { ensureTestModel } from "./testing/test-model.ts";
import type { Logger } from "./util/logger.ts";

/** The source the built-in test model stands for in a LocalModelSpec. */
export const TEST_MODEL_SOURCE = "";

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
  /** Starts loading (local models; a no-op for upstream ones); resolves with the loaded host, if any. */
  load(): Promise<ModelHost | undefined>;
}

/** Builds the engines (nothing is loaded yet). `config` gives the defaults local models fall back on. */
export function buildModels(config: Config, specs: readonly ModelSpec[], logger: () => Logger): BuiltModel[] {
  const built: BuiltModel[] = [];
  for (const spec of specs) {
    if (spec.kind === "upstream") {
      // The server's queue rules apply to upstream models too (their own settings win).
      const engine = new UpstreamEngine({ maxQueue: config.queueSize, queueTimeoutMs: config.queueTimeout * 1000, ...spec.options }, { logger });
      built.push({ spec, engine, load: async () => undefined });
      continue;
    }
    let resolveHost: (host: ModelHost) => void = () => undefined;
    let rejectHost: (error: unknown) => void = () => undefined;
    const host = new Promise<ModelHost>((resolve, reject) => {
      resolveHost = resolve;
      rejectHost = reject;
    });
    host.catch(() => undefined); // reported through load()
    const engine = new LlamaEngine({
      modelId: spec.id,
      host,
      maxQueue: config.queueSize,
      queueTimeoutMs: config.queueTimeout * 1000,
      requestTimeoutMs: config.requestTimeout * 1000,
      stepTimeoutMs: config.stepTimeout * 1000,
      limits: config.limit,
      reasoning: { reasoningFormat: config.reasoningFormat, reasoningBudget: config.reasoningBudget },
      logger,
      ...(config.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: config.defaultMaxTokens }),
    });
    let loading: Promise<ModelHost> | undefined;
    built.push({
      spec,
      engine,
      load: () => {
        loading ??= loadLocalModel(config, spec, logger());
        loading.then(resolveHost, rejectHost);
        return loading;
      },
    });
  }
  return built;
}

/** Resolves the model file (downloading it if needed) and loads it; the model's settings win over the flags'. */
async function loadLocalModel(config: Config, spec: LocalModelSpec, logger: Logger): Promise<ModelHost> {
  const cache = config.cacheDir === undefined ? {} : { cacheDir: config.cacheDir };
  const modelPath = spec.source === TEST_MODEL_SOURCE ? await ensureTestModel(cache) : (await resolveModelSource(spec.source, { ...cache, showProgress: true })).path;
  const chatTemplate = spec.chatTemplateFile === undefined ? undefined : await readChatTemplateFile(spec.chatTemplateFile);
  const ctxSize = spec.ctxSize ?? config.ctxSize;
  const threads = spec.threads ?? config.threads;
  const batchSize = spec.batchSize ?? config.batchSize;
  return loadModelHost({
    modelPath,
    parallel: spec.parallel ?? config.parallel,
    verbose: config.verbose,
    adapters: spec.lora,
    logger,
    ...(threads === undefined ? {} : { threads }),
    ...(ctxSize === undefined ? {} : { contextSize: ctxSize }),
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
  });
}

/** Alias → id for the router; aliases an engine already lists itself are left to it. */
export function routerAliases(models: readonly BuiltModel[]): Map<string, string> {
  const listed = new Set(models.flatMap((m) => m.engine.listModels().map((info) => info.id)));
  const aliases = new Map<string, string>();
  for (const { spec } of models) for (const alias of spec.aliases) if (!listed.has(alias)) aliases.set(alias, spec.id);
  return aliases;
}
