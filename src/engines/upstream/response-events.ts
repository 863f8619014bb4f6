/**
 * An opened upstream response → Parley's events: a streamed answer (SSE, `data: [DONE]`-terminated)
 * or one JSON completion, read by the endpoint's parser (chat's by default; text completions'
 * in text-events.ts), with the bounded reads and lenient parsing both need. Nothing here
 * chooses replicas or retries: a stream that ends early throws `UpstreamBroke` (the replica's
 * fault), a malformed one a `ParleyError`.
 */
import type { Dispatcher } from "undici";
import type { ChatEvent } from "../../domain/events.ts";
import { chunkEvents, completionEvents, malformed } from "./chunk-events.ts";
import { SseEventTooLarge, SseParser } from "./sse-parser.ts";

/** The stream broke or ended early (the replica's fault, not a protocol error). */
export class UpstreamBroke extends Error {}

/** How one endpoint's answers become events: a streamed chunk, or a whole answer (both already JSON-parsed). */
export interface AnswerParser {
  chunk(chunk: unknown): ChatEvent[];
  completion(completion: unknown): ChatEvent[];
}

/** Chat completions' answers (chunk-events.ts). */
export const CHAT_ANSWERS: AnswerParser = { chunk: chunkEvents, completion: completionEvents };

/** A streamed answer's events, with the upstream's usage when it sent one (the engine estimates it otherwise). */
export async function* streamEvents(response: Dispatcher.ResponseData, answers: AnswerParser = CHAT_ANSWERS): AsyncGenerator<ChatEvent> {
  const parser = new SseParser();
  let done = false;
  const frames = function* (datas: string[]): Generator<ChatEvent> {
    for (const data of datas) {
      if (done) return;
      if (data === "[DONE]") {
        done = true;
        return;
      }
      const parsed = parseJson(data);
      if (parsed === undefined) throw malformed(`an event is not JSON: ${JSON.stringify(data.slice(0, 80))}`);
      for (const event of answers.chunk(parsed)) {
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
}

export async function* bodyEvents(response: Dispatcher.ResponseData, answers: AnswerParser = CHAT_ANSWERS): AsyncGenerator<ChatEvent> {
  const text = await readBounded(response, MAX_COMPLETION_BYTES);
  if (text === undefined) throw malformed(`the completion is longer than ${MAX_COMPLETION_BYTES} bytes`);
  const parsed = parseJson(text);
  if (parsed === undefined) throw malformed("the completion is not JSON");
  yield* answers.completion(parsed);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An upstream Parley's `x-parley-warnings` (a JSON array of strings), passed on. */
export function upstreamWarnings(headers: Dispatcher.ResponseData["headers"]): string[] {
  const raw = headers["x-parley-warnings"];
  const parsed = typeof raw === "string" ? parseJson(raw) : undefined;
  return Array.isArray(parsed) ? parsed.filter((w): w is string => typeof w === "string") : [];
}

export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${code}: ${error.message}` : error.message;
}

/** Longest upstream error body read (the rest is discarded): 64 KiB. */
export const MAX_ERROR_BYTES = 64 * 1024;
/** Longest non-streamed upstream completion accepted: 32 MiB. */
const MAX_COMPLETION_BYTES = 32 * 1024 * 1024;

/** The body as text, or undefined (and the body destroyed) once it exceeds `limit` bytes. */
export async function readBounded(response: Dispatcher.ResponseData, limit: number): Promise<string | undefined> {
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
