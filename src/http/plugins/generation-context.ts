/**
 * The per-request state of the generation routes (every dialect's), as a Fastify request
 * decoration: the request-log recorder, the metrics timer, the key's admission, and how the
 * request ended. A hook opens it when a generation route is matched (`onRequest`, so the timer and
 * the count cover requests that fail before their handler, e.g. malformed JSON), and `onResponse`
 * closes it: the request is counted, its record appended, its key's concurrency slot released,
 * once. Two places close it earlier, where `onResponse` would come too late or not at all: a
 * streamed response just before its last frames (serve.ts), so that a client that has read the
 * end of its stream finds its record and its count; and the error handler, which knows why a
 * request failed, and is the only one to see a client that left before its answer (no response,
 * so no `onResponse`).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ChatRequest } from "../../domain/chat.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { Admission } from "../auth/limiter.ts";
import type { ParleyMetrics, RequestMetrics } from "../metrics.ts";
import type { RecordedError, RequestRecorder } from "../request-recorder.ts";

export class GenerationContext {
  readonly #metrics: ParleyMetrics | undefined;
  readonly #measured: RequestMetrics | undefined;
  /** Set once the body is read (request log configured). */
  recorder: RequestRecorder | undefined;
  /** The key's concurrency and token window, once admitted. */
  admission: Admission | undefined;
  /** The key's user (undefined: an open server). */
  keyUser: string | undefined;
  /** The model as a metric label: a served model's id, else `other` (bounded cardinality). */
  modelLabel = "other";
  /** Why the request failed, when it did (set where the failure is mapped to HTTP). */
  error: RecordedError | undefined;
  #finished = false;

  constructor(metrics: ParleyMetrics | undefined) {
    this.#metrics = metrics;
    this.#measured = metrics?.begin();
  }

  /** The request passed validation (its first domain request). */
  accepted(request: ChatRequest): void {
    this.#measured?.accepted(request);
  }

  /** The engine's events, timed and counted. */
  observe(events: AsyncIterable<ChatEvent>): AsyncIterable<ChatEvent> {
    return this.#measured?.observe(events) ?? events;
  }

  /** Ends the request once, under `status` (499: the client left first). */
  finish(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.recorder?.finish(status, this.error);
    this.#measured?.finish(status);
    this.admission?.release();
    if (this.keyUser !== undefined) this.#metrics?.userRequests.inc({ user: this.keyUser, model: this.modelLabel, status: String(status) });
  }
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Marks a generation route: the dialect's name. */
    dialect?: string;
  }
  interface FastifyRequest {
    /** Set on generation routes (see generation-context.ts). */
    generation: GenerationContext | undefined;
  }
}

/** Installs the decoration and its two hooks. */
export function registerGenerationContext(app: FastifyInstance, metrics: ParleyMetrics | undefined): void {
  app.decorateRequest("generation", undefined);
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.config.dialect !== undefined) request.generation = new GenerationContext(metrics);
  });
  app.addHook("onResponse", async (request, reply) => {
    request.generation?.finish(reply.statusCode);
  });
}

/** The request's generation context (the route is a generation route). */
export function generationContext(request: FastifyRequest): GenerationContext {
  if (request.generation === undefined) throw new Error(`${request.url} is not a generation route`);
  return request.generation;
}
