/**
 * Request ids: every response carries `x-request-id` (response-head.ts), Fastify's log lines carry
 * it as `reqId`, and the request log as `request_id`, so one id finds a request everywhere.
 *
 * A client's (or a proxy's) own `x-request-id` is honoured when it is a safe token: 1–128
 * characters of `A-Z a-z 0-9 . _ : -` (UUIDs, OpenTelemetry trace ids, `req_…` ids all fit; nothing
 * that could break a log line or a header). Anything else is replaced by a new id: 16 random
 * base64url characters. A response answered under a new id gets the id `chatcmpl-<id>` (`cmpl-<id>`…),
 * so the header, the logs and the response body line up; under a client's id it gets its own
 * random one (a client may reuse its ids, a completion id must stay unique).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyRequest } from "fastify";

export const REQUEST_ID_HEADER = "x-request-id";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Whether `value` may be used as a request id as it is. */
export function isSafeRequestId(value: unknown): value is string {
  return typeof value === "string" && SAFE_ID.test(value);
}

/** A new id: 12 random bytes as 16 base64url characters (the form of Parley's completion ids). */
export function newRequestId(): string {
  return randomBytes(12).toString("base64url");
}

/** Fastify's `genReqId`: the client's `x-request-id` when it is safe, else a new id. */
export function requestIdFor(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER];
  return isSafeRequestId(given) ? given : newRequestId();
}

/** The response id for `request`: `<prefix><request id>` (`chatcmpl-…`, `resp_…`) when Parley made the id, else a new random one. */
export function responseId(request: FastifyRequest, prefix: string): string {
  const madeHere = request.headers[REQUEST_ID_HEADER] !== request.id;
  return `${prefix}${madeHere ? request.id : newRequestId()}`;
}
