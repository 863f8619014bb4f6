/**
 * An engine that forwards requests for one model id to an OpenAI-compatible upstream (vLLM,
 * SGLang, llama.cpp's server, another Parley) with one or more replicas. The validated request is
 * serialised back to the wire in the upstream's dialect (`wire-request.ts`; a text prompt goes to
 * the upstream's `/completions` instead, `text-wire-request.ts`, its answers read by
 * `text-events.ts`; the dialect configured,
 * or probed once at start: `probe.ts`), POSTed with a pooled undici `Agent` to the replica prefix
 * affinity or load picks (`replicas.ts`), and the upstream's SSE stream (always streamed, with
 * usage, so both client modes share one path; `best_of` > n and beam search, which cannot stream,
 * take one JSON answer) becomes Parley's own events, so the HTTP layer frames them exactly as for
 * a local model. An answer that ends without the upstream's usage (client gone, stream broken,
 * upstream silent) ends with an estimate (`usage-estimate.ts`), so it is charged to the key.
 *
 * `generate` resolves once a replica answered 200; failures before then are real HTTP errors: an
 * upstream 4xx keeps its status and message, connection errors and 5xx eject the replica and retry
 * on another (also when the stream breaks before its first event). Later failures end the stream
 * with an error.
 *
 * Its capabilities are its dialect's (`upstreamCapabilities`): OpenAI's until the probe at start
 * has answered (or the configured dialect's at once), and fields the config's `unsupported` lists
 * with mode `reject` refused by the capability check.
 */
import { createHash } from "node:crypto";
import { Agent, request as undiciRequest, type Dispatcher } from "undici";
import type { ChatRequest } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { Logger } from "../../util/logger.ts";
import { DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_RETRY_AFTER_S, DEFAULT_UPSTREAM_TIMEOUT_MS, SHUTTING_DOWN } from "../../config/defaults.ts";
import type { EngineCapabilities } from "../../domain/capabilities.ts";
import type { ChatEngine, EmbedRequest, EmbedResult, EngineDescription, EngineStats, Generation } from "../types.ts";
import { CapabilitiesByDialect } from "./capabilities.ts";
import { affinityKey, promptText, type AffinityKey } from "./affinity.ts";
import { errorFromEnvelope } from "./chunk-events.ts";
import { forwardEmbeddings } from "./embed.ts";
import type { UpstreamDialect } from "./dialect.ts";
import { UpstreamQueue } from "./upstream-queue.ts";
import type { UpstreamModelOptions } from "./options.ts";
import { DialectResolver, probeGet } from "./probe.ts";
import { ReplicaSet, type Replica } from "./replicas.ts";
import { bodyEvents, CHAT_ANSWERS, describe, MAX_ERROR_BYTES, parseJson, readBounded, streamEvents, upstreamWarnings, type AnswerParser } from "./response-events.ts";
import { TextEvents } from "./text-events.ts";
import { toTextWireRequest } from "./text-wire-request.ts";
import { UsageTracker } from "./usage-estimate.ts";
import { toWireRequest } from "./wire-request.ts";

/** Knobs beyond the config file's, mostly for tests. */
export interface UpstreamEngineTuning {
  /** First passive ejection, in ms (default 1 000; doubles per consecutive failure). */
  readonly ejectBaseMs?: number;
  /** Longest ejection, in ms (default 30 000). */
  readonly ejectMaxMs?: number;
  /** Where the dialect probe logs what it found (default: nowhere). */
  readonly logger?: () => Logger | undefined;
  /** How long after a probe that reached no replica the next request probes again, in ms (default 30 000). */
  readonly reprobeMs?: number;
}

/** One request's tries: the endpoint and body, the abort signal, the replicas tried, and its affinity key. */
interface Attempt {
  /** `/chat/completions`, or `/completions` for a text prompt. */
  readonly path: string;
  /** A parser for one answer (a fresh one per try: text answers are parsed with state). */
  readonly answers: () => AnswerParser;
  readonly payload: string;
  readonly signal: AbortSignal;
  readonly tried: Set<Replica>;
  readonly key: AffinityKey | undefined;
}

