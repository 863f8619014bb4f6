/**
 * The engine contract: what the router hands a validated domain request to, kept apart from its
 * implementations (engines/llama, engines/upstream, …) as the AI SDK keeps `LanguageModelV4` apart
 * from its providers. Engines never import the HTTP framework; they speak only domain types.
 *
 * A new kind of engine is one folder implementing `ChatEngine` and one entry in
 * engines/registry.ts. The rules every engine follows:
 *
 * - **Loading.** `load()` starts loading (idempotent) and resolves once the engine can serve, or
 *   rejects with why it cannot. Until then `isReady()` is false and `generate()` (and the text
 *   tools) throw `ParleyError("unavailable", …)` with `retryAfter` (a 503 with `Retry-After`);
 *   after `close()` began, the same with "The server is shutting down."
 * - **Capabilities.** `capabilities` says what the engine can do with a request (domain/capabilities.ts);
 *   whoever routes a request to the engine calls `checkCapabilities` (router/capabilities.ts)
 *   first, which refuses the rest with a 400 naming the client's field. An engine may still
 *   refuse a finer point while generating (a value, a combination), up front, as a 400 naming the
 *   field. It may depend on the loaded model (fill-in-the-middle): a getter.
 * - **Errors before events.** Everything that can be refused up front (prompt too long, invalid
 *   token ids, queue full, upstream 4xx) is thrown from `generate()`'s promise, before any event,
 *   so the HTTP layer can still answer with a status code. A failure after that ends the event
 *   iterable by throwing.
 * - **Abort.** `signal` aborting stops generation and frees its resources at once (slots, upstream
 *   connections); `generate()` then rejects with the signal's reason, or the events end by
 *   throwing it.
 * - **Usage, always.** Every started generation reports a final `usage` event before its events
 *   end — when it finishes, and also when it is aborted or fails after starting (what was
 *   generated so far, estimated where the engine cannot count it) — so per-key token limits and
 *   usage summaries see all of it.
 * - **Warnings.** Things the client should know that did not stop the request (ignored schema
 *   keywords, fields an upstream's configuration drops) are returned in `Generation.warnings`, as
 *   human-readable sentences that name the field (the HTTP layer sends them in
 *   `x-parley-warnings`).
 */
import type { ChatRequest } from "../domain/chat.ts";
import type { EngineCapabilities } from "../domain/capabilities.ts";
import type { ChatEvent } from "../domain/events.ts";
import type { ToolFamilyOrigin } from "../chat/tools/family.ts";

export interface ModelInfo {
  /** The id clients send in `model`. */
  readonly id: string;
  /** Unix seconds when the model became available. */
  readonly created: number;
  readonly ownedBy: string;
  /** Tokens one request can hold (prompt and output: a slot's context); absent until it has loaded, and for upstream models. */
  readonly contextLength?: number;
  /** The formats the model was found to use; absent until it has loaded, and for upstream models. */
  readonly formats?: ModelFormats;
  /** What the model does: absent for a chat model (generates text), `embedding` for one that answers `/v1/embeddings` only. */
  readonly kind?: "embedding";
  /** An embedding model's vector length (n_embd); absent until it has loaded, and for upstream models. */
  readonly dimensions?: number;
  /** Where a loaded local model runs (device, layers offloaded, memory); absent otherwise. */
  readonly placement?: ModelPlacementInfo;
  /** A local model's lifecycle state and memory estimate (router/managed-model.ts); absent for upstream models. */
  readonly lifecycle?: ModelLifecycleInfo;
}

/** The states of a local model (llama-server's router mode names the first three alike). */
export type ModelStatus = "unloaded" | "loading" | "loaded" | "unloading" | "failed";

export interface ModelLifecycleInfo {
  readonly status: ModelStatus;
  /** Why the last load failed (status `failed`). */
  readonly error?: string;
  /** Download progress while a remote model is fetched for its first load. */
  readonly download?: { readonly receivedBytes: number; readonly totalBytes?: number };
  /** What it takes loaded, estimated from the GGUF (absent until the file is on disk). */
  readonly memory?: MemoryEstimate;
  /** Never unloaded but on request. */
  readonly pinned: boolean;
  /** Seconds without requests before it unloads (absent: only to make room). */
  readonly ttl?: number;
}

/**
 * Which tool-call and reasoning formats a loaded model was given, and from which template, so the
 * start-up log and `/v1/models` can say why a model behaves as it does (one report for both).
 */
