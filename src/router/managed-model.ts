/**
 * A local model that loads on demand and unloads when idle or to make room: an engine (engines/
 * types.ts) standing for the engine that serves the model, built afresh by `create` for each load
 * (an engine's `close()` is final). The router and the HTTP layer use it as any engine; the pool
 * (model-pool.ts) decides across models.
 *
 * States: `unloaded` → `loading` → `loaded` → `unloading` → `unloaded`; a failed load is `failed`
 * (with why) until the next request or `POST /models/load` tries again.
 *
 * - **Requests wait for the load.** Every call that needs the model (generate, embed, the text
 *   tools) holds a lease from its arrival until its events end, so a model with running or waiting
 *   requests is never unloaded. A request waits for its model to load up to the pool's `waitMs`,
 *   then gets a 503 with `Retry-After`; a request arriving while its model unloads waits for the
 *   unload, then loads it again. Concurrent first requests share one load (and one download).
 * - **Capabilities.** Until loaded, they are what the model might take (`pendingCapabilities`),
 *   so a request reaches `generate()`, which loads the model and then checks the request against
 *   the loaded engine's own capabilities, refusing by name what it cannot do.
 * - **Idle unload.** Once its last lease ends, the model unloads after the last request's
 *   `keep_alive` (seconds; -1: never; 0: at once), else its `ttl`, else the pool's `idleTtlS`
 *   (0: never). Pinned models are only unloaded on request.
 */
import type { EngineCapabilities } from "../domain/capabilities.ts";
import type { ChatRequest } from "../domain/chat.ts";
import { ParleyError } from "../domain/errors.ts";
import { SHUTTING_DOWN } from "../config/defaults.ts";
import type { ChatEngine, EmbedRequest, EmbedResult, EngineDescription, EngineStats, Generation, MemoryEstimate, ModelInfo, ModelStatus, TokenizeOptions } from "../engines/types.ts";
import { releasing, waitFor } from "../util/waiting.ts";
import { type Lease, ModelUsage } from "./model-usage.ts";
import { checkCapabilities, checkEmbeddingCapabilities } from "./capabilities.ts";
import type { ModelPool, PooledModel, UnloadReason } from "./model-pool.ts";

export interface ManagedModelOptions {
  readonly id: string;
  /** Builds a fresh engine for the model (nothing loaded yet); called again after each unload. */
  readonly create: () => ChatEngine;
  /** What the model might take before it has loaded (its engine's check runs again once it has). */
  readonly pendingCapabilities: EngineCapabilities;
  readonly pool: ModelPool;
  /** Only unloaded on request (default false). */
  readonly pin?: boolean;
  /** Seconds without requests before it unloads; 0: only to make room (default: the pool's `idleTtlS`). */
  readonly ttlS?: number;
  /** Loaded at start: the server is not ready until it is (default false). */
  readonly preload?: boolean;
}

/** Least time between two download events of one model. */
const DOWNLOAD_EVENT_MS = 500;

export class ManagedModel implements ChatEngine, PooledModel {
  readonly id: string;
  readonly pinned: boolean;
  readonly preload: boolean;
  readonly #options: ManagedModelOptions;
  readonly #pool: ModelPool;
  #engine: ChatEngine;
  #status: ModelStatus = "unloaded";
  #error: string | undefined;
  #loading: Promise<void> | undefined;
  #unloading: Promise<void> | undefined;
  readonly #usage: ModelUsage;
  #memory: MemoryEstimate | undefined;
  /** What the model said of itself when last loaded (context length survives an unload). */
  #lastLoaded: ModelInfo | undefined;
  #download: { readonly receivedBytes: number; readonly totalBytes?: number } | undefined;
  /** When the last download event went out (they are sent at most every DOWNLOAD_EVENT_MS). */
  #downloadEventAt = 0;
  #closed = false;
  readonly #stopLoading = new AbortController();

