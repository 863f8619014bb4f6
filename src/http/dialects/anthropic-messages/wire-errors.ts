/**
 * Anthropic's error envelope, `{"type": "error", "error": {"type", "message"}}`, for every failure
 * on this API's routes (the app's error handler, the key check and a stream's `error` event all
 * use it through the dialect's `errorBody`). The HTTP status stays Parley's (errors.ts); the
 * `error.type` is Anthropic's name for it.
 */
import type { HttpError } from "../../errors.ts";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  readonly type: "error";
  readonly error: { readonly type: AnthropicErrorType; readonly message: string };
}

/** Anthropic's error type for an HTTP status. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

export function anthropicErrorBody(mapped: HttpError): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(mapped.status), message: mapped.body.error.message } };
}
