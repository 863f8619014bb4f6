/**
 * The Anthropic Messages response, streamed or not, from one pass over the engine's events (choice
 * 0: Anthropic has no `n`). Thoughts, text and tool calls become content blocks in the order the
 * model wrote them; a stream opens each with `content_block_start`, grows it with
 * `content_block_delta` (`thinking_delta`, `text_delta`, `input_json_delta`) and ends it with
 * `content_block_stop` (a thinking block with its `signature_delta` first).
 *
 * The stream begins with `message_start` (the message, empty, and its usage as known then: the
 * prompt is counted by the engine as it runs, so `input_tokens` is 0 there) and one `ping`; it ends
 * with `message_delta` (`stop_reason`, `stop_sequence`, and the whole usage: the SDKs take its
 * `input_tokens` and cache counts as the message's totals) and `message_stop`. A failure after the
 * head is an `error` event, and the stream ends there.
 *
 * Signatures: Parley cannot prove thoughts to anyone, and verifies none it is sent back. A thinking
 * block's `signature` is a digest of its text (`parley:` + base64url SHA-256), only so that
 * clients that keep a block only when it has a signature round-trip it.
 */
import { createHash } from "node:crypto";
import type { Message, MessageDeltaUsage, RawMessageStreamEvent, StopReason, Usage as WireUsage } from "@anthropic-ai/sdk/resources/messages/messages";
import type { ChatEvent, FinishReason, Usage } from "../../../domain/events.ts";
import type { HttpError } from "../../errors.ts";
import type { SseFrame } from "../../sse.ts";
import type { ResponseMeta, ResponseSink } from "../types.ts";
import { anthropicErrorBody } from "./wire-errors.ts";

export interface MessagesSinkOptions {
  /** `thinking.display: "omitted"`: thinking blocks carry no text, only their signature (default false). */
  readonly omitThoughts?: boolean;
}

type Block =
  | { readonly type: "thinking"; thinking: string }
  | { readonly type: "text"; text: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly call: number; json: string };

/** A digest of a thinking block's text, as its `signature` (see the file's header). */
export function thoughtSignature(thinking: string): string {
  return `parley:${createHash("sha256").update(thinking).digest("base64url")}`;
}

/** Parley's tool-call ids (`call_…`) in Anthropic's form (`toolu_…`). */
export function toolUseId(id: string): string {
  return `toolu_${id.replace(/^call_/, "")}`;
}

export class MessagesSink implements ResponseSink {
  readonly #meta: ResponseMeta;
  readonly #omitThoughts: boolean;
  readonly #blocks: Block[] = [];
  /** The block a stream has open (its index), if any. */
  #open: number | undefined;
  #finish: { reason: FinishReason; stopSequence: string | undefined } | undefined;
  #usage: Usage | undefined;
  /** Set once `error` has been sent: `close` then adds nothing. */
  #failed = false;

  constructor(meta: ResponseMeta, options: MessagesSinkOptions = {}) {
    this.#meta = meta;
    this.#omitThoughts = options.omitThoughts ?? false;
  }

  open(): SseFrame[] {
    const message: Message = { ...this.#message([], null, null), usage: wireUsage({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 }) };
    return [frame({ type: "message_start", message }), { event: "ping", data: { type: "ping" } }];
  }

  event(event: ChatEvent): SseFrame[] {
    if (event.type === "usage") {
      // Held for `close`: an upstream that fails mid-stream still reports (estimated) usage, and
      // then the stream must end with the `error` event alone, never `message_stop`.
      this.#usage = event.usage;
      return [];
    }
    if (event.type === "prompt_logprobs" || event.type === "score" || event.choice !== 0) return [];
    switch (event.type) {
      case "reasoning":
        return this.#append("thinking", event.text);
      case "delta":
        return event.text === "" ? [] : this.#append("text", event.text);
      case "tool_call": {
        const frames = this.#closeOpen();
        const block: Block = { type: "tool_use", id: toolUseId(event.id), name: event.name, call: event.index, json: "" };
        return [...frames, ...this.#start(block)];
      }
      case "tool_arguments": {
        const index = this.#blocks.findIndex((b) => b.type === "tool_use" && b.call === event.index);
        const block = this.#blocks[index];
        if (block?.type !== "tool_use" || event.text === "") return [];
        block.json += event.text;
        return [frame({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: event.text } })];
      }
      case "finish":
        this.#finish = { reason: event.reason, stopSequence: event.stopSequence };
        return this.#closeOpen();
      default:
        return event satisfies never;
    }
  }

  close(): SseFrame[] {
    const usage = this.#usage;
    if (this.#failed || usage === undefined) return [];
    const finish = this.#finish;
    const delta = { stop_reason: finish === undefined ? null : stopReason(finish), stop_sequence: finish?.stopSequence ?? null, container: null, stop_details: null };
    return [frame({ type: "message_delta", delta, usage: deltaUsage(usage) }), frame({ type: "message_stop" })];
  }

  error(mapped: HttpError): SseFrame[] {
    this.#failed = true;
    return [{ event: "error", data: anthropicErrorBody(mapped) }];
  }

  body(): Message {
    const usage = this.#usage;
    if (usage === undefined) throw new Error("the engine finished without reporting usage");
    const finish = this.#finish;
    return {
      ...this.#message(
        this.#blocks.map((b) => this.#wireBlock(b, true)),
        finish === undefined ? null : stopReason(finish),
        finish?.stopSequence ?? null,
      ),
      usage: wireUsage(usage),
    };
  }

  #message(content: Message["content"], stop: StopReason | null, stopSequence: string | null): Omit<Message, "usage"> {
    return {
      id: this.#meta.id,
      type: "message",
      role: "assistant",
      model: this.#meta.model,
      content,
      stop_reason: stop,
      stop_sequence: stopSequence,
      stop_details: null,
      container: null,
      diagnostics: null,
    };
  }

