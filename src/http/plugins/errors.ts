/**
 * The one place where a failure becomes an HTTP answer (errors.ts maps it): thrown by a handler,
 * by Fastify itself (bad JSON, wrong content type, body too large), or an unknown route. A
 * generation request's failure ends its context here (counted, recorded with why). A client that
 * left (ClientDisconnected) gets nothing, and is counted as 499.
 */
import type { FastifyInstance } from "fastify";
import { ParleyError } from "../../domain/errors.ts";
import { recordedError, toHttpError, type ErrorMappingOptions } from "../errors.ts";
import { ClientDisconnected } from "../sse.ts";

export function registerErrorHandler(app: FastifyInstance, errors: ErrorMappingOptions): void {
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ClientDisconnected) {
      request.log.debug("client disconnected; generation stopped");
      request.generation?.finish(499); // the socket is gone: no onResponse follows
      return reply.code(499).send();
    }
    const mapped = toHttpError(error, errors);
    if (request.generation !== undefined) {
      request.generation.error = recordedError(mapped);
      request.generation.finish(mapped.status);
    }
    if (mapped.status === 503) request.log.warn(mapped.body.error.message);
    else if (mapped.status >= 500) request.log.error({ err: error }, "request failed");
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const mapped = toHttpError(new ParleyError("not_found", `Unknown route: ${request.method} ${request.url}`), errors);
    return reply.code(mapped.status).send(mapped.body);
  });
}
