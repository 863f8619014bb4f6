/**
 * A local embedding model (config `kind: embedding`): loads the GGUF as an embedding model
 * (embed-host.ts) and answers `embed()` (embed-inputs.ts); it generates nothing, which its
 * capabilities say (LLAMA_EMBEDDING_CAPABILITIES), so the router's check refuses chat and text
 * completion requests naming its kind. `dimensions` is honoured only when the model is declared
 * Matryoshka-trained (`matryoshka: true`): truncating another model's vectors gives meaningless ones.
 */
import { createHash } from "node:crypto";
import type { LlamaEmbeddingContext } from "node-llama-cpp";
import { DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_RETRY_AFTER_S, MODEL_LOADING, SHUTTING_DOWN } from "../../config/defaults.ts";
import type { EngineCapabilities } from "../../domain/capabilities.ts";
import { invalidRequest, ParleyError } from "../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../domain/limits.ts";
import type { Logger } from "../../util/logger.ts";
import type { ChatEngine, EmbedRequest, EmbedResult, EngineDescription, EngineStats, Generation, MemoryEstimate } from "../types.ts";
import { LLAMA_EMBEDDING_CAPABILITIES } from "./capabilities.ts";
import { loadEmbedHost, type EmbedHost } from "./embed-host.ts";
import { embedPrepared, prepareInputs } from "./embed-inputs.ts";
import { SILENT_LOGGER, type LocalModelLoad } from "./load-model.ts";
import { LongPromptTokenizer } from "./long-prompts.ts";
import { estimateModelMemory, onceEstimate } from "./memory-estimate.ts";
import { placementBanner } from "./placement-banner.ts";
import { SequencePool } from "./sequence-pool.ts";

export interface LlamaEmbeddingEngineOptions {
  /** The id clients send in `model`. */
  readonly modelId: string;
  /** What `load()` loads (`parallel`: embedding contexts, default 1; `chatTemplateFile` and `adapters` do not apply). */
  readonly model: LocalModelLoad;
  /** The model was trained so that its vectors' leading components are an embedding themselves (Matryoshka): `dimensions` may cut them (default false). */
  readonly matryoshka?: boolean;
  /** Requests allowed to wait for a context before new ones get 429 (default 64). */
  readonly maxQueue?: number;
  /** Milliseconds a request may wait for its first context before it gets 429 (default 60 000; 0: no limit). */
  readonly queueTimeoutMs?: number;
  /** Request limits: long inputs are tokenized off the event loop (default DEFAULT_LIMITS). */
  readonly limits?: RequestLimits;
  /** Where llama.cpp's messages go (default: nowhere). */
  readonly logger?: () => Logger | undefined;
}

