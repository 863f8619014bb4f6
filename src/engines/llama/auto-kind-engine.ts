/**
 * A local model whose spec names no `kind`: served as what its GGUF says it is (model-kind.ts).
 * The registry builds engines synchronously, before the file is read (it may still have to be
 * downloaded), so this engine decides in `load()`: it resolves the file once, reads its header,
 * builds the chat engine (engine.ts) or the embedding engine (embed-engine.ts) for that file, and
 * from then on delegates the whole ChatEngine contract to it.
 *
 * Before the kind is known it answers as an engine that might be either: `capabilities` let chat
 * and embedding requests through to it, and every call is a 503 with `Retry-After` (loading), as
 * any engine's before it has loaded; `describe()` lists the model without a kind. Once the kind is
 * known, everything — capabilities, the text tools' presence, `describe()` — is the chosen
 * engine's, and the banner says why that kind was chosen.
 *
 * `estimateMemory()` may come first (the model lifecycle asks before loading): it resolves the file
 * and detects the kind the same way, once for both, and asks the engine of that kind.
 */
import { createHash } from "node:crypto";
import { DEFAULT_RETRY_AFTER_S, MODEL_LOADING, SHUTTING_DOWN } from "../../config/defaults.ts";
import type { ChatRequest } from "../../domain/chat.ts";
import type { EngineCapabilities } from "../../domain/capabilities.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEngine, EmbedRequest, EmbedResult, EngineDescription, EngineStats, Generation, MemoryEstimate, TokenizeOptions } from "../types.ts";
import { llamaCapabilities } from "./capabilities.ts";
import { detectModelKind, type DetectedModelKind, type LocalModelKind } from "./model-kind.ts";

/** Resolves a model's local file path (downloading it first when needed). */
export type ModelPath = (signal?: AbortSignal) => Promise<string>;

export interface AutoKindEngineOptions {
  /** The id clients send in `model`. */
  readonly modelId: string;
  /** Where the GGUF is; called once, by `load()`. */
  readonly path: ModelPath;
  /**
   * Builds the engine for the detected kind (nothing loaded yet); its `path` gives the file already
   * resolved. May throw when the spec's settings do not suit that kind (then `load()` rejects).
   */
  readonly create: (kind: LocalModelKind, path: ModelPath, detected: DetectedModelKind) => ChatEngine;
  /** Reads the kind from the file (default: detectModelKind, the GGUF's header). */
  readonly detect?: (path: string, signal?: AbortSignal) => Promise<DetectedModelKind>;
}

/** Until the kind is known: the chat engine's capabilities plus embeddings, so both kinds of request reach the 503. */
const UNDECIDED_CAPABILITIES: EngineCapabilities = { ...llamaCapabilities(false), embeddings: true };

/** The members the chosen engine may lack: here getters that may give undefined (see `autoKindEngine`). */
type OptionalMembers = "applyTemplate" | "tokenize" | "tokenBytes" | "embed";

/** Builds the engine, typed as the contract it keeps. */
export function autoKindEngine(options: AutoKindEngineOptions): ChatEngine {
  // exactOptionalPropertyTypes reads an optional method as "absent or a function"; a getter that
  // gives undefined is the same to every caller (they test `=== undefined`), but not to the checker.
  return new AutoKindEngine(options) as ChatEngine;
}

export class AutoKindEngine implements Omit<ChatEngine, OptionalMembers> {
  readonly #options: AutoKindEngineOptions;
  readonly #created = Math.floor(Date.now() / 1000);
  readonly #fingerprint: string;
  #target: ChatEngine | undefined;
  #detected: DetectedModelKind | undefined;
  #loading: Promise<void> | undefined;
  /** The file resolved and its kind detected; kept once it succeeded. */
  #choosing: Promise<{ readonly path: string; readonly detected: DetectedModelKind }> | undefined;
  /** The engine for the detected kind (built once, by `load()` or `estimateMemory()`). */
  #built: ChatEngine | undefined;
  #closing = false;

  constructor(options: AutoKindEngineOptions) {
    this.#options = options;
    this.#fingerprint = `fp_${createHash("sha256").update(`parley-auto:${options.modelId}`).digest("hex").slice(0, 10)}`;
  }

  /** The kind chosen and why; undefined until `load()` has read the file. */
  get detected(): DetectedModelKind | undefined {
    return this.#detected;
  }