export interface ModelFormats {
  /**
   * How requests with tools expect calls to be written: the family's name (`hermes`, `llama3`, …,
   * `generic`) and whether it was written by hand, derived from the template, or the generic envelope.
   */
  /** `reason`: why this format (its markers in the template, derived, or why derivation failed). */
  readonly toolCalls: { readonly format: string; readonly source: ToolFamilyOrigin; readonly reason: string };
  /** How the model marks its thoughts (`none`: it does not reason, as far as its template says). */
  readonly reasoning: ModelReasoningFormat;
  /** Where the chat template came from: the GGUF, `--chat-template-file`, or the built-in ChatML default. */
  readonly template: "gguf" | "override" | "default";
  /** Whether requests with tools render with the GGUF's separate `tool_use` template. */
  readonly toolUseTemplate: boolean;
}

export type ModelReasoningFormat =
  | { readonly format: "none" }
  | {
      readonly format: "tags";
      readonly open: string;
      readonly close: string;
      /** Markers named in the template (a known pair), or derived from its rendering of thoughts. */
      readonly source: "known" | "derived";
      readonly answer?: { readonly open: string; readonly close: string };
    }
  | { readonly format: "harmony" };

/** Bytes a model takes loaded (weights, KV cache, compute buffers), in host RAM and in GPU memory. */
export interface MemoryEstimate {
  readonly ram: number;
  readonly vram: number;
}

/** Where a loaded local model runs, for `/v1/models` and the start-up log. */
export interface ModelPlacementInfo {
  /** `cpu`, or the GPU backend (`cuda`, `vulkan`, `metal`). */
  readonly device: string;
  /** Layers offloaded to the GPU, of `totalLayers`. */
  readonly gpuLayers: number;
  readonly totalLayers: number;
  /** Whether its contexts use flash attention. */
  readonly flashAttention: boolean;
  /** Type of the KV cache's keys and values (`f16`, `q8_0`, `q4_0`). */
  readonly kvCacheType: string;
  /** What it takes, estimated from the GGUF for the settings it was loaded with. */
  readonly memory: MemoryEstimate;
}

/** A started generation. */
export interface Generation {
  /** The events, ending with one `usage` event (see the contract above); they throw on failure or abort. */
  readonly events: AsyncIterable<ChatEvent>;
  /**
   * Things the client should know that did not stop the request (e.g. ignored schema keywords, a
   * field the upstream's configuration drops): one sentence each, naming the field.
   */
  readonly warnings: readonly string[];
}

/**
 * What the start-up log prints for an engine once it has loaded: a headline and the structured
 * fields the log line carries (a local model: context size, slots, threads, formats; an upstream:
 * its model name, replicas, dialect). The server adds `model` and `aliases`.
 */
