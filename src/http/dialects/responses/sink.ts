/**
 * The Responses API's answer, streamed or not, from one pass over the engine's events: the output
 * items grow (output-items.ts), and a stream gets OpenAI's typed events for each step, numbered by
 * `sequence_number` from 0, as named SSE frames (`event: response.output_text.delta`). A stream
 * opens with `response.created` and `response.in_progress` and ends with exactly one of
 * `response.completed`, `response.incomplete` (the output hit `max_output_tokens`) or, after an
 * `error` event, `response.failed`; no `[DONE]` follows (OpenAI sends none on this API). A
 * non-streaming request gets the same final `Response` object (`body()`), which the state part
 * (src/responses-store) also takes from a streamed one.
 */
import type { Response, ResponseUsage } from "openai/resources/responses/responses";
import type { ChatEvent, FinishReason, Usage } from "../../../domain/events.ts";
import type { HttpError } from "../../errors.ts";
import type { SseFrame } from "../../sse.ts";
import type { ResponseMeta, ResponseSink } from "../types.ts";
import type { ParsedResponsesRequest } from "./normalize.ts";
import { FunctionCallOutput, MessageOutput, type OutputItem, ReasoningOutput, type ResponseObject, type UnnumberedEvent } from "./output-items.ts";

export type { ResponseObject } from "./output-items.ts";

export class ResponsesSink implements ResponseSink {
  readonly #parsed: ParsedResponsesRequest;
  readonly #meta: ResponseMeta;
  readonly #id: string;
  readonly #items: OutputItem[] = [];
  /** The item events extend now (closed when another kind begins, and at the finish). */
  #current: OutputItem | undefined;
  readonly #calls = new Map<number, FunctionCallOutput>();
  #sequence = 0;
  #finish: FinishReason | undefined;
  #usage: Usage | undefined;
  #failure: { code: string; message: string } | undefined;

  constructor(parsed: ParsedResponsesRequest, meta: ResponseMeta) {
    this.#parsed = parsed;
    this.#meta = meta;
    this.#id = meta.id;
  }

  open(): SseFrame[] {
    return this.#frames([
      { type: "response.created", response: this.#response() },
      { type: "response.in_progress", response: this.#response() },
    ]);
  }

  event(event: ChatEvent): SseFrame[] {
    switch (event.type) {
      case "reasoning": {
        const item = this.#current instanceof ReasoningOutput ? { value: this.#current, opening: [] } : this.#begin(new ReasoningOutput(this.#items.length, this.#parsed.reasoningSummary));
        return this.#frames([...item.opening, ...item.value.delta(event.text)]);
      }
      case "delta": {
        const item = this.#current instanceof MessageOutput ? { value: this.#current, opening: [] } : this.#begin(new MessageOutput(this.#items.length));
        return this.#frames([...item.opening, ...item.value.delta(event.text, this.#parsed.outputLogprobs ? event.logprobs : [])]);
      }
      case "tool_call": {
        const item = this.#begin(new FunctionCallOutput(this.#items.length, event.id, event.name));
        this.#calls.set(event.index, item.value);
        return this.#frames(item.opening);
      }
      case "tool_arguments": {
        const call = this.#calls.get(event.index);
        return call === undefined ? [] : this.#frames(call.delta(event.text));
      }
      case "finish":
        this.#finish = event.reason;
        return this.#frames(this.#closeOpen(event.reason === "length" ? "incomplete" : "completed"));
      case "usage":
        this.#usage = event.usage;
        return [];
      case "prompt_logprobs":
      case "score":
        return [];
      default:
        return event satisfies never;
    }
  }

