/**
 * Builds the Fastify application: routes, the OpenAI error envelope for every failure (including
 * framework ones: bad JSON, wrong content type, body too large, unknown route; and HTTP-level ones:
 * parser errors, slow clients, compressed bodies, see http/connection-guard.ts), and the app's own
 * Prometheus metrics, CORS (`--cors-origins`, http/cors.ts), and the headers every response carries
 * (`x-request-id`, `openai-processing-ms`: http/response-head.ts). Does not listen.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { ApiKeySpec } from "./config/api-keys.ts";
import type { CorsOrigins } from "./config/cors-origins.ts";
import { ParleyError } from "./domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "./domain/limits.ts";
import { checkContentEncoding, clientErrorResponse, slowClientServer } from "./http/connection-guard.ts";
import { registerCors } from "./http/cors.ts";
import { requestIdFor } from "./http/request-id.ts";
import { registerResponseHead } from "./http/response-head.ts";
import { toHttpError, type ErrorMappingOptions } from "./http/errors.ts";
import type { RequestLog } from "./http/request-log.ts";
import { Auth } from "./http/auth/auth.ts";
import { ParleyMetrics } from "./http/metrics.ts";
import { ClientDisconnected } from "./http/sse.ts";
import type { ReasoningField } from "./http/completion-format.ts";
import { CHAT_COMPLETIONS_PATHS, registerChatCompletionsRoute } from "./http/routes/chat-completions.ts";
import { registerAdminRoutes } from "./http/routes/admin.ts";
import { registerHealthRoute } from "./http/routes/health.ts";
import { registerMetricsRoute } from "./http/routes/metrics.ts";
import { registerModelRoutes } from "./http/routes/models.ts";
import { registerTextToolRoutes } from "./http/routes/text-tools.ts";
import type { Router } from "./router/router.ts";

export interface AppOptions extends ErrorMappingOptions {
  readonly router: Router;
  /** Largest accepted request body in bytes (default 16 MiB). */
  readonly bodyLimit?: number;
  /** Fastify logger option (default: off). */
  readonly logger?: FastifyServerOptions["logger"];
  /** Where each chat-completions request's record is appended (default: none). The caller closes it. */
  readonly requestLog?: RequestLog;
  /**
   * API keys (`--api-key`, the config file's `keys:`). Default none: the server is open (and warns
   * so when it starts). With keys, every route but `/health` needs `Authorization: Bearer <key>`.
   */
  readonly keys?: readonly ApiKeySpec[];
  /** The key for `GET /admin/usage` (`--admin-key`): plain or SHA-256 hex. Default none: no admin route. */
  readonly adminKey?: { key: string } | { sha256: string };
  /** What a request may hold, and how long a client may take to send it (default DEFAULT_LIMITS). */
  readonly limits?: RequestLimits;
  /** Where thoughts go on the wire (`--reasoning-field`; default `reasoning_content`). */
  readonly reasoningField?: ReasoningField;
  /**
   * Web origins that may call the API from a browser (`--cors-origins`): `*` or exact origins.
   * Default none: no CORS headers, no preflight answers.
   */
  readonly corsOrigins?: CorsOrigins;
}

export function buildApp(options: AppOptions): FastifyInstance {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024,
    // While closing, requests still reach the engine, which answers 503 in the OpenAI envelope.
    return503OnClosing: false,
    serverFactory: slowClientServer(limits),
    clientErrorHandler: clientErrorResponse,
    // The client's x-request-id when it is a safe token, else a new one (logged as reqId).
    genReqId: requestIdFor,
  });
  // Fastify applies hooks and plugins in the order they are declared (addHook waits for the
  // plugins declared before it): the head's stamp first, then CORS, whose hook answers preflights
  // (which carry no key) before the checks below, and so every answer of theirs carries its headers.
  registerResponseHead(app);
  if (options.corsOrigins !== undefined) registerCors(app, options.corsOrigins);
  app.addHook("onRequest", async (request) => checkContentEncoding(request.raw));
  // Only JSON bodies are accepted: anything else is a 415, as OpenAI's API does.
  app.removeContentTypeParser("text/plain");
  const errors: ErrorMappingOptions = { validationStatus: options.validationStatus ?? 400 };
  const metrics = new ParleyMetrics({ stats: () => options.router.stats() });
  const auth = new Auth({
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(options.adminKey === undefined ? {} : { adminKey: options.adminKey }),
    canonicalModel: (name) => options.router.canonical(name),
  });
  auth.register(app);
  if (!auth.keys.enabled) {
    app.addHook("onReady", async () => app.log.warn("no API keys configured: the server is OPEN to anyone who can reach it (pass --api-key or keys: in the config file)"));
  }

  app.setErrorHandler((error, request, reply) => {
    // Chat-completions requests whose handler never ran (e.g. malformed JSON) are counted here.
    const early = (status: number) => {
      if (CHAT_COMPLETIONS_PATHS.includes(request.routeOptions.url ?? "")) metrics.failedEarly(request.raw, status);
    };
    if (error instanceof ClientDisconnected) {
      request.log.debug("client disconnected; generation stopped");
      early(499);
      return reply.code(499).send();
    }
    const mapped = toHttpError(error, errors);
    early(mapped.status);
    if (mapped.status === 503) request.log.warn(mapped.body.error.message);
    else if (mapped.status >= 500) request.log.error({ err: error }, "request failed");
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const mapped = toHttpError(new ParleyError("not_found", `Unknown route: ${request.method} ${request.url}`), errors);
    return reply.code(mapped.status).send(mapped.body);
  });

  registerHealthRoute(app, options.router);
  registerModelRoutes(app, options.router, auth);
  registerChatCompletionsRoute(app, options.router, errors, options.requestLog, metrics, auth, limits, options.reasoningField);
  registerTextToolRoutes(app, options.router, auth, limits);
  registerAdminRoutes(app, auth);
  registerMetricsRoute(app, metrics);
  return app;
}
