/**
 * The handler every generation dialect shares: validate (the dialect), route (the router, the
 * key's model permission, the engine's capabilities), admit (the key's limits), generate, and
 * write the events through the dialect's sink, as SSE frames or one body. Failures before the
 * response head are thrown to the app's one error handler (plugins/errors.ts); after it, they
 * travel as the dialect's error frames. Counting, the request log and key limits live in the
 * request's GenerationContext (plugins/generation-context.ts).
 *
 * Its steps are exported for handlers that need more than one request-response exchange (the
 * Responses API's stored and background responses, responses-store/): `admit`, `startGeneration`
 * (under any abort signal, so a run may outlive its request).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { invalidRequest } from "../../domain/errors.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { ChatRequest } from "../../domain/chat.ts";
import type { ChatEngine, Generation } from "../../engines/types.ts";
import { checkCapabilities } from "../../router/capabilities.ts";
import type { Router } from "../../router/router.ts";
import { ANONYMOUS, metered, type Auth } from "../auth/auth.ts";
import { recordedError, toHttpError, type ErrorMappingOptions } from "../errors.ts";
import { generationContext, type GenerationContext } from "../plugins/generation-context.ts";
import type { RequestLog } from "../request-log.ts";
import { RequestRecorder } from "../request-recorder.ts";
import { responseId } from "../plugins/request-id.ts";
import { ClientDisconnected, disconnectSignal, SseWriter } from "../sse.ts";
import { mergeGenerations } from "./merge-generations.ts";
import { newResponseMeta } from "./openai-wire.ts";
import type { Dialect, DialectSettings, ParsedRequest, ResponseMeta, ResponseSink } from "./types.ts";

export interface ServeDependencies {
  readonly router: Router;
  readonly settings: DialectSettings;
  readonly errors: ErrorMappingOptions;
  /** Where each request's record goes (default: none; `log_prompt: true` is then a 400). */
  readonly requestLog?: RequestLog | undefined;
  /** The key's model permission (403) and limits (429), usage accounting (default: none, open). */
  readonly auth?: Auth | undefined;
}

/** Answers `dialect`'s routes. */
export function registerDialect<P extends ParsedRequest>(app: FastifyInstance, dialect: Dialect<P>, deps: ServeDependencies): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) => serve(dialect, deps, request, reply);
  const config = dialect.errorBody === undefined ? { dialect: dialect.name } : { dialect: dialect.name, errorBody: dialect.errorBody };
  for (const path of dialect.paths) app.post(path, { config }, handler);
}

/**
 * What a caller of the shared handler may set for one request (the Responses API's state uses
 * them; plain dialects use none).
 */
export interface ServeOptions<P extends ParsedRequest> {
  /** Parses the body (default: `dialect.parse(request.body, settings)`). */
  readonly parse?: () => P;
  /** The response id (default: `<dialect.idPrefix><request id>`, see request-id.ts). */
  readonly id?: string;
  /** Wraps the dialect's response writer (default: none). */
  readonly sink?: (sink: ResponseSink, meta: ResponseMeta) => ResponseSink;
}

/** A request validated, routed and admitted under its key's limits: ready to generate. */
export interface AdmittedRequest<P extends ParsedRequest> {
  readonly parsed: P;
  readonly engine: ChatEngine;
  readonly context: GenerationContext;
  readonly keyUser: string | undefined;
  readonly recorder: RequestRecorder | undefined;
}

/** A request's generation started: its events (observed, metered) and its response writer. */
export interface StartedGeneration {
  readonly meta: ResponseMeta;
  readonly events: AsyncIterable<ChatEvent>;
  readonly headers: Record<string, string>;
  readonly sink: ResponseSink;
}