  close(): SseFrame[] {
    if (this.#failure !== undefined) return [];
    const response = this.body();
    return this.#frames([{ type: response.status === "incomplete" ? "response.incomplete" : "response.completed", response }]);
  }

  error(mapped: HttpError): SseFrame[] {
    const { message, param } = mapped.body.error;
    const code = mapped.body.error.code === null ? null : String(mapped.body.error.code);
    this.#failure = { code: mapped.status >= 500 ? "server_error" : (code ?? "invalid_prompt"), message };
    const closing = this.#closeOpen("incomplete");
    return this.#frames([...closing, { type: "error", code, message, param: param ?? null }, { type: "response.failed", response: this.#response() }]);
  }

  /** The whole `Response` (also once a stream has ended). */
  body(): ResponseObject {
    if (this.#usage === undefined && this.#failure === undefined) throw new Error("the engine finished without reporting usage");
    return this.#response();
  }

  /** Opens `item` (closing the one before): its opening events, and the item. */
  #begin<T extends OutputItem>(item: T): { value: T; opening: UnnumberedEvent[] } {
    const opening = this.#closeCurrent("completed");
    this.#items.push(item);
    this.#current = item;
    return { value: item, opening: [...opening, ...item.opened()] };
  }

  #closeCurrent(status: "completed" | "incomplete"): UnnumberedEvent[] {
    const item = this.#current;
    this.#current = undefined;
    if (item === undefined || item.status !== "in_progress") return [];
    item.status = status;
    return item.closed();
  }

  /** Closes every item still open (calls made in parallel may be), in output order. */
  #closeOpen(status: "completed" | "incomplete"): UnnumberedEvent[] {
    this.#current = undefined;
    return this.#items.filter((item) => item.status === "in_progress").flatMap((item) => ((item.status = status), item.closed()));
  }

  #frames(events: readonly UnnumberedEvent[]): SseFrame[] {
    return events.map((event) => ({ event: event.type, data: { ...event, sequence_number: this.#sequence++ } }));
  }

  /** When the response completed: fixed the first time it is asked, so every copy agrees. */
  #completedAt(): number {
    this.#completed ??= Math.floor(Date.now() / 1000);
    return this.#completed;
  }

  #completed: number | undefined;

  #response(): ResponseObject {
    const { settings, previousResponseId, store, background, metadata } = this.#parsed;
    const status = this.#failure !== undefined ? "failed" : this.#usage === undefined ? "in_progress" : this.#finish === "length" ? "incomplete" : "completed";
    const done = status !== "in_progress";
    const response: ResponseObject = {
      id: this.#id,
      object: "response",
      created_at: this.#meta.created,
      status,
      background,
      error: this.#failure === undefined ? null : (this.#failure as Response["error"]),
      incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
      instructions: settings.instructions,
      max_output_tokens: settings.maxOutputTokens,
      model: this.#meta.model,
      output: done ? this.#items.map((item) => item.wire()) : [],
      parallel_tool_calls: settings.parallelToolCalls,
      previous_response_id: previousResponseId ?? null,
      reasoning: settings.reasoning,
      safety_identifier: settings.safetyIdentifier,
      service_tier: settings.serviceTier,
      store,
      temperature: settings.temperature,
      text: settings.text,
      tool_choice: settings.toolChoice as Response["tool_choice"],
      tools: settings.tools,
      top_logprobs: settings.topLogprobs,
      top_p: settings.topP,
      truncation: settings.truncation,
      prompt_cache_key: settings.promptCacheKey,
      metadata: metadata ?? {},
      ...(settings.user === undefined ? {} : { user: settings.user }),
      ...(this.#usage === undefined ? {} : { usage: toResponseUsage(this.#usage) }),
      ...(status === "completed" || status === "incomplete" ? { completed_at: this.#completedAt() } : {}),
    };
    return response;
  }
}

export function toResponseUsage(usage: Usage): ResponseUsage {
  return {
    input_tokens: usage.promptTokens,
    // Parley's prompt cache is implicit: nothing is written on request (`cache_write_tokens` is OpenAI's explicit caching).
    input_tokens_details: { cached_tokens: usage.cachedTokens, cache_write_tokens: 0 },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}
