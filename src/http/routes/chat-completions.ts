/**
 * `POST /v1/chat/completions`: validate once, route to an engine, then either stream its events as
 * SSE chunks or fold them into one `chat.completion`. Both modes consume the same events. With a
 * request log configured, every request (failed ones too) appends one record when it ends; with
 * metrics, every request is counted and timed from the same events.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { invalidRequest } from "../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../domain/limits.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { Router } from "../../router/router.ts";
import { ANONYMOUS, metered, type Auth } from "../auth/auth.ts";
import type { Admission } from "../auth/limiter.ts";
import { parseChatRequest, type ParsedChatRequest } from "../../schemas/normalize-chat.ts";
import { ChunkFactory, CompletionBuilder, newResponseMeta, type FormatOptions, type ReasoningField, type ResponseMeta } from "../completion-format.ts";
import { toHttpError, type ErrorMappingOptions, type HttpError } from "../errors.ts";
import type { ParleyMetrics } from "../metrics.ts";
import type { RequestLog } from "../request-log.ts";
import { RequestRecorder, type RecordedError } from "../request-recorder.ts";
import { chatCompletionId } from "../request-id.ts";
import { ClientDisconnected, disconnectSignal, SseWriter } from "../sse.ts";

export const CHAT_COMPLETIONS_PATH = "/v1/chat/completions";
/** The route's paths: OpenAI's, and the one without `/v1` that llama-server and some clients use. */
export const CHAT_COMPLETIONS_PATHS: readonly string[] = [CHAT_COMPLETIONS_PATH, "/chat/completions"];

/** How a request ended: its HTTP status (499: the client left first) and, if it failed, why. */
type Ended = (status: number, error?: RecordedError) => void;

/**
 * `requestLog`: where each request's record goes (default: none; `log_prompt: true` is then a 400).
 * `metrics`: where requests are counted and timed (default: none).
 * `auth`: the key's model permission (403) and limits (429), usage accounting (default: none, open).
 * `limits`: what a request may hold (default DEFAULT_LIMITS).
 */
export function registerChatCompletionsRoute(
  app: FastifyInstance,
  router: Router,
  errors: ErrorMappingOptions,
  requestLog?: RequestLog,
  metrics?: ParleyMetrics,
  auth?: Auth,
  limits: RequestLimits = DEFAULT_LIMITS,
  reasoningField: ReasoningField = "reasoning_content",
): void {
  for (const path of CHAT_COMPLETIONS_PATHS) app.post(path, handler);

  async function handler(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const keyUser = auth?.user(request);
    const recorder = requestLog === undefined ? undefined : new RequestRecorder(requestLog, request.log, request.body, keyUser, request.id);
    const measured = metrics?.begin(request.raw);
    let admission: Admission | undefined;
    let modelLabel = "other";
    let over = false;
    // Once per request, whichever path ends it first (a mid-stream error, then the stream's end).
    const ended: Ended = (status, error) => {
      if (over) return;
      over = true;
      recorder?.finish(status, error);
      measured?.finish(status);
      admission?.release();
      if (keyUser !== undefined) metrics?.userRequests.inc({ user: keyUser, model: modelLabel, status: String(status) });
    };
    try {
      const parsed = parseChatRequest(request.body, limits);
      const { logPrompt } = parsed;
      if (logPrompt && requestLog === undefined) {
        throw invalidRequest("`log_prompt` needs a request log, and this server has none (start it with `--request-log <path>`): nothing would be logged.", ["log_prompt"], "unsupported");
      }
      recorder?.accepted(parsed, logPrompt, (request.body as { messages: unknown }).messages);
      measured?.accepted(parsed.request);
      const { model } = parsed.request;
      // Only served models become label values, so the metric's cardinality stays bounded.
      if (router.listModels().some((m) => m.id === model)) modelLabel = model;
      auth?.checkModel(request, model);
      const engine = router.resolve(model);
      admission = auth?.admit(request);
      auth?.usage.request(keyUser ?? ANONYMOUS, model);
      const signal = disconnectSignal(reply.raw);
      // Metadata only: prompt and completion text never go to this log.
      request.log.info(
        {
          user: parsed.request.user?.slice(0, 256),
          keyUser,
          metadata: parsed.metadata,
          seed: parsed.request.sampling.seed,
          seedFromClient: parsed.request.sampling.seedFromClient,
          model: parsed.request.model,
          stream: parsed.stream,
          n: parsed.request.n,
        },
        "chat completion",
      );
      const generation = await engine.generate(parsed.request, signal);
      const meta = newResponseMeta(parsed.request.model, engine.fingerprint, chatCompletionId(request));
      recorder?.identified(meta.id);
      const recorded = recorder?.observe(generation.events) ?? generation.events;
      const observed = measured?.observe(recorded) ?? recorded;
      const events = auth === undefined || admission === undefined ? observed : metered(observed, auth, keyUser ?? ANONYMOUS, model, admission);
      const headers = warningHeaders(generation.warnings);
      if (parsed.stream) return await streamResponse(reply, meta, parsed, events, headers, errors, ended, reasoningField);
      void reply.headers(headers);
      const completion = await collectResponse(meta, parsed, events, reasoningField);
      ended(200);
      return completion;
    } catch (error) {
      // The same mapping as the app's error handler, which answers this error.
      if (error instanceof ClientDisconnected) ended(499);
      else {
        const mapped = toHttpError(error, errors);
        ended(mapped.status, recordedError(mapped));
      }
      throw error;
    }
  }
}

