/**
 * The one place where errors become HTTP: status code, OpenAI's envelope
 * `{"error": {message, type, param, code}}`, and for invalid requests a FastAPI-style
 * `detail: [{loc, msg, type}]` list covering every invalid field.
 */
import type { ErrorKind } from "../domain/errors.ts";
import { ParleyError } from "../domain/errors.ts";

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | number | null };
  detail?: { loc: (string | number)[]; msg: string; type: string }[];
}

export interface HttpError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
}

export interface ErrorMappingOptions {
  /** Status for invalid requests: 400 (OpenAI) or 422 (FastAPI-style deployments). Default 400. */
  readonly validationStatus?: 400 | 422;
}

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  context_length_exceeded: 400,
  model_not_found: 404,
  not_found: 404,
  unauthenticated: 401,
  permission_denied: 403,
  unsupported_media_type: 415,
  server_busy: 429,
  unavailable: 503,
  internal: 500,
};

const TYPE: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  context_length_exceeded: "invalid_request_error",
  model_not_found: "invalid_request_error",
  not_found: "invalid_request_error",
  unauthenticated: "invalid_request_error",
  permission_denied: "invalid_request_error",
  unsupported_media_type: "invalid_request_error",
  server_busy: "rate_limit_error",
  unavailable: "server_error",
  internal: "server_error",
};

/** Framework errors (bad JSON, wrong content type, body too large) carry a 4xx `statusCode`. */
interface StatusError {
  statusCode?: number;
  message?: string;
  code?: string;
}

/**
 * Error bodies stay small whatever the request held: a message (which may quote the request, e.g.
 * a regex) is cut at MAX_MESSAGE_CHARS, `detail` lists the first MAX_DETAIL issues.
 */
const MAX_MESSAGE_CHARS = 2000;
const MAX_DETAIL = 50;
const MAX_LOC = 32;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

export function toHttpError(error: unknown, options: ErrorMappingOptions = {}): HttpError {
  if (error instanceof ParleyError) {
    const status = error.kind === "invalid_request" && error.issues.length > 0 ? (options.validationStatus ?? 400) : STATUS[error.kind];
    const body: ErrorBody = {
      error: { message: clip(error.message, MAX_MESSAGE_CHARS), type: TYPE[error.kind], param: error.param === null ? null : clip(error.param, 256), code: error.code ?? defaultCode(error.kind) },
    };
    if (error.kind === "invalid_request" && error.issues.length > 0) {
      body.detail = error.issues.slice(0, MAX_DETAIL).map((issue) => ({ loc: ["body", ...issue.path.slice(0, MAX_LOC)], msg: clip(issue.message, 500), type: issue.type }));
      if (error.issues.length > MAX_DETAIL) {
        body.detail.push({ loc: ["body"], msg: `and ${error.issues.length - MAX_DETAIL} more invalid fields`, type: "truncated" });
      }
    }
    const headers: Record<string, string> = error.retryAfter === undefined ? {} : { "retry-after": String(error.retryAfter) };
    return { status, body, headers };
  }
  const statusError = (typeof error === "object" && error !== null ? error : {}) as StatusError;
  const status = statusError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return {
      status,
      body: { error: { message: clip(frameworkMessage(statusError, status), MAX_MESSAGE_CHARS), type: "invalid_request_error", param: null, code: frameworkCode(status) } },
      headers: {},
    };
  }
  return {
    status: 500,
    body: { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } },
    headers: {},
  };
}

function defaultCode(kind: ErrorKind): string | null {
  switch (kind) {
    case "model_not_found":
      return "model_not_found";
    case "context_length_exceeded":
      return "context_length_exceeded";
    case "server_busy":
      return "rate_limit_exceeded";
    case "unavailable":
      return "service_unavailable";
    case "not_found":
      return "not_found";
    case "unauthenticated":
      return "invalid_api_key";
    case "unsupported_media_type":
      return "unsupported_media_type";
    case "permission_denied":
    case "invalid_request":
    case "internal":
      return null;
    default:
      return kind satisfies never;
  }
}

function frameworkCode(status: number): string | null {
  if (status === 413) return "request_too_large";
  if (status === 415) return "unsupported_media_type";
  if (status === 400) return "invalid_json";
  return null;
}

function frameworkMessage(error: StatusError, status: number): string {
  if (status === 415) return "Unsupported content type: send the request body as application/json.";
  if (status === 413) return "The request body is too large.";
  if (status === 400 && error.code?.startsWith("FST_ERR_CTP") === true) {
    return `We could not parse the JSON body of your request. (${error.message ?? "invalid JSON"})`;
  }
  return error.message ?? "Invalid request.";
}

/** What the request log keeps of a failure. */
export function recordedError(mapped: HttpError): { type: string; code: string | number | null; param: string | null } {
  return { type: mapped.body.error.type, code: mapped.body.error.code, param: mapped.body.error.param };
}
