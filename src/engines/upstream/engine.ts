/**
 * An engine that forwards requests for one model id to an OpenAI-compatible upstream (vLLM,
 * SGLang, llama.cpp's server, another Parley) with one or more replicas. The validated request is
 * serialised back to the wire (`wire-request.ts`), POSTed with a pooled undici `Agent`, and the
 * upstream's SSE stream (always streamed, with usage, so both client modes share one path; `best_of`
 * > n and beam search, which cannot stream, take one JSON answer) becomes Parley's own events, so
 * the HTTP layer frames them exactly as for a local model.
 *
 * `generate` resolves once a replica answered 200; failures before then are real HTTP errors: an
 * upstream 4xx keeps its status and message, connection errors and 5xx eject the replica and retry
 * on another (also when the stream breaks before its first event). Later failures end the stream
 * with an error. Aliases are not listed by `listModels()`: the router reads `aliases`.
 */
import { createHash } from "node:crypto";
import { Agent, request as undiciRequest, type Dispatcher } from "undici";
import type { ChatRequest } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { ChatEngine, EngineStats, Generation, ModelInfo } from "../types.ts";
import { chunkEvents, completionEvents, errorFromEnvelope, malformed } from "./chunk-events.ts";
import { Limiter } from "./limiter.ts";
import type { UpstreamModelOptions } from "./options.ts";
import { ReplicaSet, type Replica } from "./replicas.ts";
import { SseEventTooLarge, SseParser } from "./sse-parser.ts";
import { toWireRequest } from "./wire-request.ts";

/** Knobs beyond the config file's, mostly for tests. */
export interface UpstreamEngineTuning {
  /** First passive ejection, in ms (default 1 000; doubles per consecutive failure). */
  readonly ejectBaseMs?: number;
  /** Longest ejection, in ms (default 30 000). */
  readonly ejectMaxMs?: number;
}

/** A replica that answered 200, with its response body still to read. */
interface Opened {
  readonly replica: Replica;
  readonly response: Dispatcher.ResponseData;
  /** Ends this attempt's claim on the replica (idempotent). */
  readonly settle: () => void;
}

/** The stream broke or ended early (the replica's fault, not a protocol error). */
class UpstreamBroke extends Error {}

const ZERO_USAGE: ChatEvent = { type: "usage", usage: { promptTokens: 0, completionTokens: 0, cachedTokens: 0 } };

export class UpstreamEngine implements ChatEngine {
  readonly fingerprint: string;
  /** Other ids that select this model (for the router; `listModels()` reports `id` only). */
  readonly aliases: readonly string[];
  readonly #options: UpstreamModelOptions;
  readonly #agent: Agent;
  readonly #replicas: ReplicaSet;
  readonly #limiter: Limiter;
  readonly #created = Math.floor(Date.now() / 1000);
  /** Each running request's controller, for shutdown. */
  readonly #running = new Set<AbortController>();
  #closing = false;

