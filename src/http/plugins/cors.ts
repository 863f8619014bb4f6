/**
 * CORS for browser clients (`--cors-origins`), through `@fastify/cors`. Off by default: without the
 * flag no CORS header is sent and an `OPTIONS` request is an ordinary unknown route.
 *
 * With it, its `onRequest` hook (which app.ts installs before the auth hook, as browsers send
 * preflights without `Authorization`) answers every `OPTIONS` request on any path with 204:
 * `Access-Control-Allow-Origin` (`*`, or the request's `Origin` when it is listed; absent
 * otherwise, so the browser refuses), `-Allow-Methods`, `-Allow-Headers` (the headers the preflight
 * asks for, reflected: the `openai` SDK sends `authorization`, `content-type` and a changing set of
 * `x-stainless-*` headers, and a fixed list would break on its next addition; a key is still
 * required for the request itself) and `-Max-Age`. Every other response (errors and SSE streams
 * included: response-head.ts copies the headers onto hijacked replies) carries
 * `Access-Control-Allow-Origin`, `Access-Control-Expose-Headers` and, for a list, `Vary: Origin`.
 * No credentials mode: Parley's keys are bearer tokens, never cookies.
 */
import fastifyCors, { type FastifyCorsOptions } from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import type { CorsOrigins } from "../../config/cors-origins.ts";
import { PROCESSING_MS_HEADER } from "./response-head.ts";
import { REQUEST_ID_HEADER } from "./request-id.ts";

/** Response headers a page's script may read: tracing, timing, rate limiting, Parley's warnings. */
export const EXPOSED_HEADERS: readonly string[] = [REQUEST_ID_HEADER, PROCESSING_MS_HEADER, "retry-after", "x-parley-warnings"];

/** The methods Parley's routes answer. */
const METHODS = ["GET", "HEAD", "POST"];

/** How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 7200). */
export const PREFLIGHT_MAX_AGE_S = 7200;

/** The plugin's options for `origins`. */
export function corsPluginOptions(origins: CorsOrigins): FastifyCorsOptions {
  return {
    origin: origins === "*" ? "*" : [...origins],
    methods: METHODS,
    // allowedHeaders unset: the plugin reflects Access-Control-Request-Headers.
    exposedHeaders: [...EXPOSED_HEADERS],
    maxAge: PREFLIGHT_MAX_AGE_S,
    credentials: false,
    // An OPTIONS request without Origin or Access-Control-Request-Method gets 204 too, not the
    // plugin's plain-text 400 (every Parley error is an OpenAI envelope).
    strictPreflight: false,
    hook: "onRequest",
  };
}

/** Registers the plugin; hooks added to `app` after this call run after its hook (Fastify keeps the declared order). */
export function registerCors(app: FastifyInstance, origins: CorsOrigins): void {
  void app.register(fastifyCors, corsPluginOptions(origins));
}