  /** More thoughts or text: into the open block of that kind, or a new one. */
  #append(type: "thinking" | "text", text: string): SseFrame[] {
    const open = this.#open === undefined ? undefined : this.#blocks[this.#open];
    const frames: SseFrame[] = [];
    let index = this.#open;
    if (open?.type !== type || index === undefined) {
      frames.push(...this.#closeOpen(), ...this.#start(type === "thinking" ? { type, thinking: "" } : { type, text: "" }));
      index = this.#blocks.length - 1;
    }
    const block = this.#blocks[index];
    if (block?.type === "thinking") {
      block.thinking += text;
      if (!this.#omitThoughts) frames.push(frame({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: text } }));
    } else if (block?.type === "text") {
      block.text += text;
      frames.push(frame({ type: "content_block_delta", index, delta: { type: "text_delta", text } }));
    }
    return frames;
  }

  #start(block: Block): SseFrame[] {
    this.#blocks.push(block);
    this.#open = this.#blocks.length - 1;
    return [frame({ type: "content_block_start", index: this.#open, content_block: this.#wireBlock(block, false) })];
  }

  #closeOpen(): SseFrame[] {
    const index = this.#open;
    if (index === undefined) return [];
    this.#open = undefined;
    const block = this.#blocks[index];
    const frames: SseFrame[] = [];
    if (block?.type === "thinking") frames.push(frame({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: thoughtSignature(block.thinking) } }));
    frames.push(frame({ type: "content_block_stop", index }));
    return frames;
  }

  /** A block as the wire shows it: whole (`done`), or as a stream's `content_block_start` opens it. */
  #wireBlock(block: Block, done: boolean): Message["content"][number] {
    switch (block.type) {
      case "thinking":
        return { type: "thinking", thinking: done && !this.#omitThoughts ? block.thinking : "", signature: done ? thoughtSignature(block.thinking) : "" };
      case "text":
        return { type: "text", text: done ? block.text : "", citations: null };
      case "tool_use":
        return { type: "tool_use", id: block.id, name: block.name, input: done ? toolInput(block.json) : {}, caller: { type: "direct" } };
      default:
        return block satisfies never;
    }
  }
}

function frame(event: RawMessageStreamEvent): SseFrame {
  return { event: event.type, data: event };
}

function stopReason(finish: { reason: FinishReason; stopSequence: string | undefined }): StopReason {
  switch (finish.reason) {
    case "length":
      return "max_tokens";
    case "tool_calls":
      return "tool_use";
    case "stop":
      return finish.stopSequence === undefined ? "end_turn" : "stop_sequence";
    default:
      return finish.reason satisfies never;
  }
}

/**
 * A call's arguments as the `input` object. Arguments cut short by `max_tokens` are not JSON:
 * `input` is then `{}` (the stream carried the partial text, and `stop_reason` says `max_tokens`).
 */
function toolInput(json: string): unknown {
  if (json.trim() === "") return {};
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return {};
  }
}

/** Anthropic counts `input_tokens` apart from the tokens read from the cache (`cache_read_input_tokens`). */
function wireUsage(usage: Usage): WireUsage {
  return {
    input_tokens: usage.promptTokens - usage.cachedTokens,
    output_tokens: usage.completionTokens,
    cache_read_input_tokens: usage.cachedTokens,
    cache_creation_input_tokens: 0,
    cache_creation: null,
    output_tokens_details: usage.reasoningTokens === undefined ? null : { thinking_tokens: usage.reasoningTokens },
    server_tool_use: null,
    inference_geo: null,
    service_tier: "standard",
    speed: null,
  };
}

function deltaUsage(usage: Usage): MessageDeltaUsage {
  const { input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens, output_tokens_details } = wireUsage(usage);
  return { input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens, output_tokens_details, server_tool_use: null };
}
