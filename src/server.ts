/**
 * Starts Parley: listens at once (health answers 503 while the model loads), resolves and loads
 * the model in the background, and shuts down gracefully on SIGINT/SIGTERM.
 */
import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import type { Config } from "./config/config.ts";
import { RequestLog } from "./http/request-log.ts";
import { LlamaEngine } from "./engines/llama/engine.ts";
import { loadModelHost, readChatTemplateFile, type ModelHost } from "./engines/llama/model-host.ts";
import { resolveModelSource } from "./engines/llama/model-source.ts";
import { Router } from "./router/router.ts";
import { ensureTestModel } from "./testing/test-model.ts";
import type { Logger } from "./util/logger.ts";

export interface RunningServer {
  /** True when no --model was given and the built-in test model is served. */
  readonly usingTestModel: boolean;
  readonly app: FastifyInstance;
  readonly router: Router;
  /** The request log (`--request-log`), if configured. */
  readonly requestLog: RequestLog | undefined;
  /** The URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** Resolves once the model is loaded (rejects if loading fails). */
  readonly ready: Promise<void>;
  /** Graceful shutdown: stop accepting, let running requests finish (bounded), free the model. */
  close(): Promise<void>;
}

/** The model id clients send by default: the file's base name without `.gguf`. */
export function defaultModelId(spec: string): string {
  const withoutQuery = spec.replace(/[?#].*$/, "");
  return basename(withoutQuery).replace(/\.gguf$/i, "");
}

export async function startServer(config: Config): Promise<RunningServer> {
  const usingTestModel = config.model === undefined;
  const spec = config.model ?? "parley-test-model.gguf";
  const modelId = config.modelAlias ?? defaultModelId(spec);

  let resolveHost: (host: ModelHost) => void = () => undefined;
  let rejectHost: (error: unknown) => void = () => undefined;
  const hostPromise = new Promise<ModelHost>((resolve, reject) => {
    resolveHost = resolve;
    rejectHost = reject;
  });
  const engine = new LlamaEngine({
    modelId,
    host: hostPromise,
    maxQueue: config.queueSize,
    queueTimeoutMs: config.queueTimeout * 1000,
    ...(config.defaultMaxTokens === undefined ? {} : { defaultMaxTokens: config.defaultMaxTokens }),
  });
  const router = new Router([engine]);
  const requestLog = config.requestLog === undefined ? undefined : new RequestLog({ path: config.requestLog });
  const app = buildApp({
    router,
    bodyLimit: config.bodyLimit,
    validationStatus: config.validationStatus,
    logger: { level: config.verbose ? "debug" : config.logLevel },
    requestLog,
  });
  const url = await app.listen({ host: config.host, port: config.port });
  if (usingTestModel) app.log.warn("serving the built-in random-weight TEST model (pass --model <gguf> to serve a real one)");

  loadModel(config, usingTestModel ? undefined : spec, app.log).then(resolveHost, rejectHost);
  const ready = hostPromise.then((loaded) => {
    app.log.info(
      { model: modelId, contextSize: loaded.contextSize, slots: config.parallel, threads: loaded.threads, template: loaded.templateSource, toolCalls: loaded.toolFamily.syntax.family },
      `model ready: send requests with "model": "${modelId}"`,
    );
  });

  let closing: Promise<void> | undefined;
  return {
    usingTestModel,
    app,
    router,
    requestLog,
    url,
    ready,
    close() {
      closing ??= (async () => {
        const stopped = app.close(); // stops accepting; resolves when every connection has ended
        await router.close(config.shutdownTimeout * 1000);
        // Generation is over; a client that stopped reading must not keep the process alive.
        app.server.closeAllConnections();
        await stopped;
        await requestLog?.close(); // every request has ended: its record is queued
      })();
      return closing;
    },
  };
}

/** Resolves the model file (downloading it if needed; the test model when `spec` is undefined) and loads it. */
async function loadModel(config: Config, spec: string | undefined, logger: Logger): Promise<ModelHost> {
  const cache = config.cacheDir === undefined ? {} : { cacheDir: config.cacheDir };
  const modelPath = spec === undefined ? await ensureTestModel(cache) : (await resolveModelSource(spec, { ...cache, showProgress: true })).path;
  const chatTemplate = config.chatTemplateFile === undefined ? undefined : await readChatTemplateFile(config.chatTemplateFile);
  return loadModelHost({
    modelPath,
    parallel: config.parallel,
    ...(config.threads === undefined ? {} : { threads: config.threads }),
    verbose: config.verbose,
    adapters: config.lora,
    logger,
    ...(config.ctxSize === undefined ? {} : { contextSize: config.ctxSize }),
    ...(config.batchSize === undefined ? {} : { batchSize: config.batchSize }),
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
  });
}