export class LlamaEmbeddingEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly capabilities: EngineCapabilities = LLAMA_EMBEDDING_CAPABILITIES;
  readonly #options: LlamaEmbeddingEngineOptions;
  readonly #created = Math.floor(Date.now() / 1000);
  readonly #running = new Set<Promise<unknown>>();
  #host: EmbedHost | undefined;
  #pool: SequencePool<LlamaEmbeddingContext> | undefined;
  #tokenizer: LongPromptTokenizer | undefined;
  #loading: Promise<void> | undefined;
  #closing = false;
  /** What loading takes, from the file (memory-estimate.ts), computed once. */
  readonly #estimate = onceEstimate(async (signal) => {
    const { model } = this.#options;
    return estimateModelMemory(await model.path(signal), { ...model, kind: "embedding" }, signal);
  });

  constructor(options: LlamaEmbeddingEngineOptions) {
    this.#options = options;
    this.fingerprint = `fp_${createHash("sha256").update(`parley-embedding:${options.modelId}`).digest("hex").slice(0, 10)}`;
  }

  load(signal?: AbortSignal): Promise<void> {
    this.#loading ??= this.#load(signal);
    return this.#loading;
  }

  async #load(signal?: AbortSignal): Promise<void> {
    const { model } = this.#options;
    const modelPath = await model.path(signal);
    signal?.throwIfAborted();
    const host = await loadEmbedHost({
      modelPath,
      logger: this.#options.logger?.() ?? SILENT_LOGGER,
      ...(model.contextSize === undefined ? {} : { contextSize: model.contextSize }),
      ...(model.parallel === undefined ? {} : { parallel: model.parallel }),
      ...(model.threads === undefined ? {} : { threads: model.threads }),
      ...(model.verbose === undefined ? {} : { verbose: model.verbose }),
      ...(model.placement === undefined ? {} : { placement: model.placement }),
      ...(model.gpu === undefined ? {} : { gpu: model.gpu }),
    });
    if (this.#closing) {
      await host.dispose();
      return;
    }
    this.#host = host;
    this.#tokenizer = new LongPromptTokenizer(modelPath, this.#options.limits ?? DEFAULT_LIMITS);
    this.#pool = new SequencePool({ items: host.contexts, maxQueue: this.#options.maxQueue ?? DEFAULT_QUEUE_SIZE, queueTimeoutMs: this.#options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS });
  }

  isReady(): boolean {
    return this.#host !== undefined && !this.#closing;
  }

  describe(): EngineDescription {
    const host = this.#host;
    const model = { id: this.#options.modelId, created: this.#created, ownedBy: "parley", kind: "embedding" as const };
    if (host === undefined) return { models: [model], banner: undefined };
    return {
      models: [{ ...model, contextLength: host.contextSize, dimensions: host.dimensions, placement: host.placement }],
      banner: {
        message: `embedding model ready: send /v1/embeddings requests with "model": "${this.#options.modelId}"`,
        fields: {
          kind: "embedding",
          dimensions: host.dimensions,
          pooling: host.pooling,
          contextSize: host.contextSize,
          contexts: host.contexts.length,
          threads: host.threads,
          placement: placementBanner(host.placement),
        },
      },
    };
  }

  /** What loading takes, from the GGUF (downloaded first if needed) for the settings it loads with; computed once. */
  estimateMemory(signal?: AbortSignal): Promise<MemoryEstimate> {
    // Once loaded: for what it got (placement-options.ts), not what it asked for.
    return this.#host === undefined ? this.#estimate(signal) : Promise.resolve(this.#host.placement.memory);
  }

  stats(): EngineStats {
    const pool = this.#pool;
    return { queued: pool?.waitingRequests ?? 0, active: pool?.activeItems ?? 0, slots: pool?.size ?? 0 };
  }

  /** Never reached through the router (its capability check refuses first); refused the same way here. */
  async generate(): Promise<Generation> {
    throw new ParleyError("invalid_request", `The model \`${this.#options.modelId}\` is an embedding model (kind \`embedding\`): it answers \`/v1/embeddings\` only, and generates no text.`, {
      param: "model",
    });
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const host = this.#host;
    const pool = this.#pool;
    const tokenizer = this.#tokenizer;
    if (host === undefined || pool === undefined || tokenizer === undefined || this.#closing) {
      throw new ParleyError("unavailable", this.#closing ? SHUTTING_DOWN : MODEL_LOADING, { retryAfter: DEFAULT_RETRY_AFTER_S });
    }
    const { dimensions } = request;
    if (dimensions !== undefined) {
      if (this.#options.matryoshka !== true) {
        throw invalidRequest(
          `\`dimensions\` cannot be honoured for model \`${request.model}\`: it is not declared Matryoshka-trained (\`matryoshka: true\` in its config entry), and cutting its vectors short would make them meaningless.`,
          ["dimensions"],
          "unsupported",
        );
      }
      if (dimensions > host.dimensions) throw invalidRequest(`\`dimensions\` is ${dimensions}, but the model \`${request.model}\`'s vectors have ${host.dimensions}.`, ["dimensions"]);
    }
    const inputs = await prepareInputs(host, request.inputs, tokenizer);
    const run = embedPrepared(pool, inputs, dimensions, signal);
    this.#running.add(run);
    try {
      return await run;
    } finally {
      this.#running.delete(run);
    }
  }

  /** Refuses new requests, lets running ones finish for up to `graceMs`, then frees the model. */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#pool?.close();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.#running]), grace]);
    clearTimeout(timer);
    await this.#tokenizer?.close();
    // Evaluations cannot be interrupted; each is one decode, so waiting for them is short.
    await Promise.allSettled([...this.#running]);
    await this.#host?.dispose();
  }
}
