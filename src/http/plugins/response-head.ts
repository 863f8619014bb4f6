/**
 * Headers every response carries, whichever path writes its head: a route's reply, the error
 * handler, a hook's 401, a CORS preflight, the 404 handler, or a hijacked SSE stream.
 *
 * - `x-request-id`: the request's id (request-id.ts).
 * - `openai-processing-ms`: whole milliseconds from the request's arrival (this hook, the first)
 *   to its response head (for a stream, its first byte: the head goes out before the first chunk),
 *   as OpenAI sends it. (Fastify's `reply.elapsedTime` only runs with a logger or onResponse hook.)
 * - For a hijacked reply (SSE), the headers hooks set on the Fastify reply (CORS): Fastify writes
 *   them itself only for replies it sends.
 *
 * It wraps the response's `writeHead` once per request (the one moment every path shares; Node
 * has no "headers" event), the way the `on-headers` package does for Express.
 */
import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { REQUEST_ID_HEADER } from "./request-id.ts";

export const PROCESSING_MS_HEADER = "openai-processing-ms";

/** Adds the `onRequest` hook; call it before any hook that may answer (auth, CORS). */
export function registerResponseHead(app: FastifyInstance): void {
  app.addHook("onRequest", async (request, reply) => {
    const start = performance.now();
    const res = reply.raw;
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      res.writeHead = writeHead;
      stamp(request, reply, performance.now() - start);
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse["writeHead"];
  });
}

function stamp(request: FastifyRequest, reply: FastifyReply, elapsedMs: number): void {
  const res = reply.raw;
  if (reply.sent) {
    // Hijacked: what hooks put on the reply would otherwise be lost (the body's own headers are the stream's).
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined && !res.hasHeader(name) && name !== "content-length" && name !== "content-type") res.setHeader(name, value);
    }
  }
  res.setHeader(REQUEST_ID_HEADER, request.id);
  res.setHeader(PROCESSING_MS_HEADER, String(Math.round(elapsedMs)));
}
