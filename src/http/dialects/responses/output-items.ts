/**
 * The output items of a response as they grow, one engine event at a time: a `reasoning` item
 * (the thoughts), a `message` (the answer's text, with its log-probabilities when asked), and one
 * `function_call` per call. Each item knows its wire shape, in progress or done, and the stream
 * events that add to it and close it (sink.ts numbers and frames them). One place for both modes:
 * the non-streamed `output` is the items' final shapes.
 */
import { randomBytes } from "node:crypto";
import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseReasoningItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import type { TokenLogprob } from "../../../domain/events.ts";
import { finiteLogprob } from "../openai-wire.ts";

/**
 * The `Response` object as it goes on the wire: openai's `Response` without `output_text` (the
 * SDKs compute it on the client: openai-node's addOutputText), with `store` (on OpenAI's wire,
 * not in the SDK's type).
 */
export type ResponseObject = Omit<Response, "output_text"> & { store: boolean };

/** A stream event before it is numbered (sink.ts adds `sequence_number`), carrying the wire's `Response`. */
export type UnnumberedEvent = ResponseStreamEvent extends infer E
  ? E extends { sequence_number: number }
    ? E extends { response: Response }
      ? Omit<E, "sequence_number" | "response"> & { response: ResponseObject }
      : Omit<E, "sequence_number">
    : never
  : never;

/** `msg_…`, `rs_…`, `fc_…`: OpenAI's item id prefixes, with 24 random bytes in hex. */
export function itemId(prefix: "msg" | "rs" | "fc"): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

export type ItemStatus = "in_progress" | "completed" | "incomplete";

/** One output item: what it looks like now, and the events that open, extend and close it. */
export interface OutputItem {
  readonly id: string;
  readonly outputIndex: number;
  status: ItemStatus;
  /** The item's wire shape now. */
  wire(): ResponseOutputItem;
  /** The events that announce it (`output_item.added`, and its content part's `added`). */
  opened(): UnnumberedEvent[];
  /** The events that finish it (`…done`), once; `status` is set before. */
  closed(): UnnumberedEvent[];
}

/** Thoughts: `content` (`reasoning_text`) always, `summary` too when the request asked for summaries. */
export class ReasoningOutput implements OutputItem {
  readonly id = itemId("rs");
  readonly outputIndex: number;
  readonly #summary: boolean;
  status: ItemStatus = "in_progress";
  text = "";

  constructor(outputIndex: number, summary: boolean) {
    this.outputIndex = outputIndex;
    this.#summary = summary;
  }

  wire(): ResponseReasoningItem {
    const done = this.status !== "in_progress";
    return {
      id: this.id,
      type: "reasoning",
      summary: this.#summary && done ? [{ type: "summary_text", text: this.text }] : [],
      content: done ? [{ type: "reasoning_text", text: this.text }] : [],
      status: this.status,
    };
  }

