/**
 * The configured API keys, held only as SHA-256 digests (a plain key is hashed at load and
 * dropped). A presented token is hashed and compared with every stored digest using
 * `crypto.timingSafeEqual`, without stopping at a match, so timing reveals neither which key
 * matched nor how much of one did. Keys never appear in logs or errors.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyLimits, ApiKeySpec } from "../../config/api-keys.ts";

/** Who a request authenticated as: one configured key. */
export interface Principal {
  /** The key's user id (logs, metrics, the usage summary). */
  readonly user: string;
  /** The models (ids or aliases) the key may use; undefined: all. */
  readonly models: ReadonlySet<string> | undefined;
  readonly limits: ApiKeyLimits;
  /** Stable position of the key in the configuration (limits are kept per key). */
  readonly index: number;
}

/** The SHA-256 digest of a key or token (32 bytes). */
export function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** A spec's digest: its `sha256` (hex) or the hash of its `key`. Throws if neither or both are set. */
export function specDigest(spec: { key?: string; sha256?: string }, what: string): Buffer {
  if ((spec.key === undefined) === (spec.sha256 === undefined)) throw new Error(`${what}: set exactly one of key and sha256`);
  if (spec.sha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(spec.sha256)) throw new Error(`${what}: sha256 must be 64 hex digits`);
    return Buffer.from(spec.sha256, "hex");
  }
  if (spec.key === "") throw new Error(`${what}: empty key`);
  return digest(spec.key ?? "");
}

interface Entry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

export class KeyStore {
  readonly #entries: readonly Entry[];

  /** Throws on a malformed spec or a key configured twice (messages name the user, never the key). */
  constructor(specs: readonly ApiKeySpec[]) {
    const entries: Entry[] = [];
    specs.forEach((spec, index) => {
      const what = `API key #${index + 1} (user ${JSON.stringify(spec.user)})`;
      if (spec.user === "") throw new Error(`${what}: empty user`);
      const d = specDigest(spec, what);
      if (entries.some((e) => e.digest.equals(d))) throw new Error(`${what}: the same key is configured twice`);
      const models = spec.models === undefined ? undefined : new Set(spec.models);
      entries.push({ digest: d, principal: Object.freeze({ user: spec.user, models, limits: { ...spec.limits }, index }) });
    });
    this.#entries = entries;
  }

  /** True when at least one key is configured (the server then requires one). */
  get enabled(): boolean {
    return this.#entries.length > 0;
  }

  /** The configured user ids, distinct (the bound on the metrics' `user` label). */
  get users(): string[] {
    return [...new Set(this.#entries.map((e) => e.principal.user))];
  }

  /** The key `token` is, if any: constant time in the token and over all keys. */
  authenticate(token: string): Principal | undefined {
    const presented = digest(token);
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      // No early exit: every entry is compared.
      if (timingSafeEqual(presented, entry.digest) && found === undefined) found = entry.principal;
    }
    return found;
  }
}

/** One key compared in constant time (the admin key). */
export class SingleKey {
  readonly #digest: Buffer;

  constructor(spec: { key: string } | { sha256: string }, what = "admin key") {
    this.#digest = specDigest(spec, what);
  }

  matches(token: string): boolean {
    return timingSafeEqual(digest(token), this.#digest);
  }
}
