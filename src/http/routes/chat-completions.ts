/**
 * `POST /v1/chat/completions`: validate once, route to an engine, then either stream its events as
 * SSE chunks or fold them into one `chat.completion`. Both modes consume the same events.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ChatEvent } from "../../domain/events.ts";
import type { ChatEngine } from "../../engines/types.ts";
import type { Router } from "../../router/router.ts";
import { parseChatRequest, type ParsedChatRequest } from "../../schemas/normalize-chat.ts";
import { ChunkFactory, CompletionBuilder, newResponseMeta, type FormatOptions } from "../completion-format.ts";
import { toHttpError, type ErrorMappingOptions } from "../errors.ts";
import { ClientDisconnected, disconnectSignal, SseWriter } from "../sse.ts";

export function registerChatCompletionsRoute(app: FastifyInstance, router: Router, errors: ErrorMappingOptions): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const parsed = parseChatRequest(request.body);
    const engine = router.resolve(parsed.request.model);
    const signal = disconnectSignal(reply.raw);
    request.log.info(
      {
        user: parsed.request.user?.slice(0, 256),
        metadata: parsed.metadata,
        seed: parsed.request.sampling.seed,
        seedFromClient: parsed.request.sampling.seedFromClient,
        model: parsed.request.model,
        stream: parsed.stream,
        n: parsed.request.n,
      },
      "chat completion",
    );
    const { events, warnings } = await engine.generate(parsed.request, signal);
    const headers = warningHeaders(warnings);
    if (parsed.stream) return streamResponse(reply, engine, parsed, events, headers, errors);
    void reply.headers(headers);
    return collectResponse(engine, parsed, events);
  });
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

function formatOptions(parsed: ParsedChatRequest): FormatOptions {
  return { withUsage: parsed.includeUsage, logprobs: parsed.request.logprobs, legacyFunctions: parsed.request.tools?.legacy ?? false };
}

async function collectResponse(engine: ChatEngine, parsed: ParsedChatRequest, events: AsyncIterable<ChatEvent>) {
  const { request } = parsed;
  const builder = new CompletionBuilder(newResponseMeta(request.model, engine.fingerprint), request.n, formatOptions(parsed));
  for await (const event of events) {
    switch (event.type) {
      case "delta":
        builder.delta(event.choice, event.text, event.logprobs);
        break;
      case "tool_call":
        builder.toolCall(event.choice, event.index, event.id, event.name, event.logprobs);
        break;
      case "tool_arguments":
        builder.toolArguments(event.choice, event.index, event.text, event.logprobs);
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

async function streamResponse(
  reply: FastifyReply,
  engine: ChatEngine,
  parsed: ParsedChatRequest,
  events: AsyncIterable<ChatEvent>,
  headers: Record<string, string>,
  errors: ErrorMappingOptions,
): Promise<FastifyReply> {
  const { request } = parsed;
  const chunks = new ChunkFactory(newResponseMeta(request.model, engine.fingerprint), formatOptions(parsed));
  const sse = new SseWriter(reply.raw);
  reply.hijack();
  sse.open(headers);
  try {
    for (let i = 0; i < request.n; i++) await sse.send(chunks.role(i));
    for await (const event of events) {
      if (sse.closed) break;
      switch (event.type) {
        case "delta":
          await sse.send(chunks.delta(event.choice, event.text, event.logprobs));
          break;
        case "tool_call":
          await sse.send(chunks.toolCall(event.choice, event.index, event.id, event.name, event.logprobs));
          break;
        case "tool_arguments":
          await sse.send(chunks.toolArguments(event.choice, event.index, event.text, event.logprobs));
          break;
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
      return reply;
    }
    // Headers are gone: the error travels as a data frame, then the stream ends normally.
    const mapped = toHttpError(error, errors);
    if (mapped.status === 503) reply.log.warn(mapped.body.error.message);
    else if (mapped.status >= 500) reply.log.error({ err: error }, "generation failed mid-stream");
    await sse.send(mapped.body);
  }
  await sse.done();
  return reply;
}
