/**
 * The embedded llama.cpp engine: loads its model (`load()`, load-model.ts), then per request
 * renders and tokenizes the prompt, checks it fits, runs the request's choices concurrently on the
 * context's sequences (node-llama-cpp batches every active sequence into the same decode step) and
 * merges their events into one stream. Its capabilities: everything Parley's API offers but other
 * servers' extensions; fill-in-the-middle when the loaded model has FIM tokens.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { ChatRequest } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import { AsyncQueue } from "../../util/async-queue.ts";
import type { Logger } from "../../util/logger.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../domain/limits.ts";
import { DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RETRY_AFTER_S, DEFAULT_STEP_TIMEOUT_MS, MODEL_LOADING, SHUTTING_DOWN } from "../../config/defaults.ts";
import type { EngineCapabilities } from "../../domain/capabilities.ts";
import { llamaCapabilities } from "./capabilities.ts";
import type { ChatEngine, EngineDescription, EngineStats, Generation, MemoryEstimate, TokenizeOptions } from "../types.ts";
import { loadLocalModel, SILENT_LOGGER, type LocalModelLoad } from "./load-model.ts";
import { modelFormats } from "./model-templates.ts";
import { estimateChatModel, onceEstimate } from "./memory-estimate.ts";
import { placementBanner } from "./placement-banner.ts";
import { startsInThoughts } from "../../chat/reasoning/generation-prompt.ts";
import { runBeamChoices } from "./beam-choices.ts";
import { CacheKeySlots } from "./cache-key-slots.ts";
import { llamaEngineStats } from "./engine-stats.ts";
import { openPromptCache, type PromptCache } from "./prompt-cache-slots.ts";
import { GrammarCache } from "./grammar-cache.ts";
import { requestGrammar } from "./request-grammar.ts";
import type { ModelHost } from "./model-host.ts";
import { LongPromptTokenizer } from "./long-prompts.ts";
import { buildPrompt, checkGeneratedTokens, checkLogitBias, checkTokenIds } from "./prompt.ts";
import { RequestTemplates, type RequestTemplatesOptions } from "./request-templates.ts";
import type { RunContext, Sequence } from "./run-context.ts";
import { runSampledChoices } from "./sampled-choices.ts";
import { SequencePool, type HeldEvent } from "./sequence-pool.ts";
import { LlamaTextTools } from "./text-tools.ts";

export interface LlamaEngineOptions {
  /** The id clients send in `model`. */
  readonly modelId: string;
  /** What `load()` loads. Either this or `host`. */
  readonly model?: LocalModelLoad;
  /**
   * A model loaded elsewhere (tests, embedders), instead of `model`: the engine takes it when it
   * resolves, and reports not-ready until then.
   */
  readonly host?: Promise<ModelHost>;
  /** Requests allowed to wait for a slot before new ones get 429 (default 64). */
  readonly maxQueue?: number;
  /** Milliseconds a request may wait for its first slot before it gets 429 (default 60 000; 0: no limit). */
  readonly queueTimeoutMs?: number;
  /**
   * `max_tokens` for requests that send none (default: none, i.e. the room left in the context,
   * as OpenAI does; OctoAI used 512).
   */
  readonly defaultMaxTokens?: number;
  /**
   * Wall-clock limit of a request from its arrival, in ms (default 1 800 000; 0: none): running
   * choices then end with `finish_reason: "length"`, and one still waiting for its first slot gets
   * the queue's 429.
   */
  readonly requestTimeoutMs?: number;
  /** Longest one native step (a prompt batch, a token) may take before its request fails, in ms (default 300 000; 0: none). */
  readonly stepTimeoutMs?: number;
  /** Where the slot watchdog reports (default: nowhere). */
  readonly logger?: () => Logger | undefined;
  /** Request limits the engine enforces: grammar budget, generated tokens, tokenization (default DEFAULT_LIMITS). */
  readonly limits?: RequestLimits;
  /** How thoughts are told apart, and their default budget (see RequestTemplatesOptions; default auto, none). */
  readonly reasoning?: RequestTemplatesOptions;
}