export interface EngineBanner {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** What `/v1/models` and the start-up log show of an engine. */
export interface EngineDescription {
  /** The models it serves (one per engine today), with what is known so far. */
  readonly models: readonly ModelInfo[];
  /** The start-up log line; undefined until the engine has loaded. */
  readonly banner: EngineBanner | undefined;
}

/** An embedding request (`/v1/embeddings`), for engines whose `capabilities.embeddings` is true. */
export interface EmbedRequest {
  /** Model id as sent by the client. */
  readonly model: string;
  /**
   * The texts or token-id lists to embed, one vector each, in order (none empty). A token-id list
   * is read as the tokens of a text: the model's BOS/EOS are added to it as to a text.
   */
  readonly inputs: readonly (string | readonly number[])[];
  /**
   * Truncate each vector to this many dimensions and renormalise it (OpenAI `dimensions`), when
   * set: only for models trained for it (Matryoshka); others refuse it with a 400 naming `dimensions`.
   */
  readonly dimensions?: number;
  /** The client's end-user id (`user`), forwarded to upstreams. */
  readonly user?: string;
  /** Seconds a local model stays loaded once idle after this request (`keep_alive`, see `Scheduling.keepAlive`). */
  readonly keepAlive?: number;
}

/** One vector per input, in order, and the tokens read. */
export interface EmbedResult {
  /** Unit-length (L2) vectors, float32 as the model computes them. */
  readonly vectors: readonly Float32Array[];
  /** Tokens evaluated for all inputs, the special tokens the model adds included. */
  readonly promptTokens: number;
}

/** Decode batches the engine dispatched since it started (see `EngineStats`). */
export interface DecodeBatchStats {
  /** Decode batches dispatched. */
  readonly batches: number;
  /** Batches that held tokens of more than one sequence. */
  readonly multiSequenceBatches: number;
  /** Sum over batches of the sequences each held. */
  readonly sequences: number;
  /** Tokens evaluated in all batches. */
  readonly tokens: number;
}

/** A snapshot of an engine's load, for monitoring. */
export interface EngineStats {
  /** Requests with a choice waiting for a slot. */
  readonly queued: number;
  /** Slots (sequences) generating now. */
  readonly active: number;
  /** Slots in all. */
  readonly slots: number;
  /**
   * Slots held by work of requests that have already ended (the watchdog's view: a step still
   * running in the engine after its request was abandoned), counted in `active` too.
   */
  readonly held?: number;
  /** Slots taken back from finished requests that had not returned them, since start (a bug). */
  readonly reclaimed?: number;
  /** Decode batch counters, when the engine keeps them. */
  readonly batches?: DecodeBatchStats;
  /** The prompt cache beyond the slots (`--prompt-cache-ram`, `--prompt-cache-dir`), when the engine has one. */
  readonly promptCache?: PromptCacheStats;
  /** Speculative decoding: drafted tokens kept and discarded, all draft sources together, when the engine drafts. */
  readonly drafts?: DraftTotals;
}

/** Drafted tokens since the engine loaded: kept in outputs, and evaluated but discarded. */
export interface DraftTotals {
  readonly accepted: number;
  readonly rejected: number;
}

/** A prompt cache's counters since the engine loaded (engines/llama/prompt-cache-slots.ts). */
export interface PromptCacheStats {
  /** States held in RAM, and their bytes. */
  readonly entries: number;
  readonly bytes: number;
  /** States held on disk (`--prompt-cache-dir`), and their bytes. */
  readonly diskEntries: number;
  readonly diskBytes: number;
  /** Prompts a saved state could have helped: a state was restored (hit) or none was found (miss). */
  readonly hits: number;
  readonly misses: number;
  /** States saved, and the tokens they held. */
  readonly saves: number;
  readonly savedTokens: number;
  /** Bytes of the states saved (their files), evicted ones included. */
  readonly savedBytes: number;
  /** Prompt tokens brought back by restores (counted in `cached_tokens` too). */
  readonly restoredTokens: number;
  /** States evicted for room. */
  readonly evictions: number;
  /** Milliseconds spent saving and restoring states. */
  readonly saveMs: number;
  readonly restoreMs: number;
}

/** Options of `ChatEngine.tokenize`. */
export interface TokenizeOptions {
  /**
   * Add the special tokens the model's tokenizer adds to text it encodes: BOS when the model asks
   * for it, EOS when it appends one (rare), even if the text already starts with BOS, as
   * llama.cpp's `add_special` does (default false: the text's tokens only).
   */
  readonly addSpecial?: boolean;
  /** The request field long-text failures (tokenizing time limit) name (default `content`). */
  readonly field?: string;
}

export interface ChatEngine {
  /** Identifies the engine configuration in responses (`system_fingerprint`). */
  readonly fingerprint: string;
  /** What the engine can do with a request; may change once it has loaded (a getter then). */
  readonly capabilities: EngineCapabilities;
  /**
   * Starts loading (a second call returns the same promise) and resolves once the engine can
   * serve; rejects when it cannot (the file is missing, the model does not fit). `signal` gives up
   * on a load still running.
   */
  load(signal?: AbortSignal): Promise<void>;
  /** True once loaded, and not closing (an upstream: while a replica takes traffic). */
  isReady(): boolean;
  /** The models it serves and its start-up log line (`/v1/models`, the banner). */
  describe(): EngineDescription;
  /**
   * Starts generation (see the contract above: errors before events, abort, usage always,
   * warnings). 503 with `retryAfter` while loading or closing.
   */
  generate(request: ChatRequest, signal: AbortSignal): Promise<Generation>;
  /**
   * The exact prompt text `generate` would tokenize for `request` (`/apply-template`), with the
   * leading BOS text left out when the model adds BOS itself, as llama-server does: the text's
   * tokens with `addSpecial` are then exactly the generation's prompt tokens. Engines that cannot
   * (upstreams) leave these text tools out.
   */
  applyTemplate?(request: ChatRequest, signal: AbortSignal): Promise<string>;
  /** The text's token ids, special-token strings parsed as special tokens (`/tokenize`). */
  tokenize?(text: string, options?: TokenizeOptions): Promise<readonly number[]>;
  /**
   * Each token's exact bytes (a control token's: its text); a bytes array may hold part of a
   * UTF-8 character. 400 naming `tokens[i]` for an id outside the vocabulary.
   */
  tokenBytes?(tokens: readonly number[]): readonly Uint8Array[];
  /**
   * Embeds the inputs (`/v1/embeddings`), for engines whose `capabilities.embeddings` is true
   * (embedding models). Same rules as `generate`: 503 while loading, everything refusable (an
   * input too long: 400 naming `input[i]`; `dimensions` the model cannot honour) thrown before
   * any work, 429 when its queue is full, `signal` aborts.
   */
  embed?(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult>;
  /**
   * What loading it would take, from the model file (downloading it first if needed), for the
   * settings it will load with. Engines whose memory Parley does not hold (upstreams) leave it out.
   */
  estimateMemory?(signal?: AbortSignal): Promise<MemoryEstimate>;
  /** Current load, for `/metrics` (engines that keep none leave it out). */
  stats?(): EngineStats;
  /** Stops accepting work, waits up to `graceMs` for running requests, then releases everything. */
  close(graceMs: number): Promise<void>;
}
