/**
 * One choice's generated text → chat events, tool calls parsed out: the parser's content parts
 * become `delta` events, calls become `tool_call` (with a fresh `call_…` id) and
 * `tool_arguments` events. Log-probability entries travel with the first event emitted after the
 * text that produced them (tokens of tool-call markup included), so none is lost.
 */
import { randomBytes } from "node:crypto";
import type { ChatEvent, TokenLogprob } from "../../domain/events.ts";
import type { ToolCallSyntax } from "./syntax.ts";
import { ToolCallParser, type ParsedPart } from "./tool-call-parser.ts";

export interface ToolCallStreamOptions {
  readonly syntax: ToolCallSyntax;
  /** The choice index the events are for. */
  readonly choice: number;
  /** Only a section at the start of the message is a call (see ToolCallParser). */
  readonly anchored?: boolean;
}

/** A unique OpenAI-style tool-call id. */
export function newToolCallId(): string {
  return `call_${randomBytes(18).toString("base64url")}`;
}

export class ToolCallStream {
  readonly #parser: ToolCallParser;
  readonly #choice: number;
  readonly #ids: string[] = [];
  #logprobs: TokenLogprob[] = [];

  constructor(options: ToolCallStreamOptions) {
    this.#parser = new ToolCallParser(options.syntax, { anchored: options.anchored ?? false });
    this.#choice = options.choice;
  }

  /** Calls started so far. */
  get calls(): number {
    return this.#ids.length;
  }

  push(text: string, logprobs: readonly TokenLogprob[]): ChatEvent[] {
    this.#logprobs.push(...logprobs);
    return this.#toEvents(text === "" ? [] : this.#parser.push(text), false);
  }

  /** End of generation: what the parser still held, and any log-probabilities not yet sent. */
  finish(): ChatEvent[] {
    return this.#toEvents(this.#parser.finish(), true);
  }

  #toEvents(parts: readonly ParsedPart[], final: boolean): ChatEvent[] {
    const choice = this.#choice;
    const events: ChatEvent[] = [];
    for (const part of parts) {
      const logprobs = this.#takeLogprobs();
      switch (part.kind) {
        case "content":
          events.push({ type: "delta", choice, text: part.text, logprobs });
          break;
        case "call": {
          const id = newToolCallId();
          this.#ids[part.index] = id;
          events.push({ type: "tool_call", choice, index: part.index, id, name: part.name, logprobs });
          break;
        }
        case "arguments":
          events.push({ type: "tool_arguments", choice, index: part.index, text: part.text, logprobs });
          break;
        default:
          part satisfies never;
      }
    }
    if (final && this.#logprobs.length > 0) events.push({ type: "delta", choice, text: "", logprobs: this.#takeLogprobs() });
    return events;
  }

  #takeLogprobs(): TokenLogprob[] {
    const taken = this.#logprobs;
    this.#logprobs = [];
    return taken;
  }
}