function recordedError(mapped: HttpError): RecordedError {
  return { type: mapped.body.error.type, code: mapped.body.error.code, param: mapped.body.error.param };
}

/**
 * `x-parley-warnings`: what the request asked for that Parley could not fully honour without
 * failing it (e.g. JSON Schema keywords ignored outside strict mode), as a JSON array of strings.
 */
function warningHeaders(warnings: readonly string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  // Header values must be ASCII: escape the rest as JSON \u sequences.
  const ascii = JSON.stringify(warnings).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { "x-parley-warnings": ascii };
}

function formatOptions(parsed: ParsedChatRequest, reasoningField: ReasoningField): FormatOptions {
  return { withUsage: parsed.includeUsage, logprobs: parsed.request.logprobs, legacyFunctions: parsed.request.tools?.legacy ?? false, reasoningField };
}

async function collectResponse(meta: ResponseMeta, parsed: ParsedChatRequest, events: AsyncIterable<ChatEvent>, reasoningField: ReasoningField) {
  const builder = new CompletionBuilder(meta, parsed.request.n, formatOptions(parsed, reasoningField));
  for await (const event of events) {
    switch (event.type) {
      case "delta":
        builder.delta(event.choice, event.text, event.logprobs);
        break;
      case "reasoning":
        builder.reasoning(event.choice, event.text, event.logprobs);
        break;
      case "tool_call":
        builder.toolCall(event.choice, event.index, event.id, event.name, event.logprobs);
        break;
      case "tool_arguments":
        builder.toolArguments(event.choice, event.index, event.text, event.logprobs);
        break;
      case "prompt_logprobs":
        builder.promptLogprobs(event.entries);
        break;
      case "score":
        builder.score(event.choice, event.cumulativeLogprob, event.beamScore);
        break;
      case "finish":
        builder.finish(event.choice, event.reason);
        break;
      case "usage":
        builder.usage(event.usage);
        break;
      default:
        event satisfies never;
    }
  }
  return builder.build();
}

/**
 * A streamed request ends (its record appended) before `[DONE]`: status 200, or 499 when the
 * client went away first, with `error` set when an error frame ended the stream.
 */
async function streamResponse(
  reply: FastifyReply,
  meta: ResponseMeta,
  parsed: ParsedChatRequest,
  events: AsyncIterable<ChatEvent>,
  headers: Record<string, string>,
  errors: ErrorMappingOptions,
  ended: Ended,
  reasoningField: ReasoningField,
): Promise<FastifyReply> {
  const { request } = parsed;
  const chunks = new ChunkFactory(meta, formatOptions(parsed, reasoningField));
  const sse = new SseWriter(reply.raw);
  reply.hijack();
  sse.open(headers);
  const iterator = events[Symbol.asyncIterator]();
  try {
    for (let i = 0; i < request.n; i++) await sse.send(chunks.role(i));
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      const event = next.value;
      if (sse.closed) throw new ClientDisconnected();
      switch (event.type) {
        case "delta":
          await sse.send(chunks.delta(event.choice, event.text, event.logprobs));
          break;
        case "reasoning":
          await sse.send(chunks.reasoning(event.choice, event.text, event.logprobs));
          break;
        case "tool_call":
          await sse.send(chunks.toolCall(event.choice, event.index, event.id, event.name, event.logprobs));
          break;
        case "tool_arguments":
          await sse.send(chunks.toolArguments(event.choice, event.index, event.text, event.logprobs));
          break;
        case "prompt_logprobs":
          await sse.send(chunks.promptLogprobs(event.entries));
          break;
        case "score":
          break; // best_of and beam search are never streamed
        case "finish":
          await sse.send(chunks.finish(event.choice, event.reason));
          break;
        case "usage":
          if (parsed.includeUsage) await sse.send(chunks.usage(event.usage));
          break;
        default:
          event satisfies never;
      }
    }
  } catch (error) {
    if (error instanceof ClientDisconnected) {
      reply.log.debug("client disconnected; generation stopped");
      await drain(iterator); // the engine stops at once; its final usage still gets charged
      ended(499);
      return reply;
    }
    // Headers are gone: the error travels as a data frame, then the stream ends normally.
    const mapped = toHttpError(error, errors);
    if (mapped.status === 503) reply.log.warn(mapped.body.error.message);
    else if (mapped.status >= 500) reply.log.error({ err: error }, "generation failed mid-stream");
    ended(sse.closed ? 499 : 200, recordedError(mapped));
    await sse.send(mapped.body);
  }
  ended(sse.closed ? 499 : 200);
  await sse.done();
  return reply;
}

/** Reads what is left of a stream whose client has gone, for its side effects (usage accounting). */
async function drain(iterator: AsyncIterator<ChatEvent>): Promise<void> {
  try {
    while ((await iterator.next()).done !== true);
  } catch {
    // the engine reports why it stopped: the client left
  }
}