  constructor(options: UpstreamModelOptions, tuning: UpstreamEngineTuning = {}) {
    this.#options = options;
    this.aliases = options.aliases ?? [];
    this.fingerprint = `fp_${createHash("sha256").update(`parley-upstream:${options.id}:${options.model}`).digest("hex").slice(0, 10)}`;
    const timeout = options.timeoutMs ?? 600_000;
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 30_000 });
    this.#limiter = new Limiter(options.maxConcurrent ?? Infinity);
    this.#replicas = new ReplicaSet({
      baseUrls: options.baseUrls,
      ...(options.healthIntervalMs === undefined ? {} : { healthIntervalMs: options.healthIntervalMs }),
      ...tuning,
      check: (baseUrl, signal) => this.#check(baseUrl, signal),
    });
  }

  listModels(): readonly ModelInfo[] {
    return [{ id: this.#options.id, created: this.#created, ownedBy: "upstream" }];
  }

  /** True while at least one replica takes traffic (not ejected, or not checked yet). */
  isReady(): boolean {
    return !this.#closing && this.#replicas.anyAvailable();
  }

  /** `slots`: `maxConcurrent` (0 when unbounded). */
  stats(): EngineStats {
    return { queued: this.#limiter.waiting, active: this.#limiter.active, slots: this.#options.maxConcurrent ?? 0 };
  }

  /** Per replica: base URL, requests in flight, and whether it takes traffic (for diagnostics). */
  replicaStates(): { baseUrl: string; outstanding: number; available: boolean }[] {
    return this.#replicas.replicas.map((r) => ({ baseUrl: r.baseUrl, outstanding: r.outstanding, available: this.#replicas.available(r) }));
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    if (this.#closing) throw new ParleyError("unavailable", "The server is shutting down.", { retryAfter: 1 });
    // best_of > n and beam search cannot be streamed: the best choices are known only at the end.
    const stream = request.search.kind === "sample" && request.search.bestOf === request.n;
    const { body, warnings } = toWireRequest(request, { model: this.#options.model, modelId: this.#options.id, stream, ...(this.#options.unsupported === undefined ? {} : { unsupported: this.#options.unsupported }) });
    const payload = JSON.stringify(body);
    const release = await this.#limiter.acquire(signal);

    // Aborts the upstream request: the client left, the timeout passed, or the server is closing.
    const internal = new AbortController();
    const onAbort = () => internal.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    const timeoutMs = this.#options.timeoutMs ?? 600_000;
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
      const opened = await this.#open(payload, internal.signal, tried);
      warnings.push(...upstreamWarnings(opened.response.headers));
      return { events: this.#events(opened, payload, stream, internal, tried, finish), warnings };
    } catch (error) {
      finish();
      throw internal.signal.aborted ? internal.signal.reason : error;
    }
  }

  /** Tries replicas (least outstanding first, each once) until one answers 200. */
  async #open(payload: string, signal: AbortSignal, tried: Set<Replica>): Promise<Opened> {
    let lastProblem = "no replica was tried";
    for (;;) {
      const replica = this.#replicas.pick(tried);
      if (replica === undefined) {
        throw new ParleyError("unavailable", `No replica of the upstream serving \`${this.#options.id}\` could take the request (last: ${lastProblem}).`, { retryAfter: 1 });
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
        response = await undiciRequest(`${replica.baseUrl}/chat/completions`, { dispatcher: this.#agent, method: "POST", headers: this.#headers(true), body: payload, signal });
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
      throw Number.isFinite(retryAfter) && retryAfter > 0 && error.retryAfter === undefined
        ? new ParleyError(error.kind, error.message, { param: error.param, code: error.code, retryAfter })
        : error;
    }
  }

  /** The events of the opened response; a break before the first event is retried on another replica. */
  async *#events(first: Opened, payload: string, stream: boolean, internal: AbortController, tried: Set<Replica>, finish: () => void): AsyncGenerator<ChatEvent> {
    let current = first;
    let emitted = false;
    try {
      for (;;) {
        try {
          const events = stream ? streamEvents(current.response) : bodyEvents(current.response);
          for await (const event of events) {
            emitted = true;
            yield event;
          }
          this.#replicas.succeeded(current.replica);
          return;
        } catch (error) {
          if (internal.signal.aborted) throw internal.signal.reason;
          if (error instanceof ParleyError) throw error; // malformed stream, or an error the upstream reported: not the replica's health
          this.#replicas.failed(current.replica);
          current.settle();
          if (emitted) {
            throw new ParleyError("unavailable", `The upstream serving \`${this.#options.id}\` failed mid-stream (${describe(error)}).`, { code: "upstream_failed" });
          }
          current = await this.#open(payload, internal.signal, tried);
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
    for (const controller of this.#running) controller.abort(new ParleyError("unavailable", "The server is shutting down.", { retryAfter: 1 }));
    await this.#agent.destroy().catch(() => undefined);
  }
}

/** A streamed answer's events; ends with usage (zeros when the upstream sent none). */
async function* streamEvents(response: Dispatcher.ResponseData): AsyncGenerator<ChatEvent> {
  const parser = new SseParser();
  let done = false;
  let usage = false;
  const frames = function* (datas: string[]): Generator<ChatEvent> {
    for (const data of datas) {
      if (done) return;
      if (data === "[DONE]") {
        done = true;
        return;
      }
      const parsed = parseJson(data);
      if (parsed === undefined) throw malformed(`an event is not JSON: ${JSON.stringify(data.slice(0, 80))}`);
      for (const event of chunkEvents(parsed)) {
        if (event.type === "usage") usage = true;
        yield event;
      }
    }
  };
  for await (const chunk of response.body) {
    let datas: string[];
    try {
      datas = parser.push(chunk as Buffer);
    } catch (error) {
      if (error instanceof SseEventTooLarge) throw malformed(error.message);
      throw error;
    }
    yield* frames(datas);
    if (done) break;
  }
  if (!done) yield* frames(parser.end());
  if (!done) throw new UpstreamBroke("the stream ended before `data: [DONE]`");
  if (!usage) yield ZERO_USAGE;
}

async function* bodyEvents(response: Dispatcher.ResponseData): AsyncGenerator<ChatEvent> {
  const text = await readBounded(response, MAX_COMPLETION_BYTES);
  if (text === undefined) throw malformed(`the completion is longer than ${MAX_COMPLETION_BYTES} bytes`);
  const parsed = parseJson(text);
  if (parsed === undefined) throw malformed("the completion is not JSON");
  yield* completionEvents(parsed);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An upstream Parley's `x-parley-warnings` (a JSON array of strings), passed on. */
function upstreamWarnings(headers: Dispatcher.ResponseData["headers"]): string[] {
  const raw = headers["x-parley-warnings"];
  const parsed = typeof raw === "string" ? parseJson(raw) : undefined;
  return Array.isArray(parsed) ? parsed.filter((w): w is string => typeof w === "string") : [];
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${code}: ${error.message}` : error.message;
}

/** Longest upstream error body read (the rest is discarded): 64 KiB. */
const MAX_ERROR_BYTES = 64 * 1024;
/** Longest non-streamed upstream completion accepted: 32 MiB. */
const MAX_COMPLETION_BYTES = 32 * 1024 * 1024;

/** The body as text, or undefined (and the body destroyed) once it exceeds `limit` bytes. */
async function readBounded(response: Dispatcher.ResponseData, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
