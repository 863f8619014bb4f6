/**
 * The API key of a request. `Authorization: Bearer <token>` (RFC 6750 §2.1): the scheme is
 * case-insensitive; one or more spaces separate it from the token; the token is printable ASCII without whitespace (anything
 * else, e.g. a tab, a control character or a second word, makes the header malformed); or, on
 * the Anthropic Messages routes, Anthropic's `x-api-key` header (`requestKey`). Tokens in the query
 * string or the body are never read.
 */

/** Longest token read; longer ones are rejected unread. */
const MAX_TOKEN = 4096;
const HEADER = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +([\x21-\x7e]+)$/;

/** The bearer token, or undefined when the header is absent, of another scheme or malformed. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string" || header.length > MAX_TOKEN + 64) return undefined;
  const match = HEADER.exec(header);
  if (match === null || match[1]?.toLowerCase() !== "bearer") return undefined;
  const token = match[2] ?? "";
  return token.length > MAX_TOKEN ? undefined : token;
}

/** The routes where Anthropic's `x-api-key` header is read too (the Messages API's); elsewhere only the bearer header. */
export const X_API_KEY_ROUTES: ReadonlySet<string> = new Set(["/v1/messages", "/v1/messages/count_tokens"]);

/**
 * The API key a request presents: `Authorization: Bearer <token>`, or else, on `route` if it is
 * one of X_API_KEY_ROUTES, Anthropic's `x-api-key: <token>` header (the same token rules: printable
 * ASCII, no whitespace), so Anthropic clients authenticate unmodified. The bearer header wins when
 * both are sent.
 */
export function requestKey(headers: { readonly authorization?: string | string[] | undefined; readonly "x-api-key"?: string | string[] | undefined }, route: string | undefined): string | undefined {
  const bearer = bearerToken(headers.authorization);
  if (bearer !== undefined || route === undefined || !X_API_KEY_ROUTES.has(route)) return bearer;
  return apiKeyHeader(headers["x-api-key"]);
}

const API_KEY = /^[\x21-\x7e]+$/;

function apiKeyHeader(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string" || header.length > MAX_TOKEN || !API_KEY.test(header)) return undefined;
  return header;
}