export class LlamaEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly #options: LlamaEngineOptions;
  readonly #limits: RequestLimits;
  readonly #created = Math.floor(Date.now() / 1000);
  /** Each running request's internal abort controller, for shutdown. */
  readonly #requests = new Set<AbortController>();
  readonly #running = new Set<Promise<unknown>>();
  #host: ModelHost | undefined;
  /** Prompt states saved beyond the base model's slots (prompt-cache-slots.ts); undefined when off. */
  #promptCache: PromptCache | undefined;
  #grammars: GrammarCache | undefined;
  #templates: RequestTemplates | undefined;
  #tokenizer: LongPromptTokenizer | undefined;
  /** `/apply-template`, `/tokenize`, `/detokenize` (text-tools.ts). */
  #text: LlamaTextTools | undefined;
  /** Slots per context: the base model's (key "") and each LoRA adapter's (its id). */
  #pools = new Map<string, SequencePool<Sequence>>();
  /** Each pool's `prompt_cache_key` placement. */
  #cacheKeys = new WeakMap<SequencePool<Sequence>, CacheKeySlots<Sequence>>();
  #closing = false;
  /** The load in progress or done (`load()`); undefined until asked for (or `host` given). */
  #loading: Promise<void> | undefined;
  readonly #estimate = onceEstimate((signal) => estimateChatModel(this.#options.model, signal));

  constructor(options: LlamaEngineOptions) {
    if ((options.model === undefined) === (options.host === undefined)) throw new Error("LlamaEngine: give either `model` or `host`");
    this.#options = options;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.fingerprint = `fp_${createHash("sha256").update(`parley:${options.modelId}`).digest("hex").slice(0, 10)}`;
    if (options.host !== undefined) {
      this.#loading = options.host.then((host) => this.#attach(host));
      this.#loading.catch(() => undefined); // reported by load(); the engine just stays not ready
    }
  }

  get capabilities(): EngineCapabilities {
    return llamaCapabilities(this.#host?.fillInTheMiddle === true);
  }

  /** Loads the model (once; later calls share the load): resolves when the engine can serve. */
  load(signal?: AbortSignal): Promise<void> {
    const model = this.#options.model;
    if (this.#loading === undefined && model !== undefined) {
      const logger = this.#options.logger?.() ?? SILENT_LOGGER;
      this.#loading = loadLocalModel(model, logger, signal).then(async (host) => this.#attach(host, await openPromptCache(host, model, logger)));
    }
    return this.#loading ?? Promise.resolve();
  }

  /** Takes the loaded model: its tokenizer, grammars, templates and a slot pool per context. */
  #attach(host: ModelHost, promptCache?: PromptCache): void {
    if (this.#closing) {
      void promptCache?.close();
      // Closed while it loaded: nobody will use it.
      host.dispose().catch((error: unknown) => this.#options.logger?.()?.warn({ err: error, model: this.#options.modelId }, "freeing a model loaded during shutdown failed"));
      return;
    }
    const options = this.#options;
    this.#host = host;
    this.#promptCache = promptCache;
    const limits = this.#limits;
    this.#tokenizer = new LongPromptTokenizer(host.modelPath, limits);
    this.#grammars = new GrammarCache(host.llama, {
      budget: { maxRules: limits.grammarRules, maxAlternatives: limits.grammarAlternatives, maxTokenCost: limits.grammarCost },
      buildTimeoutMs: limits.grammarSeconds * 1000,
    });
    this.#templates = new RequestTemplates(host, this.#options.reasoning);
    this.#text = new LlamaTextTools(host, this.#templates, this.#tokenizer);
    for (const [id, context] of [["", host.context] as const, ...host.adapterContexts]) {
      const sequences = Array.from({ length: context.totalSequences }, () => context.getSequence());
      const onHeld = (event: HeldEvent) => this.#reportHeld(id, event);
      this.#pools.set(id, new SequencePool({ items: sequences, maxQueue: options.maxQueue ?? DEFAULT_QUEUE_SIZE, queueTimeoutMs: this.#queueTimeoutMs(), onHeld }));
    }
  }

  /** The model, with its formats once it has loaded (`modelFormats`); the banner once loaded. */
  describe(): EngineDescription {
    const host = this.#host;
    const model = { id: this.#options.modelId, created: this.#created, ownedBy: "parley" };
    if (host === undefined) return { models: [model], banner: undefined };
    const formats = modelFormats(host.templates);
    return {
      models: [{ ...model, contextLength: host.contextSize, formats, placement: host.placement }],
      banner: {
        message: `model ready: send requests with "model": "${this.#options.modelId}"`,
        fields: { contextSize: host.contextSize, slots: host.context.totalSequences, threads: host.threads, formats, placement: placementBanner(host.placement) },
      },
    };
  }

  isReady(): boolean {
    return this.#host !== undefined && !this.#closing;
  }

  /** What loading takes (memory-estimate.ts): from the file, computed once; once loaded, for what it got. */
  estimateMemory(signal?: AbortSignal): Promise<MemoryEstimate> {
    return this.#host === undefined ? this.#estimate(signal) : Promise.resolve(this.#host.placement.memory);
  }

  stats(): EngineStats {
    return llamaEngineStats(this.#pools.values(), this.#host?.batchStats, this.#promptCache, this.#host?.drafts);
  }

  /** The slot watchdog's log lines (SequencePool's `onHeld`). */
  #reportHeld(adapter: string, { state, heldMs }: HeldEvent): void {
    const log = this.#options.logger?.();
    const where = { model: this.#options.modelId, adapter: adapter === "" ? undefined : adapter, heldMs: Math.round(heldMs) };
    if (state === "held") log?.warn(where, "a slot is still held by llama.cpp work of a request that has ended; it stays out of use until that work finishes");
    else log?.info(where, "a slot held by an ended request's llama.cpp work is free again");
  }

  /** The queue timeout, shortened to the request timeout when that is shorter. */
  #queueTimeoutMs(): number {
    const queue = this.#options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    const request = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (queue === 0) return request;
    return request === 0 ? queue : Math.min(queue, request);
  }

  /**
   * Resolves once the request has its first slot, so that a request that never gets one (queue
   * timeout, client gone, shutdown) fails with a status code rather than inside a started stream.
   */
  #cacheKeysOf(pool: SequencePool<Sequence>): CacheKeySlots<Sequence> {
    let slots = this.#cacheKeys.get(pool);
    if (slots === undefined) this.#cacheKeys.set(pool, (slots = new CacheKeySlots()));
    return slots;
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    const host = this.#host;
    const templates = this.#templates;
    const tokenizer = this.#tokenizer;
    if (host === undefined || templates === undefined || tokenizer === undefined || this.#closing) {
      throw new ParleyError("unavailable", this.#closing ? SHUTTING_DOWN : MODEL_LOADING, { retryAfter: DEFAULT_RETRY_AFTER_S });
    }
    const pool = this.#pools.get(request.adapter ?? "");
    if (pool === undefined) {
      const known = [...host.adapterContexts.keys()];
      throw new ParleyError("not_found", `The LoRA adapter \`${request.adapter}\` is not registered on this server (${known.length === 0 ? "none is" : `registered: ${known.join(", ")}`}).`, {
        param: "peft",
        code: "adapter_not_found",
      });
    }
    const template = templates.resolve(request, signal);
    const prompt = await buildPrompt(host, request, template, tokenizer);
    const { format } = template.reasoning;
    const thoughtsOpen =
      format?.kind === "tags" && (await startsInThoughts(template.template, format, request, { bosToken: host.specialTokens.bosText, eosToken: host.specialTokens.eosText }, template.variables));
    checkLogitBias(request.sampling.logitBias, host.vocabulary.size);
    checkTokenIds(request.stopTokenIds, host.vocabulary.size, "stop_token_ids");
    const maxTokens = Math.min(request.maxTokens ?? this.#options.defaultMaxTokens ?? Infinity, host.contextSize - 1 - prompt.length);
    checkGeneratedTokens(request, maxTokens, this.#limits.generatedTokens);
    const grammarRequest = requestGrammar(request, template.family.syntax);
    const grammar = grammarRequest === undefined ? undefined : await this.#grammars?.get(grammarRequest);
    const claim = pool.admit(request.scheduling.tier);

    const events = new AsyncQueue<ChatEvent>();
    // Aborted by a failing choice (nobody reads its siblings' output) or by shutdown.
    const internal = new AbortController();
    this.#requests.add(internal);
    const stop = AbortSignal.any([signal, internal.signal]);
    setMaxListeners(0, stop); // one listener per choice waiting for a slot: n may be 128
    const deadline = new AbortController();
    const requestTimeoutMs = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const timer = requestTimeoutMs > 0 ? setTimeout(() => deadline.abort(), requestTimeoutMs) : undefined;
    const ctx: RunContext = {
      host,
      request,
      prompt,
      template,
      thoughtsOpen,
      grammar,
      maxTokens,
      pool,
      claim,
      cacheKeys: this.#cacheKeysOf(pool),
      promptCache: (request.adapter ?? "") === "" ? this.#promptCache : undefined,
      signal: stop,
      deadline: deadline.signal,
      stepTimeoutMs: this.#options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      fail: (error) => internal.abort(error),
      emit: (event) => events.push(event),
    };
    const run = request.search.kind === "beam" ? runBeamChoices(ctx) : runSampledChoices(ctx);
    this.#running.add(run);
    void run
      .then(
        (totals) => {
          // Usage even when stopped from outside (client gone, shutdown): what was generated counts
          // (per-key token limits, usage summaries). The consumer then learns why it stopped.
          const { reasoningTokens, ...counts } = totals;
          // Thoughts are counted for models that have them.
          const thoughts = template.reasoning.format === undefined ? {} : { reasoningTokens: reasoningTokens ?? 0 };
          events.push({ type: "usage", usage: { promptTokens: prompt.length, ...counts, ...thoughts } });
          events.close(stop.aborted ? stop.reason : undefined);
        },
        (error: unknown) => events.close(stop.aborted ? stop.reason : error),
      )
      .finally(() => {
        clearTimeout(timer);
        this.#running.delete(run);
        this.#requests.delete(internal);
        // Every slot comes back, whatever path the request took; one still lent is a bug, logged.
        const reclaimed = pool.end(claim);
        if (reclaimed > 0) this.#options.logger?.()?.error({ model: this.#options.modelId, reclaimed }, "a finished request had not given back its slots; they were taken back");
      });
    // The run settles only after its choices acquired slots or failed to: it ends the race either way.
    await Promise.race([pool.whenServed(claim), run]);
    return { events, warnings: grammar?.warnings ?? [] };
  }

  async applyTemplate(request: ChatRequest, signal: AbortSignal): Promise<string> {
    return this.#textTools().applyTemplate(request, signal);
  }

  async tokenize(text: string, options?: TokenizeOptions): Promise<readonly number[]> {
    return this.#textTools().tokenize(text, options);
  }

  tokenBytes(tokens: readonly number[]): readonly Uint8Array[] {
    return this.#textTools().tokenBytes(tokens);
  }

  /** The text tools once the model is loaded; 503 before, and while shutting down. */
  #textTools(): LlamaTextTools {
    if (this.#text === undefined || this.#closing) throw new ParleyError("unavailable", this.#closing ? SHUTTING_DOWN : MODEL_LOADING, { retryAfter: DEFAULT_RETRY_AFTER_S });
    return this.#text;
  }

  /**
   * Refuses new requests, lets running ones finish for up to `graceMs`, aborts the rest, then frees
   * the model. Aborted work stops within a step; work stuck in llama.cpp is waited for at most
   * `ABORT_WAIT_MS` more, and the model is then left to the exiting process rather than disposed
   * under it.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const pool of this.#pools.values()) pool.close();
    const drained = Promise.allSettled([...this.#running]).then(() => this.#waitHeld());
    await within(drained, graceMs);
    for (const request of this.#requests) request.abort(new ParleyError("unavailable", SHUTTING_DOWN));
    const stopped = await within(drained, ABORT_WAIT_MS);
    await this.#templates?.close();
    await this.#grammars?.close();
    await this.#tokenizer?.close();
    await this.#promptCache?.close();
    if (stopped) await this.#host?.dispose();
    else this.#options.logger?.()?.error({ model: this.#options.modelId }, "llama.cpp work did not stop at shutdown; the model is not disposed");
  }

  /** Resolves once no slot is held by the work of an ended request. */
  async #waitHeld(): Promise<void> {
    while ([...this.#pools.values()].some((pool) => pool.heldItems > 0)) await new Promise((resolve) => setTimeout(resolve, 10).unref()); // never keeps the process alive
  }
}

/** How long aborted work may take to stop at shutdown. */
const ABORT_WAIT_MS = 2000;

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