/** The shared handler: admit, generate (stopped when the client leaves), write. */
export async function serve<P extends ParsedRequest>(dialect: Dialect<P>, deps: ServeDependencies, request: FastifyRequest, reply: FastifyReply, options: ServeOptions<P> = {}): Promise<unknown> {
  const admitted = admit(dialect, deps, request, options.parse);
  const started = await startGeneration(dialect, deps, request, admitted, disconnectSignal(reply.raw), options);
  const { sink, events, headers } = started;
  if (admitted.parsed.stream) return streamResponse(reply, sink, events, headers, deps.errors, admitted.context);
  for await (const event of events) sink.event(event);
  void reply.headers(headers);
  return sink.body();
}

/**
 * Validates (the dialect, or `parse`), routes (the key's model permission, the engine's
 * capabilities) and admits `request` under its key's limits; throws what refuses it.
 */
export function admit<P extends ParsedRequest>(dialect: Dialect<P>, deps: ServeDependencies, request: FastifyRequest, parse?: () => P): AdmittedRequest<P> {
  const { router, auth, requestLog, settings } = deps;
  const context = generationContext(request);
  const keyUser = auth?.user(request);
  context.keyUser = keyUser;
  const recorder = requestLog === undefined ? undefined : new RequestRecorder(requestLog, request.log, request.body, keyUser, request.id);
  context.recorder = recorder;
  const parsed = parse === undefined ? dialect.parse(request.body, settings) : parse();
  const [first] = parsed.requests;
  if (first === undefined) throw new Error(`${dialect.name}: a parsed request holds no generation`);
  if (parsed.logPrompt && requestLog === undefined) {
    throw invalidRequest("`log_prompt` needs a request log, and this server has none (start it with `--request-log <path>`): nothing would be logged.", ["log_prompt"], "unsupported");
  }
  recorder?.accepted(parsed);
  context.accepted(first);
  const { model } = first;
  // Only served models become label values, so the metric's cardinality stays bounded.
  if (router.has(model)) context.modelLabel = model;
  auth?.checkModel(request, model);
  const engine = router.resolve(model);
  for (const r of parsed.requests) checkCapabilities(r, engine); // what this engine cannot do: a 400 naming the field
  context.admission = auth?.admit(request);
  auth?.usage.request(keyUser ?? ANONYMOUS, model);
  // Metadata only: prompt and completion text never go to this log.
  request.log.info(
    {
      user: first.user?.slice(0, 256),
      keyUser,
      metadata: parsed.metadata,
      seed: first.sampling.seed,
      seedFromClient: first.sampling.seedFromClient,
      model,
      stream: parsed.stream,
      n: first.n,
      prompts: parsed.requests.length,
    },
    dialect.logMessage,
  );
  return { parsed, engine, context, keyUser, recorder };
}

/**
 * Starts an admitted request's generations, stopped by `signal` (the client's disconnect, or a
 * detached run's own controller), and returns its events, passed through the request log, the
 * metrics and the key's token meter, with its response writer.
 */
export async function startGeneration<P extends ParsedRequest>(
  dialect: Dialect<P>,
  deps: ServeDependencies,
  request: FastifyRequest,
  admitted: AdmittedRequest<P>,
  signal: AbortSignal,
  options: Pick<ServeOptions<P>, "id" | "sink"> = {},
): Promise<StartedGeneration> {
  const { auth, settings } = deps;
  const { engine, context, keyUser, recorder } = admitted;
  // What the engine must know first (e.g. the Responses API's `truncation: "auto"` counts tokens).
  const parsed = dialect.prepare === undefined ? admitted.parsed : await dialect.prepare(admitted.parsed, engine, signal);
  const [first] = parsed.requests;
  if (first === undefined) throw new Error(`${dialect.name}: a parsed request holds no generation`);
  const { model } = first;
  const generations = await generateAll(parsed.requests, engine, signal);
  const meta = newResponseMeta(options.id ?? responseId(request, dialect.idPrefix), model, engine.fingerprint);
  recorder?.identified(meta.id);
  const merged = mergeGenerations(
    generations.map((g) => g.events),
    first.n,
  );
  const recorded = recorder?.observe(merged) ?? merged;
  const observed = context.observe(recorded);
  const events = auth === undefined || context.admission === undefined ? observed : metered(observed, auth, keyUser ?? ANONYMOUS, model, context.admission);
  const headers = warningHeaders(generations.flatMap((g) => g.warnings));
  const sink = dialect.sink(parsed, meta, settings);
  return { meta, events, headers, sink: options.sink === undefined ? sink : options.sink(sink, meta) };
}

