/**
 * Starts Parley: listens at once (health answers 503 while models load), resolves and loads the
 * models in the background, and shuts down gracefully on SIGINT/SIGTERM. Without a config file it
 * serves one local model (`--model`, or the built-in test model); with one (config-file.ts), every
 * model of its `models:` list (local and upstream) behind one Router, with the file's keys.
 */
import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import type { ConfigFile } from "./config/config-file.ts";
import type { Config } from "./config/config.ts";
import { RequestLog } from "./http/request-log.ts";
import { closeResponsesState, openResponsesState } from "./responses-store/open.ts";
import { Router } from "./router/router.ts";
import { buildModels, modelFromFlags, routerAliases, TEST_MODEL_SOURCE } from "./server-models.ts";

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
  const specs = file?.models ?? [modelFromFlags(config, defaultModelId)];
  const usingTestModel = specs.some((spec) => spec.kind === "local" && spec.source === TEST_MODEL_SOURCE);

  let app: FastifyInstance | undefined;
  const models = buildModels(config, specs, () => app?.log); // engines log once the app exists
  const router = new Router(
    models.map((m) => m.engine),
    { aliases: routerAliases(models) },
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

  // One model at a time: loading two at once would only add their peaks together.
  // Stops the loading of models not started yet (and downloads in progress) once closing begins.
  const stopLoading = new AbortController();
  const ready = (async () => {
    for (const { spec, engine } of models) {
      if (stopLoading.signal.aborted) return;
      try {
        await engine.load(stopLoading.signal);
      } catch (error) {
        if (stopLoading.signal.aborted) return; // closed while loading: not a load failure
        throw error;
      }
      const banner = engine.describe().banner;
      if (banner !== undefined) listening.log.info({ model: spec.id, aliases: spec.aliases, ...banner.fields }, banner.message);
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
