/**
 * What an upstream model is: an OpenAI-compatible server (vLLM, SGLang, llama.cpp's server,
 * another Parley) that Parley forwards requests for one model id to. Filled from the config file
 * (`models: [{id, upstream: {…}}]`); consumed by the upstream engine.
 */
import type { AffinityOptions } from "./affinity.ts";
import type { UpstreamDialect } from "./dialect.ts";

export interface UpstreamModelOptions {
  /** The id clients send in `model`. */
  readonly id: string;
  /** Replicas' base URLs, each up to and including `/v1` (e.g. `http://10.0.0.5:8000/v1`). */
  readonly baseUrls: readonly string[];
  /** The model name the upstream expects. */
  readonly model: string;
  /** Bearer token for the upstream (the secret itself, resolved from an environment variable; never logged). */
  readonly apiKey?: string;
  /** Longest a request may take upstream, in ms (default 600 000: `DEFAULT_UPSTREAM_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
  /** Requests in flight to this model across its replicas before new ones wait (default: no limit). */
  readonly maxConcurrent?: number;
  /** Extra headers sent upstream. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Request fields the upstream does not support: dropped before forwarding, or rejected with a 400 (default: none). */
  readonly unsupported?: { readonly fields: readonly string[]; readonly mode: "drop" | "reject" };
  /** Active health check period per replica, in ms (default 5 000). */
  readonly healthIntervalMs?: number;
  /** The fields the upstream reads (default: probed at start, see `probe.ts`; `openai` when that fails). */
  readonly dialect?: UpstreamDialect;
  /** Prefix affinity across replicas (default: on, with `AffinityOptions`' defaults); `false`: least outstanding only. */
  readonly affinity?: AffinityOptions | false;
  /** Requests that may wait for a place under `maxConcurrent` (default 64: the server's `--queue-size`). */
  readonly maxQueue?: number;
  /** Longest wait for a place, in ms, before a 429 (default 60 000: the server's `--queue-timeout`; 0: none). */
  readonly queueTimeoutMs?: number;
  /** `embedding`: an embedding model, whose requests go to the upstream's `/embeddings` (default: a chat model). */
  readonly kind?: "embedding";
}