/**
 * Starts every generation, all or none: when one is refused (queue full, prompt too long), the
 * others are stopped and the refusal is thrown before any response head.
 */
async function generateAll(requests: readonly ChatRequest[], engine: ChatEngine, disconnected: AbortSignal): Promise<Generation[]> {
  const [only] = requests;
  if (requests.length === 1 && only !== undefined) return [await engine.generate(only, disconnected)];
  const refused = new AbortController();
  const signal = AbortSignal.any([disconnected, refused.signal]);
  const started = await Promise.allSettled(requests.map((r) => engine.generate(r, signal)));
  const failure = started.find((s) => s.status === "rejected");
  if (failure === undefined) return started.map((s) => (s as PromiseFulfilledResult<Generation>).value);
  refused.abort(failure.reason);
  // The started ones stop at once; their streams are read to the end for their usage.
  for (const s of started) if (s.status === "fulfilled") void drain(s.value.events[Symbol.asyncIterator]());
  throw failure.reason;
}

/**
 * `x-parley-warnings`: what the request asked for that Parley could not fully honour without
 * failing it (e.g. JSON Schema keywords ignored outside strict mode), as a JSON array of strings.
 */
function warningHeaders(warnings: readonly string[]): Record<string, string> {
  const unique = [...new Set(warnings)];
  if (unique.length === 0) return {};
  // Header values must be ASCII: escape the rest as JSON \u sequences.
  const ascii = JSON.stringify(unique).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { "x-parley-warnings": ascii };
}

/**
 * Streams the sink's frames. The request ends (counted, its record appended) before the closing
 * frames: under 200, or 499 when the client went away first, with the error recorded when an
 * error frame ended the stream.
 */
async function streamResponse(
  reply: FastifyReply,
  sink: ResponseSink,
  events: AsyncIterable<ChatEvent>,
  headers: Record<string, string>,
  errors: ErrorMappingOptions,
  context: GenerationContext,
): Promise<FastifyReply> {
  const sse = new SseWriter(reply.raw);
  reply.hijack();
  sse.open(headers);
  const iterator = events[Symbol.asyncIterator]();
  try {
    for (const frame of sink.open()) await sse.send(frame);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      if (sse.closed) throw new ClientDisconnected();
      for (const frame of sink.event(next.value)) await sse.send(frame);
    }
  } catch (error) {
    if (error instanceof ClientDisconnected || sse.closed) {
      reply.log.debug("client disconnected; generation stopped");
      const failure = await drain(iterator); // the engine stops at once; its final usage still gets charged
      if (failure !== undefined) reply.log.warn({ err: failure }, "generation failed after its client left");
      context.finish(499);
      sse.end();
      return reply;
    }
    // Headers are gone: the error travels as the dialect's error frames, then the stream ends normally.
    const mapped = toHttpError(error, errors);
    if (mapped.status === 503) reply.log.warn(mapped.body.error.message);
    else if (mapped.status >= 500) reply.log.error({ err: error }, "generation failed mid-stream");
    context.error = recordedError(mapped);
    context.finish(200);
    for (const frame of sink.error(mapped)) await sse.send(frame);
  }
  context.finish(sse.closed ? 499 : 200);
  for (const frame of sink.close()) await sse.send(frame);
  sse.end();
  return reply;
}

/**
 * Reads what is left of a stream whose client has gone, for its side effects (usage accounting).
 * Returns the failure the engine ended with, unless it is the expected one (the client left).
 */
async function drain(iterator: AsyncIterator<ChatEvent>): Promise<unknown> {
  try {
    while ((await iterator.next()).done !== true);
    return undefined;
  } catch (error) {
    return error instanceof ClientDisconnected ? undefined : error;
  }
}
