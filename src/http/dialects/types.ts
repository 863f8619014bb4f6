/**
 * What a dialect is: one API's wire format at the edge (chat completions, text completions, …).
 * A dialect parses its body into domain requests (validated once, here) and writes the engine's
 * domain events back in its own shape through one `ResponseSink`, streamed or not: the sink takes
 * each event once, returns the frames a stream sends for it, and builds the whole response for
 * a non-streaming request. The handler that joins them (serve.ts) is shared by every dialect.
 */
import type { ChatRequest } from "../../domain/chat.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { RequestLimits } from "../../domain/limits.ts";
import type { ChatEngine } from "../../engines/types.ts";
import type { Bookkeeping } from "../../schemas/generation.ts";
import type { HttpError } from "../errors.ts";
import type { SseFrame } from "../sse.ts";

/** A request as its dialect parsed it. */
export interface ParsedRequest extends Bookkeeping {
  /**
   * One domain request per generation: one, or one per prompt of a text completion. Their choices
   * are numbered in order (request i's choice c is choice i × n + c), and their usage is summed.
   */
  readonly requests: readonly ChatRequest[];
  /** What the request log keeps of the input with `log_prompt`: the field's name and its value as sent. */
  readonly input: { readonly field: "messages" | "prompt" | "input"; readonly value: unknown };
}

/** Who is answered, for the response's identity. */
export interface ResponseMeta {
  /** The response id (`chatcmpl-…`, `cmpl-…`). */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
  /** `system_fingerprint`. */
  readonly fingerprint: string;
}

/** One request's response, built from its events whichever the mode (see the file's header). */
export interface ResponseSink {
  /** Frames a stream opens with, before any event (chat: each choice's role). */
  open(): readonly SseFrame[];
  /** Takes one event (choices already numbered across requests); returns what a stream sends for it. */
  event(event: ChatEvent): readonly SseFrame[];
  /** Frames that end a stream after its last event (e.g. `[DONE]`). */
  close(): readonly SseFrame[];
  /** Frames that report a failure once a stream has started; `close` follows them. */
  error(mapped: HttpError): readonly SseFrame[];
  /** The whole response of a non-streaming request, once every event was taken. */
  body(): unknown;
}

/** Server settings a dialect's parser and writer read. */
export interface DialectSettings {
  readonly limits: RequestLimits;
  /** Where thoughts go on the wire (`--reasoning-field`). */
  readonly reasoningField: ReasoningField;
}

/**
 * Where thoughts go on the wire (`--reasoning-field`): `reasoning_content` (vLLM's original name,
 * llama-server's, DeepSeek's; what most clients read), `reasoning` (vLLM ≥ 0.11, Ollama,
 * OpenRouter), or both.
 */
export type ReasoningField = "reasoning_content" | "reasoning" | "both";

export interface Dialect<P extends ParsedRequest = ParsedRequest> {
  /** The API's name (`chat.completions`), marking its routes. */
  readonly name: string;
  /** The message of each request's metadata log line (`chat completion`). */
  readonly logMessage: string;
  /** The routes it answers (POST). */
  readonly paths: readonly string[];
  /** The prefix of its response ids, separator included (`chatcmpl-`, `resp_`). */
  readonly idPrefix: string;
  /** Validates and normalises a body (a 400 listing every invalid field otherwise). */
  parse(body: unknown, settings: DialectSettings): P;
  /** The response writer of one request. */
  sink(parsed: P, meta: ResponseMeta, settings: DialectSettings): ResponseSink;
  /**
   * Adjusts a parsed request once its engine is known, before it generates (default: none), e.g.
   * the Responses API's `truncation: "auto"`, which counts the prompt's tokens. May throw a 400.
   */
  readonly prepare?: (parsed: P, engine: ChatEngine, signal: AbortSignal) => Promise<P>;
  /** Its error envelope, when it is not OpenAI's (`{"error": {message, type, param, code}}`, `mapped.body`). */
  readonly errorBody?: (mapped: HttpError) => unknown;
}
