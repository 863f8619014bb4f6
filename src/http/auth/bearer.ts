/**
 * `Authorization: Bearer <token>` (RFC 6750 §2.1): the scheme is case-insensitive; one or more
 * spaces separate it from the token; the token is printable ASCII without whitespace (anything
 * else, e.g. a tab, a control character or a second word, makes the header malformed). Tokens in
 * the query string or the body are never read.
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