  get fingerprint(): string {
    return this.#target?.fingerprint ?? this.#fingerprint;
  }

  get capabilities(): EngineCapabilities {
    return this.#target?.capabilities ?? UNDECIDED_CAPABILITIES;
  }

  load(signal?: AbortSignal): Promise<void> {
    this.#loading ??= this.#load(signal);
    return this.#loading;
  }

  async #load(signal?: AbortSignal): Promise<void> {
    const chosen = await this.#choose(signal);
    if (this.#closing) return;
    const target = this.#build(chosen);
    this.#detected = chosen.detected;
    this.#target = target;
    await target.load(signal);
  }

  /** Resolves the file and detects its kind, once (a failure is not kept). */
  #choose(signal?: AbortSignal): Promise<{ readonly path: string; readonly detected: DetectedModelKind }> {
    const choosing = (this.#choosing ??= (async () => {
      const path = await this.#options.path(signal);
      signal?.throwIfAborted();
      return { path, detected: await (this.#options.detect ?? detectModelKind)(path, signal) };
    })());
    choosing.catch(() => {
      if (this.#choosing === choosing) this.#choosing = undefined;
    });
    return choosing;
  }

  #build({ path, detected }: { readonly path: string; readonly detected: DetectedModelKind }): ChatEngine {
    this.#built ??= this.#options.create(detected.kind, async () => path, detected);
    return this.#built;
  }

  /** The estimate of the engine of the file's kind (see above). */
  async estimateMemory(signal?: AbortSignal): Promise<MemoryEstimate> {
    const target = this.#build(await this.#choose(signal));
    if (target.estimateMemory === undefined) throw new Error(`model \`${this.#options.modelId}\`: its engine cannot estimate its memory`);
    return target.estimateMemory(signal);
  }

  isReady(): boolean {
    return !this.#closing && this.#target?.isReady() === true;
  }

  describe(): EngineDescription {
    const target = this.#target;
    if (target === undefined) return { models: [{ id: this.#options.modelId, created: this.#created, ownedBy: "parley" }], banner: undefined };
    const description = target.describe();
    const banner = description.banner;
    if (banner === undefined || this.#detected === undefined) return description;
    return { ...description, banner: { ...banner, fields: { ...banner.fields, kindDetected: this.#detected.reason } } };
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    return this.#ready().generate(request, signal);
  }

  // The optional members are the chosen engine's, present exactly when it has them (the text-tool
  // routes and /v1/embeddings test for them); before the kind is known, present and answering 503.

  get applyTemplate(): ((request: ChatRequest, signal: AbortSignal) => Promise<string>) | undefined {
    const target = this.#target;
    if (target === undefined) return () => this.#unavailable();
    return target.applyTemplate?.bind(target);
  }

  get tokenize(): ((text: string, options?: TokenizeOptions) => Promise<readonly number[]>) | undefined {
    const target = this.#target;
    if (target === undefined) return () => this.#unavailable();
    return target.tokenize?.bind(target);
  }

  get tokenBytes(): ((tokens: readonly number[]) => readonly Uint8Array[]) | undefined {
    const target = this.#target;
    if (target === undefined) {
      return () => {
        throw this.#unavailableError();
      };
    }
    return target.tokenBytes?.bind(target);
  }

  get embed(): ((request: EmbedRequest, signal: AbortSignal) => Promise<EmbedResult>) | undefined {
    const target = this.#target;
    if (target === undefined) return () => this.#unavailable();
    return target.embed?.bind(target);
  }

  stats(): EngineStats {
    return this.#target?.stats?.() ?? { queued: 0, active: 0, slots: 0 };
  }

  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    await this.#target?.close(graceMs);
  }

  /** The chosen engine, or the 503 every engine answers before it has loaded (or while it closes). */
  #ready(): ChatEngine {
    const target = this.#target;
    if (target === undefined || this.#closing) throw this.#unavailableError();
    return target;
  }

  async #unavailable(): Promise<never> {
    throw this.#unavailableError();
  }

  #unavailableError(): ParleyError {
    return new ParleyError("unavailable", this.#closing ? SHUTTING_DOWN : MODEL_LOADING, { retryAfter: DEFAULT_RETRY_AFTER_S });
  }
}
