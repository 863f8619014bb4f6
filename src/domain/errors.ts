/**
 * Domain errors. Engines and the router throw these; the HTTP layer maps each to a status code and
 * the OpenAI error envelope in exactly one place (http/errors.ts).
 */

export type ErrorKind =
  | "invalid_request" // 400 (or the configured validation status)
  | "context_length_exceeded" // 400
  | "model_not_found" // 404
  | "not_found" // 404
  | "unauthenticated" // 401: no or an unknown API key
  | "permission_denied" // 403: the key may not do this
  | "unsupported_media_type" // 415: a body Parley cannot read (e.g. compressed)
  | "server_busy" // 429
  | "unavailable" // 503
  | "internal"; // 500

export interface FieldIssue {
  /** Path inside the request body, e.g. ["messages", 0, "content"]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** Machine-readable kind of the issue, e.g. "too_big", "invalid_type", "unsupported". */
  readonly type: string;
}

export class ParleyError extends Error {
  readonly kind: ErrorKind;
  /** The request field the error is about (OpenAI's `param`). */
  readonly param: string | null;
  /** OpenAI's `code`. */
  readonly code: string | null;
  /** Every invalid field, for validation errors. */
  readonly issues: readonly FieldIssue[];
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfter: number | undefined;

  constructor(kind: ErrorKind, message: string, options: { param?: string | null; code?: string | null; issues?: readonly FieldIssue[]; retryAfter?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ParleyError";
    this.kind = kind;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.issues = options.issues ?? [];
    this.retryAfter = options.retryAfter;
  }
}

/** Formats a field path the way OpenAI's `param` does: `messages[0].content`. */
export function formatParam(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

export function invalidRequest(message: string, path: readonly (string | number)[], type = "invalid_value"): ParleyError {
  const param = formatParam(path);
  return new ParleyError("invalid_request", message, {
    param: param === "" ? null : param,
    issues: [{ path, message, type }],
  });
}