  constructor(options: ManagedModelOptions) {
    this.id = options.id;
    this.pinned = options.pin === true;
    this.preload = options.preload === true;
    this.#options = options;
    this.#pool = options.pool;
    this.#engine = options.create();
    this.#usage = new ModelUsage({
      ttlS: () => this.#ttlS(),
      mayExpire: () => !this.pinned && !this.#closed && this.#status === "loaded",
      expire: () => void this.unload("idle"),
      released: () => this.#pool.changed(),
    });
    this.#pool.add(this);
  }

  get status(): ModelStatus {
    return this.#status;
  }

  get busy(): boolean {
    return this.#usage.busy;
  }

  get lastUsed(): number {
    return this.#usage.lastUsed;
  }

  get memory(): MemoryEstimate | undefined {
    return this.#memory;
  }

  get fingerprint(): string {
    return this.#engine.fingerprint;
  }

  get capabilities(): EngineCapabilities {
    return { ...(this.#status === "loaded" ? this.#engine.capabilities : this.#options.pendingCapabilities), keepAlive: true };
  }

  /** Loads the model if it is not (waiting for an unload first); resolves once it can serve. */
  load(signal?: AbortSignal): Promise<void> {
    return waitFor(this.#ensureLoaded(), signal);
  }

  isReady(): boolean {
    if (this.#closed) return false;
    if (this.#status === "loaded") return this.#engine.isReady();
    return !this.preload;
  }

  describe(): EngineDescription {
    const now = this.#engine.describe();
    const ttl = this.#ttlS();
    const lifecycle = {
      status: this.#status,
      pinned: this.pinned,
      ...(this.#error === undefined ? {} : { error: this.#error }),
      ...(this.#memory === undefined ? {} : { memory: this.#memory }),
      ...(this.#download === undefined || this.#status !== "loading" ? {} : { download: this.#download }),
      ...(ttl <= 0 || this.pinned ? {} : { ttl }),
    };
    const models = now.models.map((model) => {
      const contextLength = model.contextLength ?? this.#lastLoaded?.contextLength;
      return { ...model, ...(contextLength === undefined ? {} : { contextLength }), lifecycle };
    });
    return { models, banner: now.banner };
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    const lease = await this.#acquire(signal);
    try {
      checkCapabilities(request, this); // the loaded model's own, now that it is known
      const generation = await this.#engine.generate(request, signal);
      const release = () => lease.release(request.scheduling.keepAlive);
      signal.addEventListener("abort", release, { once: true }); // events a client abandoned unread end the lease too
      return { ...generation, events: releasing(generation.events, release) };
    } catch (error) {
      lease.release(request.scheduling.keepAlive);
      throw error;
    }
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const lease = await this.#acquire(signal);
    try {
      checkEmbeddingCapabilities(request, this.capabilities); // the loaded model's own, now that it is known
      const embed = this.#engine.embed?.bind(this.#engine);
      if (embed === undefined) throw new Error(`the engine of \`${this.id}\` says it embeds, and has no embed()`);
      return await embed(request, signal);
    } finally {
      lease.release(request.keepAlive);
    }
  }

  async applyTemplate(request: ChatRequest, signal: AbortSignal): Promise<string> {
    return this.#withEngine(signal, "applyTemplate", (engine) => engine.applyTemplate?.(request, signal));
  }

  async tokenize(text: string, options?: TokenizeOptions): Promise<readonly number[]> {
    return this.#withEngine(undefined, "tokenize", (engine) => engine.tokenize?.(text, options));
  }

  tokenBytes(tokens: readonly number[]): readonly Uint8Array[] {
    const bytes = this.#status === "loaded" ? this.#engine.tokenBytes?.(tokens) : undefined;
    if (bytes === undefined) throw new ParleyError("unavailable", `The model \`${this.id}\` is not loaded.`, { retryAfter: 1 });
    return bytes;
  }

  /** A download's progress while the model's file is fetched for its first load (the status shows it; events at most every DOWNLOAD_EVENT_MS). */
  reportDownload(progress: { readonly receivedBytes: number; readonly totalBytes?: number }): void {
    this.#download = progress;
    const now = performance.now();
    if (now - this.#downloadEventAt < DOWNLOAD_EVENT_MS && progress.receivedBytes !== progress.totalBytes) return;
    this.#downloadEventAt = now;
    this.#pool.emit({ type: "download", model: this.id, ...progress });
  }

  estimateMemory(signal?: AbortSignal): Promise<MemoryEstimate> {
    return this.#estimate(signal);
  }

  stats(): EngineStats {
    return (this.#status === "loaded" ? this.#engine.stats?.() : undefined) ?? { queued: 0, active: 0, slots: 0 };
  }

  /** Unloads the model (running requests get the pool's grace to finish); resolves once its memory is free. */
  async unload(reason: UnloadReason): Promise<void> {
    if (this.#loading !== undefined) await this.#loading.catch(() => undefined);
    if (this.#unloading !== undefined) return this.#unloading;
    if (this.#status !== "loaded") return;
    this.#usage.cancelExpiry();
    this.#setStatus("unloading");
    const engine = this.#engine;
    this.#unloading = (async () => {
      try {
        await engine.close(reason === "evicted" || reason === "idle" ? 0 : this.#pool.unloadGraceMs);
      } finally {
        if (!this.#closed) this.#engine = this.#options.create();
        this.#unloading = undefined;
        this.#setStatus("unloaded");
        this.#pool.emit({ type: "unloaded", model: this.id, reason });
      }
    })();
    return this.#unloading;
  }

  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    this.#stopLoading.abort(new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: 1 }));
    this.#usage.cancelExpiry();
    await this.#loading?.catch(() => undefined);
    await this.#unloading;
    if (this.#status === "loaded") this.#setStatus("unloading");
    await this.#engine.close(graceMs);
    if (this.#status === "unloading") this.#setStatus("unloaded");
  }

  /** Holds the model for one request: counted busy from now, loaded (or a 503) before it returns. */
  async #acquire(signal: AbortSignal | undefined): Promise<Lease> {
    const lease = this.#usage.lease();
    try {
      await waitFor(this.#ensureLoaded(), signal, this.#pool.waitMs, () => new ParleyError("unavailable", `The model \`${this.id}\` is still loading.`, { retryAfter: 1, code: "model_loading" }));
    } catch (error) {
      lease.release();
      throw error;
    }
    return lease;
  }

  async #withEngine<T>(signal: AbortSignal | undefined, method: string, use: (engine: ChatEngine) => Promise<T> | undefined): Promise<T> {
    const lease = await this.#acquire(signal);
    try {
      const result = use(this.#engine);
      if (result === undefined) throw new ParleyError("invalid_request", `\`${method}\` is not available for the model \`${this.id}\`.`, { param: "model", code: "model_not_supported" });
      return await result;
    } finally {
      lease.release();
    }
  }

  #ensureLoaded(): Promise<void> {
    if (this.#closed) return Promise.reject(new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: 1 }));
    if (this.#status === "loaded") return Promise.resolve();
    if (this.#loading !== undefined) return this.#loading;
    if (this.#unloading !== undefined) return this.#unloading.then(() => this.#ensureLoaded());
    const loading = this.#load().finally(() => {
      this.#loading = undefined;
    });
    this.#loading = loading;
    return loading;
  }

  async #load(): Promise<void> {
    const signal = this.#stopLoading.signal;
    this.#error = undefined;
    this.#setStatus("loading");
    try {
      const seconds = await this.#pool.exclusive(async () => {
        const memory = await this.#estimate(signal);
        await this.#pool.makeRoom(this, memory, signal);
        const started = performance.now();
        await this.#engine.load(signal);
        return (performance.now() - started) / 1000;
      });
      this.#lastLoaded = this.#engine.describe().models[0];
      this.#setStatus("loaded");
      this.#pool.emit({ type: "loaded", model: this.id, seconds, memory: this.#memory ?? { ram: 0, vram: 0 } });
      this.#usage.idle();
    } catch (error) {
      const failed = this.#engine;
      if (!this.#closed) this.#engine = this.#options.create();
      await failed.close(0).catch(() => undefined);
      this.#error = error instanceof Error ? error.message : String(error);
      this.#setStatus("failed");
      this.#pool.emit({ type: "load_failed", model: this.id, error: this.#error });
      if (error instanceof ParleyError) throw error;
      throw new ParleyError("unavailable", `The model \`${this.id}\` failed to load: ${this.#error}`, { retryAfter: 5, code: "model_load_failed", cause: error });
    }
  }

  async #estimate(signal?: AbortSignal): Promise<MemoryEstimate> {
    this.#memory ??= (await this.#engine.estimateMemory?.(signal)) ?? { ram: 0, vram: 0 };
    return this.#memory;
  }

  /** Seconds without requests before it unloads, as configured (≤ 0: never for idleness). */
  #ttlS(): number {
    return this.#options.ttlS ?? this.#pool.idleTtlS;
  }

  #setStatus(status: ModelStatus): void {
    this.#status = status;
    this.#pool.emit({ type: "status", model: this.id, status, ...(status === "failed" && this.#error !== undefined ? { error: this.#error } : {}) });
  }
}
