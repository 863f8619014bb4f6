/**
 * The embedded llama.cpp engine: renders and tokenizes the prompt, checks it fits, then runs the
 * request's choices concurrently on the context's sequences (node-llama-cpp batches every active
 * sequence into the same decode step) and merges their events into one stream.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { ChatRequest } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import { AsyncQueue } from "../../util/async-queue.ts";
import type { ChatEngine, EngineStats, Generation, ModelInfo } from "../types.ts";
import { runBeamChoices } from "./beam-choices.ts";
import { GrammarCache } from "./grammar-cache.ts";
import { requestGrammar } from "./request-grammar.ts";
import type { ModelHost } from "./model-host.ts";
import { buildPrompt, checkLogitBias, checkTokenIds } from "./prompt.ts";
import { RequestTemplates } from "./request-templates.ts";
import type { RunContext, Sequence } from "./run-context.ts";
import { runSampledChoices } from "./sampled-choices.ts";
import { SequencePool, SHUTTING_DOWN } from "./sequence-pool.ts";

export interface LlamaEngineOptions {
  /** The id clients send in `model`. */
  readonly modelId: string;
  /** Resolves to the loaded model; the engine reports not-ready until it does. */
  readonly host: Promise<ModelHost>;
  /** Requests allowed to wait for a slot before new ones get 429 (default 64). */
  readonly maxQueue?: number;
  /** Milliseconds a request may wait for its first slot before it gets 429 (default 60 000; 0: no limit). */
  readonly queueTimeoutMs?: number;
  /**
   * `max_tokens` for requests that send none (default: none, i.e. the room left in the context,
   * as OpenAI does; OctoAI used 512).
   */
  readonly defaultMaxTokens?: number;
}

export class LlamaEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly #options: LlamaEngineOptions;
  readonly #created = Math.floor(Date.now() / 1000);
  /** Each running request's internal abort controller, for shutdown. */
  readonly #requests = new Set<AbortController>();
  readonly #running = new Set<Promise<unknown>>();
  #host: ModelHost | undefined;
  #grammars: GrammarCache | undefined;
  #templates: RequestTemplates | undefined;
  /** Slots per context: the base model's (key "") and each LoRA adapter's (its id). */
  #pools = new Map<string, SequencePool<Sequence>>();
  #closing = false;

  constructor(options: LlamaEngineOptions) {
    this.#options = options;
    this.fingerprint = `fp_${createHash("sha256").update(`parley:${options.modelId}`).digest("hex").slice(0, 10)}`;
    options.host.then(
      (host) => {
        this.#host = host;
        this.#grammars = new GrammarCache(host.llama);
        this.#templates = new RequestTemplates(host);
        for (const [id, context] of [["", host.context] as const, ...host.adapterContexts]) {
          const sequences = Array.from({ length: context.totalSequences }, () => context.getSequence());
          this.#pools.set(id, new SequencePool({ items: sequences, maxQueue: options.maxQueue ?? 64, queueTimeoutMs: options.queueTimeoutMs ?? 60_000 }));
        }
      },
      () => undefined, // the server reports load failures; the engine just stays not ready
    );
  }

  listModels(): readonly ModelInfo[] {
    return [{ id: this.#options.modelId, created: this.#created, ownedBy: "parley" }];
  }

  isReady(): boolean {
    return this.#host !== undefined && !this.#closing;
  }

  stats(): EngineStats {
    let queued = 0;
    let active = 0;
    let slots = 0;
    for (const pool of this.#pools.values()) {
      queued += pool.waitingRequests;
      active += pool.activeItems;
      slots += pool.size;
    }
    const batches = this.#host?.batchStats.snapshot();
    return { queued, active, slots, ...(batches === undefined ? {} : { batches }) };
  }

  /**
   * Resolves once the request has its first slot, so that a request that never gets one (queue
   * timeout, client gone, shutdown) fails with a status code rather than inside a started stream.
   */
  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    const host = this.#host;
    const templates = this.#templates;
    if (host === undefined || templates === undefined || this.#closing) {
      throw new ParleyError("unavailable", this.#closing ? SHUTTING_DOWN : "The model is still loading.", { retryAfter: 1 });
    }
    const pool = this.#pools.get(request.adapter ?? "");
    if (pool === undefined) {
      const known = [...host.adapterContexts.keys()];
      throw new ParleyError("not_found", `The LoRA adapter \`${request.adapter}\` is not registered on this server (${known.length === 0 ? "none is" : `registered: ${known.join(", ")}`}).`, { param: "peft", code: "adapter_not_found" });
    }
    const template = templates.resolve(request, signal);
    const prompt = await buildPrompt(host, request, template);
    checkLogitBias(request.sampling.logitBias, host.vocabulary.size);
    checkTokenIds(request.stopTokenIds, host.vocabulary.size, "stop_token_ids");
    const grammarRequest = requestGrammar(request, template.family.syntax);
    const grammar = grammarRequest === undefined ? undefined : await this.#grammars?.get(grammarRequest);
    const admission = pool.admit();

    const events = new AsyncQueue<ChatEvent>();
    // Aborted by a failing choice (nobody reads its siblings' output) or by shutdown.
    const internal = new AbortController();
    this.#requests.add(internal);
    const stop = AbortSignal.any([signal, internal.signal]);
    setMaxListeners(0, stop); // one listener per choice waiting for a slot: n may be 128
    const ctx: RunContext = {
      host,
      request,
      prompt,
      template,
      grammar,
      maxTokens: Math.min(request.maxTokens ?? this.#options.defaultMaxTokens ?? Infinity, host.contextSize - 1 - prompt.length),
      pool,
      admission,
      signal: stop,
      fail: (error) => internal.abort(error),
      emit: (event) => events.push(event),
    };
    const run = request.search.kind === "beam" ? runBeamChoices(ctx) : runSampledChoices(ctx);
    this.#running.add(run);
    void run.then(
      (totals) => {
        // Usage even when stopped from outside (client gone, shutdown): what was generated counts
        // (per-key token limits, usage summaries). The consumer then learns why it stopped.
        events.push({ type: "usage", usage: { promptTokens: prompt.length, ...totals } });
        events.close(stop.aborted ? stop.reason : undefined);
      },
      (error: unknown) => events.close(stop.aborted ? stop.reason : error),
    ).finally(() => {
      this.#running.delete(run);
      this.#requests.delete(internal);
    });
    // The run settles only after its choices acquired slots or failed to: it ends the race either way.
    await Promise.race([pool.whenServed(admission), run]);
    return { events, warnings: grammar?.warnings ?? [] };
  }

  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const pool of this.#pools.values()) pool.close();
    const drained = Promise.allSettled([...this.#running]);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([drained, graceOver]);
    clearTimeout(timer);
    for (const request of this.#requests) request.abort(new ParleyError("unavailable", SHUTTING_DOWN));
    await drained;
    await this.#templates?.close();
    await this.#host?.dispose();
  }
}

