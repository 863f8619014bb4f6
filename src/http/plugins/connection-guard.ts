/**
 * What happens below the routes: slow clients are dropped, and what Node's HTTP parser rejects
 * is answered in the OpenAI error envelope like everything else.
 *
 * - `slowClientServer`: the HTTP server, with Node's own protections on (Fastify turns them off by
 *   default): a client must send its headers within `headersSeconds` and its whole request
 *   within `bodySeconds` (408), an idle keep-alive connection closes after `idleSeconds`, and
 *   these deadlines are checked every second rather than every 30. A streamed response is not
 *   cut by them: they cover receiving the request only.
 * - `clientErrorResponse`: for malformed HTTP (bad chunking, conflicting Content-Length,
 *   Content-Length with Transfer-Encoding, bare LF, an unknown method), oversized headers (431)
 *   and the timeouts above (408), the raw response Fastify's default would send with a body of
 *   its own.
 * - `checkContentEncoding`: Parley does not decode compressed request bodies; one labelled with
 *   a `Content-Encoding` other than `identity` is a 415 rather than parsed as if it were plain.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { ParleyError } from "../../domain/errors.ts";
import type { RequestLimits } from "../../domain/limits.ts";

/** Fastify's `serverFactory`: a plain HTTP server with the limits' timeouts. */
export function slowClientServer(limits: Pick<RequestLimits, "headersSeconds" | "bodySeconds" | "idleSeconds">): (handler: RequestListener) => Server {
  return (handler) => {
    const headersTimeout = limits.headersSeconds * 1000;
    const server = createServer(
      {
        headersTimeout,
        // Node requires requestTimeout ≥ headersTimeout.
        requestTimeout: Math.max(headersTimeout, limits.bodySeconds * 1000),
        keepAliveTimeout: limits.idleSeconds * 1000,
        connectionsCheckingInterval: 1000,
      },
      handler,
    );
    return server;
  };
}

/** Node's parser errors → status (431 and 408 as Node itself answers them, else 400). */
function statusOf(error: NodeJS.ErrnoException): number {
  if (error.code === "HPE_HEADER_OVERFLOW") return 431;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  return 400;
}

function messageOf(status: number): string {
  switch (status) {
    case 431:
      return "The request's headers are too large.";
    case 408:
      return "The request was not received in time: the client sent it too slowly.";
    default:
      return "The request is not valid HTTP.";
  }
}

/** Fastify's `clientErrorHandler`: answers in the OpenAI envelope, then closes the connection. */
export function clientErrorResponse(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  if (socket.writable) {
    const status = statusOf(error);
    const body = JSON.stringify({
      error: { message: messageOf(status), type: "invalid_request_error", param: null, code: status === 408 ? "request_timeout" : status === 431 ? "headers_too_large" : "invalid_http" },
    });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** 415 for a request body in an encoding Parley does not decode. */
export function checkContentEncoding(request: IncomingMessage): void {
  const encoding = request.headers["content-encoding"];
  if (encoding === undefined) return;
  const codings = encoding
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "");
  if (codings.every((c) => c === "identity")) return;
  throw new ParleyError("unsupported_media_type", `Content-Encoding \`${encoding.slice(0, 64)}\` is not supported: send the request body uncompressed.`);
}