  opened(): UnnumberedEvent[] {
    const at = { item_id: this.id, output_index: this.outputIndex };
    const events: UnnumberedEvent[] = [
      { type: "response.output_item.added", output_index: this.outputIndex, item: this.wire() },
      { type: "response.content_part.added", ...at, content_index: 0, part: { type: "reasoning_text", text: "" } },
    ];
    if (this.#summary) events.push({ type: "response.reasoning_summary_part.added", ...at, summary_index: 0, part: { type: "summary_text", text: "" } });
    return events;
  }

  delta(text: string): UnnumberedEvent[] {
    this.text += text;
    const at = { item_id: this.id, output_index: this.outputIndex };
    const events: UnnumberedEvent[] = [{ type: "response.reasoning_text.delta", ...at, content_index: 0, delta: text }];
    if (this.#summary) events.push({ type: "response.reasoning_summary_text.delta", ...at, summary_index: 0, delta: text });
    return events;
  }

  closed(): UnnumberedEvent[] {
    const at = { item_id: this.id, output_index: this.outputIndex };
    const events: UnnumberedEvent[] = [
      { type: "response.reasoning_text.done", ...at, content_index: 0, text: this.text },
      { type: "response.content_part.done", ...at, content_index: 0, part: { type: "reasoning_text", text: this.text } },
    ];
    if (this.#summary) {
      events.push(
        { type: "response.reasoning_summary_text.done", ...at, summary_index: 0, text: this.text },
        { type: "response.reasoning_summary_part.done", ...at, summary_index: 0, part: { type: "summary_text", text: this.text } },
      );
    }
    events.push({ type: "response.output_item.done", output_index: this.outputIndex, item: this.wire() });
    return events;
  }
}

type WireLogprob = NonNullable<ResponseOutputText["logprobs"]>[number];

function toWire(entries: readonly TokenLogprob[]): WireLogprob[] {
  return entries.map((e) => ({
    token: e.token,
    logprob: finiteLogprob(e.logprob),
    bytes: [...e.bytes],
    top_logprobs: e.topLogprobs.map((t) => ({ token: t.token, logprob: finiteLogprob(t.logprob), bytes: [...t.bytes] })),
  }));
}

/** The answer's text: one `output_text` part, its log-probabilities (empty unless asked). */
export class MessageOutput implements OutputItem {
  readonly id = itemId("msg");
  readonly outputIndex: number;
  status: ItemStatus = "in_progress";
  text = "";
  readonly logprobs: WireLogprob[] = [];

  constructor(outputIndex: number) {
    this.outputIndex = outputIndex;
  }

  part(): ResponseOutputText {
    return { type: "output_text", text: this.text, annotations: [], logprobs: [...this.logprobs] };
  }

  wire(): ResponseOutputMessage {
    return { id: this.id, type: "message", role: "assistant", status: this.status, content: this.status === "in_progress" ? [] : [this.part()] };
  }

  opened(): UnnumberedEvent[] {
    return [
      { type: "response.output_item.added", output_index: this.outputIndex, item: this.wire() },
      { type: "response.content_part.added", item_id: this.id, output_index: this.outputIndex, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } },
    ];
  }

  /** `logprobs`: the tokens' (empty when not asked). */
  delta(text: string, logprobs: readonly TokenLogprob[]): UnnumberedEvent[] {
    this.text += text;
    const wire = toWire(logprobs);
    this.logprobs.push(...wire);
    return [{ type: "response.output_text.delta", item_id: this.id, output_index: this.outputIndex, content_index: 0, delta: text, logprobs: wire }];
  }

  closed(): UnnumberedEvent[] {
    const at = { item_id: this.id, output_index: this.outputIndex, content_index: 0 };
    return [
      { type: "response.output_text.done", ...at, text: this.text, logprobs: [...this.logprobs] },
      { type: "response.content_part.done", ...at, part: this.part() },
      { type: "response.output_item.done", output_index: this.outputIndex, item: this.wire() },
    ];
  }
}

/** One function call: its name at once, its arguments as they come. */
export class FunctionCallOutput implements OutputItem {
  readonly id = itemId("fc");
  readonly outputIndex: number;
  readonly callId: string;
  readonly name: string;
  status: ItemStatus = "in_progress";
  arguments = "";

  constructor(outputIndex: number, callId: string, name: string) {
    this.outputIndex = outputIndex;
    this.callId = callId;
    this.name = name;
  }

  wire(): ResponseFunctionToolCall {
    return { id: this.id, type: "function_call", call_id: this.callId, name: this.name, arguments: this.arguments, status: this.status };
  }

  opened(): UnnumberedEvent[] {
    return [{ type: "response.output_item.added", output_index: this.outputIndex, item: { ...this.wire(), arguments: "" } }];
  }

  delta(text: string): UnnumberedEvent[] {
    this.arguments += text;
    return [{ type: "response.function_call_arguments.delta", item_id: this.id, output_index: this.outputIndex, delta: text }];
  }

  closed(): UnnumberedEvent[] {
    return [
      { type: "response.function_call_arguments.done", item_id: this.id, output_index: this.outputIndex, name: this.name, arguments: this.arguments },
      { type: "response.output_item.done", output_index: this.outputIndex, item: this.wire() },
    ];
  }
}
