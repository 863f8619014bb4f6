/**
 * `--api-key` / `PARLEY_API_KEYS` and `--admin-key` / `PARLEY_ADMIN_KEY` values.
 *
 * `--api-key [user=]<secret>` or `--api-key [user=]sha256:<64 hex>`. The part before the first `=`
 * is the user id when it looks like one (`[A-Za-z0-9._@-]{1,64}`) and is followed by something
 * other than `=`; otherwise the whole value is the secret (so base64 padding such as `abc==`
 * stays part of it; a secret that itself contains `x=y` needs an explicit `user=` in front).
 * Without a user, the key's user is `key<N>` (its position among the flags, from 1). Flag keys may
 * use every model and have no limits; per-key models and limits come from the config file's `keys:`.
 *
 * `--admin-key <secret>` or `--admin-key sha256:<64 hex>`.
 */
import type { ApiKeySpec } from "./api-keys.ts";

const USER = /^[A-Za-z0-9._@-]{1,64}$/;
const SHA256 = /^sha256:([0-9a-fA-F]{64})$/;
/** Printable ASCII without spaces: what a bearer token may hold. */
const SECRET = /^[\x21-\x7e]{1,4096}$/;

/** Secret or hash: `{key}` or `{sha256}` (lower-case hex). Throws on an empty or unprintable secret. */
export function parseSecret(value: string, what: string): { key: string } | { sha256: string } {
  const hashed = SHA256.exec(value);
  if (hashed !== null) return { sha256: (hashed[1] ?? "").toLowerCase() };
  if (value.startsWith("sha256:")) throw new Error(`${what}: sha256: must be followed by 64 hex digits`);
  if (!SECRET.test(value)) throw new Error(`${what}: a key must be 1 to 4096 printable ASCII characters without spaces`);
  return { key: value };
}

/** One `--api-key` value; `index`: its position among them (0-based), for the default user id. */
export function parseApiKeyFlag(value: string, index: number): ApiKeySpec {
  const eq = value.indexOf("=");
  const user = eq > 0 ? value.slice(0, eq) : "";
  const rest = value.slice(eq + 1);
  const hasUser = USER.test(user) && rest !== "" && !rest.startsWith("=");
  const secret = hasUser ? rest : value;
  return { user: hasUser ? user : `key${index + 1}`, ...parseSecret(secret, `--api-key #${index + 1}`) };
}

/** Every `--api-key` value; user ids need not be unique (two keys may share a user). */
export function parseApiKeyFlags(values: readonly string[]): ApiKeySpec[] {
  return values.map((value, i) => parseApiKeyFlag(value, i));
}