/** A replica that answered 200, with its response body still to read. */
interface Opened {
  readonly replica: Replica;
  readonly response: Dispatcher.ResponseData;
  /** Ends this attempt's claim on the replica (idempotent). */
  readonly settle: () => void;
}

export class UpstreamEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly #options: UpstreamModelOptions;
  readonly #agent: Agent;
  readonly #replicas: ReplicaSet;
  readonly #queue: UpstreamQueue;
  readonly #created = Math.floor(Date.now() / 1000);
  /** Each running request's controller, for shutdown. */
  readonly #running = new Set<AbortController>();
  readonly #dialect: DialectResolver;
  readonly #capabilities: CapabilitiesByDialect;
  #closing = false;

  constructor(options: UpstreamModelOptions, tuning: UpstreamEngineTuning = {}) {
    this.#options = options;
    this.#capabilities = new CapabilitiesByDialect(options);
    this.fingerprint = `fp_${createHash("sha256").update(`parley-upstream:${options.id}:${options.model}`).digest("hex").slice(0, 10)}`;
    const timeout = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 30_000 });
    this.#queue = new UpstreamQueue({ limit: options.maxConcurrent ?? Infinity, maxQueue: options.maxQueue ?? DEFAULT_QUEUE_SIZE, queueTimeoutMs: options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS });
    const { ejectBaseMs, ejectMaxMs } = tuning;
    this.#replicas = new ReplicaSet({
      baseUrls: options.baseUrls,
      ...(options.healthIntervalMs === undefined ? {} : { healthIntervalMs: options.healthIntervalMs }),
      ...(ejectBaseMs === undefined ? {} : { ejectBaseMs }),
      ...(ejectMaxMs === undefined ? {} : { ejectMaxMs }),
      ...(options.affinity === undefined ? {} : { affinity: options.affinity }),
      check: (baseUrl, signal) => this.#check(baseUrl, signal),
    });
    this.#dialect = new DialectResolver({
      modelId: options.id,
      model: options.model,
      baseUrls: this.#replicas.replicas.map((r) => r.baseUrl),
      get: (url) => probeGet(url, this.#agent, this.#headers(false)),
      ...(options.dialect === undefined ? {} : { configured: options.dialect }),
      ...(tuning.logger === undefined ? {} : { logger: tuning.logger }),
      ...(tuning.reprobeMs === undefined ? {} : { reprobeMs: tuning.reprobeMs }),
    });
  }

  /** The dialect requests are sent in (waits for the probe at start). */
  dialect(): Promise<UpstreamDialect> {
    return this.#dialect.current();
  }

  /**
   * What the dialect in use forwards, less the config's refusals. Until the dialect is known for
   * good (the first probe running, or a fallback waiting to be probed again), what any dialect
   * forwards: the request then reaches `generate()`, which waits for the probe, and the
   * translation refuses what the dialect found cannot carry, naming the field.
   */
  get capabilities(): EngineCapabilities {
    return this.#capabilities.of(this.#dialect.final());
  }

  /**
   * Nothing to load: health checks and the dialect probe started with the engine. Resolves once
   * the dialect is known (the probe answered, or fell back to `openai` when no replica could be
   * reached), so the banner can name it.
   */
  async load(): Promise<void> {
    await this.#dialect.current();
  }

  describe(): EngineDescription {
    const { id, model, baseUrls } = this.#options;
    const dialect = this.#dialect.known();
    return {
      models: [{ id, created: this.#created, ownedBy: "parley", ...(this.#options.kind === undefined ? {} : { kind: this.#options.kind }) }],
      banner: { message: `upstream model "${id}" configured`, fields: { upstream: model, replicas: baseUrls.length, dialect: dialect ?? "probing" } },
    };
  }

  /** True while at least one replica takes traffic (not ejected, or not checked yet). */
  isReady(): boolean {
    return !this.#closing && this.#replicas.anyAvailable();
  }

  /** `slots`: `maxConcurrent` (0 when unbounded). */
  stats(): EngineStats {
    return { queued: this.#queue.waiting, active: this.#queue.active, slots: this.#options.maxConcurrent ?? 0 };
  }

  /** Per replica: base URL, requests in flight, and whether it takes traffic (for diagnostics). */
  replicaStates(): { baseUrl: string; outstanding: number; available: boolean }[] {
    return this.#replicas.replicas.map((r) => ({ baseUrl: r.baseUrl, outstanding: r.outstanding, available: this.#replicas.available(r) }));
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    if (this.#closing) throw new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: DEFAULT_RETRY_AFTER_S });
    // best_of > n and beam search cannot be streamed: the best choices are known only at the end.
    const stream = request.search.kind === "sample" && request.search.bestOf === request.n;
    const dialect = await this.dialect();
    const cacheKey = request.scheduling.cacheKey;
    const wireOptions = {
      model: this.#options.model,
      modelId: this.#options.id,
      stream,
      dialect,
      ...(this.#options.unsupported === undefined ? {} : { unsupported: this.#options.unsupported }),
    };
    const text = request.text;
    const { body, warnings } = text === undefined ? toWireRequest(request, wireOptions) : toTextWireRequest(request, wireOptions);
    const path = text === undefined ? "/chat/completions" : "/completions";
    const textOptions = { topLogprobs: request.topLogprobs, ...(request.prompt.echo && request.logprobs && text !== undefined ? { echoPrompt: text.prompt } : {}) };
    const answers = () => (text === undefined ? CHAT_ANSWERS : new TextEvents(textOptions));
    const payload = JSON.stringify(body);
    const affinity = this.#options.affinity;
    const key = affinity === false || this.#replicas.replicas.length < 2 ? undefined : affinityKey(promptText(request, affinity?.maxPrefixChars), cacheKey, affinity);
    const release = await this.#queue.acquire(signal, request.scheduling.tier);

    // Aborts the upstream request: the client left, the timeout passed, or the server is closing.
    const internal = new AbortController();
    const onAbort = () => internal.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    const timer = setTimeout(() => internal.abort(new ParleyError("unavailable", `The upstream serving \`${this.#options.id}\` took longer than ${timeoutMs} ms.`)), timeoutMs);
    timer.unref();
    this.#running.add(internal);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      this.#running.delete(internal);
      release();
    };

    try {
      const tried = new Set<Replica>();
      const attempt = { path, answers, payload, signal: internal.signal, tried, key };
      const opened = await this.#open(attempt);
      warnings.push(...upstreamWarnings(opened.response.headers));
      return { events: this.#events(opened, attempt, stream, internal, finish), warnings };
    } catch (error) {
      finish();
      throw internal.signal.aborted ? internal.signal.reason : error;
    }
  }

  /** `/v1/embeddings` for an upstream embedding model (`kind: embedding`; embed.ts), through the same queue and replicas. */
  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    if (this.#closing) throw new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: DEFAULT_RETRY_AFTER_S });
    const open = (path: string, payload: string, stop: AbortSignal) => this.#open({ path, payload, signal: stop, tried: new Set(), key: undefined });
    return forwardEmbeddings({ options: this.#options, replicas: this.#replicas, queue: this.#queue, open }, request, signal);
  }

  /** Tries replicas (affinity or least outstanding first, each once) until one answers 200. */
  async #open({ path, payload, signal, tried, key }: Omit<Attempt, "answers">): Promise<Opened> {
    let lastProblem = "no replica was tried";
    for (;;) {
      const replica = this.#replicas.pick(tried, key);
      if (replica === undefined) {
        throw new ParleyError("unavailable", `No replica of the upstream serving \`${this.#options.id}\` could take the request (last: ${lastProblem}).`, { retryAfter: DEFAULT_RETRY_AFTER_S });
      }
      tried.add(replica);
      replica.outstanding++;
      let settled = false;
      const settle = () => {
        if (!settled) replica.outstanding--;
        settled = true;
      };
      let response: Dispatcher.ResponseData;
      try {
        response = await undiciRequest(`${replica.baseUrl}${path}`, { dispatcher: this.#agent, method: "POST", headers: this.#headers(true), body: payload, signal });
      } catch (error) {
        settle();
        if (signal.aborted) throw signal.reason;
        this.#replicas.failed(replica);
        lastProblem = `replica ${this.#replicas.replicas.indexOf(replica) + 1}: ${describe(error)}`;
        continue;
      }
      if (response.statusCode === 200) return { replica, response, settle };
      settle();
      const text = (await readBounded(response, MAX_ERROR_BYTES).catch(() => "")) ?? "";
      if (response.statusCode >= 500) {
        this.#replicas.failed(replica);
        lastProblem = `replica ${this.#replicas.replicas.indexOf(replica) + 1}: HTTP ${response.statusCode}`;
        continue;
      }
      const error = errorFromEnvelope(response.statusCode, parseJson(text), this.#options.id);
      const retryAfter = Number(response.headers["retry-after"]);
      throw Number.isFinite(retryAfter) && retryAfter > 0 && error.retryAfter === undefined ? new ParleyError(error.kind, error.message, { param: error.param, code: error.code, retryAfter }) : error;
    }
  }

  /**
   * The events of the opened response; a break before the first event is retried on another
   * replica. An answer that ends without the upstream's usage ends with an estimate of it.
   */
  async *#events(first: Opened, attempt: Attempt, stream: boolean, internal: AbortController, finish: () => void): AsyncGenerator<ChatEvent> {
    let current = first;
    const usage = new UsageTracker(attempt.payload);
    try {
      for (;;) {
        try {
          const events = stream ? streamEvents(current.response, attempt.answers()) : bodyEvents(current.response, attempt.answers());
          for await (const event of events) {
            usage.observe(event);
            yield event;
          }
          this.#replicas.succeeded(current.replica);
          if (!usage.reported) yield usage.estimate();
          return;
        } catch (error) {
          if (internal.signal.aborted) {
            // The client left (or time ran out): what the upstream generated so far is still charged.
            if (!usage.reported) yield usage.estimate();
            throw internal.signal.reason;
          }
          const started = usage.started;
          if (!(error instanceof ParleyError)) {
            // Not a protocol error or one the upstream reported: the replica's health.
            this.#replicas.failed(current.replica);
            current.settle();
          }
          if (started || error instanceof ParleyError) {
            if (started && !usage.reported) yield usage.estimate();
            throw error instanceof ParleyError
              ? error
              : new ParleyError("unavailable", `The upstream serving \`${this.#options.id}\` failed mid-stream (${describe(error)}).`, { code: "upstream_failed" });
          }
          current = await this.#open(attempt);
        }
      }
    } finally {
      current.settle();
      if (!current.response.body.destroyed) current.response.body.destroy();
      finish();
    }
  }

  #headers(stream: boolean): Record<string, string> {
    return {
      "content-type": "application/json",
      accept: stream ? "text/event-stream, application/json" : "application/json",
      ...this.#options.headers,
      ...(this.#options.apiKey === undefined ? {} : { authorization: `Bearer ${this.#options.apiKey}` }),
    };
  }

  /** Health: `GET <baseUrl>/models` answers 2xx. */
  async #check(baseUrl: string, signal: AbortSignal): Promise<boolean> {
    const response = await undiciRequest(`${baseUrl}/models`, { dispatcher: this.#agent, method: "GET", headers: this.#headers(false), signal });
    await response.body.dump();
    return response.statusCode >= 200 && response.statusCode < 300;
  }

  /** Stops health checks and new requests, lets running ones finish for up to `graceMs`, then aborts them and closes connections. */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#replicas.close();
    const deadline = Date.now() + graceMs;
    while (this.#running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    for (const controller of this.#running) controller.abort(new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: DEFAULT_RETRY_AFTER_S }));
    await this.#agent.destroy().catch(() => undefined);
  }
}
