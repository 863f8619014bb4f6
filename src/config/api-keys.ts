/**
 * API keys: who may call Parley, as which user, for which models, within which limits. Filled from
 * `--api-key` / `PARLEY_API_KEYS` and the config file's `keys:`; consumed by the HTTP auth layer.
 */

export interface ApiKeyLimits {
  /** Requests started per minute (sliding window). */
  readonly requestsPerMinute?: number;
  /** Prompt + completion tokens per minute (sliding window; counted when a request ends). */
  readonly tokensPerMinute?: number;
  /** Requests in flight at once. */
  readonly maxConcurrent?: number;
}

export interface ApiKeySpec {
  /** The user this key identifies (recorded in logs, metrics and the usage summary). */
  readonly user: string;
  /** The key itself, or its SHA-256 (hex) so the config file holds no secret; exactly one is set. */
  readonly key?: string;
  readonly sha256?: string;
  /** Model ids (or aliases) this key may use (default: all). */
  readonly models?: readonly string[];
  readonly limits?: ApiKeyLimits;
}
