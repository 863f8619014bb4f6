/**
 * Starts Parley: listens at once (health answers 503 while models load), resolves and loads the
 * models in the background, and shuts down gracefully on SIGINT/SIGTERM. Without a config file it
 * serves one local model (`--model`, or the built-in test model); with one (config-file.ts), every
 * model of its `models:` list (local and upstream) behind one Router, with the file's keys.
 */
import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import type { ConfigFile, ModelSpec } from "./config/config-file.ts";
import type { ChatEngine } from "./engines/types.ts";
import type { Config } from "./config/config.ts";
import { RequestLog } from "./http/request-log.ts";
import { closeResponsesState, openResponsesState } from "./responses-store/open.ts";
import { Router } from "./router/router.ts";
import { machineMemory } from "./engines/llama/machine-memory.ts";
import { ManagedModel } from "./router/managed-model.ts";
import { ModelPool } from "./router/model-pool.ts";
import { buildModels, modelSpecs, poolBudget, routerAliases, TEST_MODEL_SOURCE } from "./server-models.ts";

export interface RunningServer {
  /** True when no --model (and no config file) was given and the built-in test model is served. */
  readonly usingTestModel: boolean;
  readonly app: FastifyInstance;
  readonly router: Router;
  /** The request log (`--request-log`), if configured. */
  readonly requestLog: RequestLog | undefined;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** Resolves once every local model is loaded, or loading stopped because the server closed (rejects if one fails to load). */
  readonly ready: Promise<void>;
  /** Graceful shutdown: stop accepting, let running requests finish (bounded), free the models. */
  close(): Promise<void>;
}

/** The model id clients send by default: the file's base name without `.gguf`. */
export function defaultModelId(spec: string): string {
  const withoutQuery = spec.replace(/[?#].*$/, "");
  return basename(withoutQuery).replace(/\.gguf$/i, "");
}

/**
 * `config`: flags and env (merged with the file's `server:` settings, see loadServeConfig);
 * `file`: the config file, if any (its models replace the flags' single model).
 */
export async function startServer(config: Config, file?: ConfigFile): Promise<RunningServer> {
  if (file === undefined && config.config !== undefined) throw new Error("startServer: --config was given; load it with loadServeConfig and pass the file");
  const specs = modelSpecs(config, file?.models, defaultModelId);
  const usingTestModel = specs.some((spec) => spec.kind === "local" && spec.source === TEST_MODEL_SOURCE);

  let app: FastifyInstance | undefined;
  const pool = new ModelPool({
    // The machine is measured while the server starts (the GPU's memory needs the llama.cpp binding).
    budget: specs.some((spec) => spec.kind === "local")
      ? machineMemory(config.gpu).then(
          (machine) => poolBudget(config.memoryBudget, machine),
          () => poolBudget(config.memoryBudget),
        )
      : {},
    ...(config.maxLoadedModels === undefined ? {} : { maxLoaded: config.maxLoadedModels }),
    idleTtlS: config.idleTtl,
    waitMs: config.queueTimeout * 1000,
    unloadGraceMs: config.shutdownTimeout * 1000,
  });
  const models = buildModels(config, specs, () => app?.log, pool); // engines log once the app exists
  const router = new Router(
    models.map((m) => m.engine),
    { aliases: routerAliases(models), pool },
  );
  const requestLog = config.requestLog === undefined ? undefined : new RequestLog({ path: config.requestLog });
  const responses = openResponsesState(config);
  const keys = [...config.apiKey, ...(file?.keys ?? [])];
  const adminKey = config.adminKey ?? file?.adminKey;
  app = buildApp({
    router,
    bodyLimit: config.bodyLimit,
    validationStatus: config.validationStatus,
    logger: { level: config.verbose ? "debug" : config.logLevel },
    ...(requestLog === undefined ? {} : { requestLog }),
    ...(responses === undefined ? {} : { responses }),
    keys,
    limits: config.limit,
    reasoningField: config.reasoningField,
    ...(config.corsOrigins === undefined ? {} : { corsOrigins: config.corsOrigins }),
    ...(adminKey === undefined ? {} : { adminKey }),
  });
  const listening = app;
  const url = await listening.listen({ host: config.host, port: config.port });
  if (usingTestModel) listening.log.warn("serving the built-in random-weight TEST model (pass --model <gguf> to serve a real one)");

  // Each local model's banner once it has loaded (at start or on demand), and its unloads.
  const stopLogging = pool.listen((event) => {
    const model = models.find((m) => m.spec.id === event.model);
    if (event.type === "loaded" && model !== undefined) logBanner(listening, model.spec, model.engine, { loadSeconds: Number(event.seconds.toFixed(3)) });
    else if (event.type === "unloaded") listening.log.info({ model: event.model, reason: event.reason }, "model unloaded");
    else if (event.type === "load_failed") listening.log.error({ model: event.model, error: event.error }, "model failed to load");
  });
  // One model at a time: loading two at once would only add their peaks together. Lazily loaded
  // models wait for the first request naming them (or POST /models/load).
  // Stops the loading of models not started yet (and downloads in progress) once closing begins.
  const stopLoading = new AbortController();
  const ready = (async () => {
    for (const { spec, engine } of models) {
      if (stopLoading.signal.aborted) return;
      if (engine instanceof ManagedModel && !engine.preload) continue;
      try {
        await engine.load(stopLoading.signal);
      } catch (error) {
        if (stopLoading.signal.aborted) return; // closed while loading: not a load failure
        throw error;
      }
      if (!(engine instanceof ManagedModel)) logBanner(listening, spec, engine);
    }
  })();

  let closing: Promise<void> | undefined;
  return {
    usingTestModel,
    app: listening,
    router,
    requestLog,
    url,
    ready,
    close() {
      closing ??= (async () => {
        stopLoading.abort();
        stopLogging();
        const stopped = listening.close(); // stops accepting; resolves when every connection has ended
        await router.close(config.shutdownTimeout * 1000);
        await closeResponsesState(responses); // background runs still going are stopped, their state stored
        // Generation is over; a client that stopped reading must not keep the process alive.
        listening.server.closeAllConnections();
        await stopped;
        await requestLog?.close(); // every request has ended: its record is queued
      })();
      return closing;
    },
  };
}

function logBanner(app: FastifyInstance, spec: ModelSpec, engine: ChatEngine, extra: Readonly<Record<string, unknown>> = {}): void {
  const banner = engine.describe().banner;
  if (banner !== undefined) app.log.info({ model: spec.id, aliases: spec.aliases, ...banner.fields, ...extra }, banner.message);
}
