/**
 * A Responses sink wrapped so that the finished `Response` reaches a callback once, whichever the
 * mode: a stream's terminal event (`response.completed`, `response.incomplete`, `response.failed`,
 * seen before serve.ts sends it, so a client that has read it finds the response stored), or the
 * body of a non-streaming request. It also remembers the latest `Response` any event carried.
 */
import type { Response as OpenAIResponse } from "openai/resources/responses/responses";
import type { HttpError } from "../http/errors.ts";
import type { ResponseSink } from "../http/dialects/types.ts";
import type { ChatEvent } from "../domain/events.ts";
import { DONE, type SseFrame } from "../http/sse.ts";

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** The `Response` a stream frame carries (`response.created`, `.in_progress`, `.completed`…), if any. */
export function responseOf(frame: SseFrame): { response: OpenAIResponse; terminal: boolean } | undefined {
  if (frame === DONE) return undefined;
  const data = frame.data as { type?: unknown; response?: unknown } | null;
  if (typeof data?.response !== "object" || data.response === null) return undefined;
  return { response: data.response as OpenAIResponse, terminal: typeof data.type === "string" && TERMINAL.has(data.type) };
}

export class StoringSink implements ResponseSink {
  readonly #inner: ResponseSink;
  readonly #finished: (response: OpenAIResponse) => void;
  #latest: OpenAIResponse | undefined;
  #done = false;

  /** `finished`: called once with the finished response. */
  constructor(inner: ResponseSink, finished: (response: OpenAIResponse) => void) {
    this.#inner = inner;
    this.#finished = finished;
  }

  /** The latest response any frame carried. */
  get latest(): OpenAIResponse | undefined {
    return this.#latest;
  }

  open(): readonly SseFrame[] {
    return this.#watch(this.#inner.open());
  }

  event(event: ChatEvent): readonly SseFrame[] {
    return this.#watch(this.#inner.event(event));
  }

  close(): readonly SseFrame[] {
    return this.#watch(this.#inner.close());
  }

  error(mapped: HttpError): readonly SseFrame[] {
    return this.#watch(this.#inner.error(mapped));
  }

  body(): unknown {
    const body = this.#inner.body() as OpenAIResponse;
    this.#finish(body);
    return body;
  }

  #watch(frames: readonly SseFrame[]): readonly SseFrame[] {
    for (const frame of frames) {
      const carried = responseOf(frame);
      if (carried === undefined) continue;
      this.#latest = carried.response;
      if (carried.terminal) this.#finish(carried.response);
    }
    return frames;
  }

  #finish(response: OpenAIResponse): void {
    if (this.#done) return;
    this.#done = true;
    this.#finished(response);
  }
}
