/**
 * The one place where a failure becomes an HTTP answer (errors.ts maps it): thrown by a handler,
 * by Fastify itself (bad JSON, wrong content type, body too large), or an unknown route. A
 * generation request's failure ends its context here (counted, recorded with why). A client that
 * left (ClientDisconnected) gets nothing, and is counted as 499. A route whose API has its own
 * error envelope (a dialect's `errorBody`) answers in it; every other route in OpenAI's.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ParleyError } from "../../domain/errors.ts";
import { recordedError, toHttpError, type ErrorMappingOptions, type HttpError } from "../errors.ts";
import { ClientDisconnected } from "../sse.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route's error envelope, when its API has its own (default: OpenAI's, `mapped.body`). */
    errorBody?: (mapped: HttpError) => unknown;
  }
}

/** The body that reports `mapped` on `request`'s route, in the envelope of the route's API. */
export function errorPayload(request: FastifyRequest, mapped: HttpError): unknown {
  return request.routeOptions.config.errorBody?.(mapped) ?? mapped.body;
}

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
    return reply.code(mapped.status).headers(mapped.headers).send(errorPayload(request, mapped));
  });
  app.setNotFoundHandler((request, reply) => {
    const mapped = toHttpError(new ParleyError("not_found", `Unknown route: ${request.method} ${request.url}`), errors);
    return reply.code(mapped.status).send(mapped.body);
  });
}
