/**
 * Builds the Fastify application (does not listen): the cross-cutting plugins and hooks of
 * http/plugins/ (the headers every response carries, CORS, connection guards, keys, the one
 * error handler, the generation routes' per-request context that counts and logs them), then
 * the routes: one per dialect of http/dialects/ (chat completions, text completions), models,
 * health, metrics, text tools and admin.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { ApiKeySpec } from "./config/api-keys.ts";
import type { CorsOrigins } from "./config/cors-origins.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "./domain/limits.ts";
import { Auth } from "./http/auth/auth.ts";
import { anthropicMessages } from "./http/dialects/anthropic-messages/dialect.ts";
import { registerCountTokensRoute } from "./http/dialects/anthropic-messages/count-tokens.ts";
import { chatCompletions } from "./http/dialects/chat-completions/dialect.ts";
import { completions } from "./http/dialects/completions/dialect.ts";
import { registerEmbeddings } from "./http/dialects/embeddings/route.ts";
import { responsesDialect } from "./http/dialects/responses/dialect.ts";
import { registerResponsesInputTokens } from "./http/dialects/responses/input-tokens.ts";
import { registerDialect, type ServeDependencies } from "./http/dialects/serve.ts";
import type { ReasoningField } from "./http/dialects/types.ts";
import type { ErrorMappingOptions } from "./http/errors.ts";
import { ParleyMetrics } from "./http/metrics.ts";
import { checkContentEncoding, clientErrorResponse, slowClientServer } from "./http/plugins/connection-guard.ts";
import { registerCors } from "./http/plugins/cors.ts";
import { registerErrorHandler } from "./http/plugins/errors.ts";
import { registerGenerationContext } from "./http/plugins/generation-context.ts";
import { requestIdFor } from "./http/plugins/request-id.ts";
import { registerResponseHead } from "./http/plugins/response-head.ts";
import type { RequestLog } from "./http/request-log.ts";
import { registerAdminRoutes } from "./http/routes/admin.ts";
import { registerModelControlRoutes } from "./http/routes/model-control.ts";
import { registerModelMetrics } from "./http/model-metrics.ts";
import { registerHealthRoute } from "./http/routes/health.ts";
import { registerResponsesRoutes } from "./http/routes/responses-state.ts";
import { registerMetricsRoute } from "./http/routes/metrics.ts";
import { registerModelRoutes } from "./http/routes/models.ts";
import { registerTextToolRoutes } from "./http/routes/text-tools.ts";
import type { Router } from "./router/router.ts";
import type { ResponsesState } from "./responses-store/create-response.ts";

export interface AppOptions extends ErrorMappingOptions {
  readonly router: Router;
  /** Largest accepted request body in bytes (default 16 MiB). */
  readonly bodyLimit?: number;
  /** Fastify logger option (default: off). */
  readonly logger?: FastifyServerOptions["logger"];
  /** Where each generation request's record is appended (default: none). The caller closes it. */
  readonly requestLog?: RequestLog;
  /**
   * The Responses API's stored responses and background runs (`--responses-store`), opened and
   * closed by the caller. Default none: `store` keeps nothing, `previous_response_id` and
   * `background` are 400s, and the stored responses' routes answer 404.
   */
  readonly responses?: ResponsesState;
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

  registerErrorHandler(app, errors);
  registerGenerationContext(app, metrics);

  registerHealthRoute(app, options.router);
  registerModelRoutes(app, options.router, auth);
  const serve: ServeDependencies = {
    router: options.router,
    settings: { limits, reasoningField: options.reasoningField ?? "reasoning_content" },
    errors,
    requestLog: options.requestLog,
    auth,
  };
  registerDialect(app, chatCompletions, serve);
  registerDialect(app, completions, serve);
  registerDialect(app, anthropicMessages, serve);
  registerResponsesRoutes(app, responsesDialect, serve, options.responses);
  registerCountTokensRoute(app, serve);
  registerResponsesInputTokens(app, options.router, auth, limits);
  registerEmbeddings(app, { router: options.router, limits, auth });
  registerTextToolRoutes(app, options.router, auth, limits);
  registerAdminRoutes(app, auth);
  registerModelControlRoutes(app, options.router, auth, limits);
  registerModelMetrics(metrics.registry, options.router.pool, () => options.router.managedModels());
  registerMetricsRoute(app, metrics);
  return app;
}
