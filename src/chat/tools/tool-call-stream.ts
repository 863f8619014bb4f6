/**
 * One choice's generated text → chat events, tool calls parsed out: the parser's content parts
 * become `delta` events, calls become `tool_call` (with a fresh `call_…` id) and
 * `tool_arguments` events. Log-probability entries travel with the first event emitted after the
 * text that produced them (tokens of tool-call markup included), so none is lost.
 *
 * Stop strings apply to content only: a stop string inside a call's arguments is part of the
 * call, and cutting it there would break a call the grammar guarantees valid.
 */
import { randomBytes } from "node:crypto";
import { StopMatcher } from "../stop-matcher.ts";
import type { ChatEvent, FinishReason, TokenLogprob } from "../../domain/events.ts";
import type { ToolCallSyntax } from "./syntax.ts";
import type { ParameterTypes } from "./parameter-types.ts";
import { createToolCallParser, type CallParser } from "./call-parser.ts";
import type { ParsedPart } from "./tool-call-parser.ts";

export interface ToolCallStreamOptions {
  readonly syntax: ToolCallSyntax;
  /** The choice index the events are for. */
  readonly choice: number;
  /** Only a section at the start of the message is a call (see ToolCallParser, NamedCallParser). */
  readonly anchored?: boolean;
  /** How per-parameter values become JSON, for the "xml-params" shape (parameter-types.ts; default: untyped). */
  readonly parameterTypes?: ParameterTypes | undefined;
  /** Stop strings, matched on content (default none). */
  readonly stop?: readonly string[];
  /** Emit the stop string that ended the content (default false). */
  readonly includeStop?: boolean;
}

export interface ToolCallStep {
  readonly events: ChatEvent[];
  /** A stop string was found in the content: generation must end. */
  readonly stopped: boolean;
}

/** A unique OpenAI-style tool-call id. */
export function newToolCallId(): string {
  return `call_${randomBytes(18).toString("base64url")}`;
}

export class ToolCallStream {
  readonly #parser: CallParser;
  readonly #stops: StopMatcher;
  readonly #choice: number;
  #calls = 0;
  #stopped = false;
  #stopsActive = true;
  #logprobs: TokenLogprob[] = [];

  constructor(options: ToolCallStreamOptions) {
    this.#parser = createToolCallParser(options.syntax, { anchored: options.anchored ?? false, parameterTypes: options.parameterTypes });
    this.#stops = new StopMatcher(options.stop ?? [], options.includeStop ?? false);
    this.#choice = options.choice;
  }

  /** @param stopsActive false while stop strings are not matched yet (vLLM `min_tokens`). */
  push(text: string, logprobs: readonly TokenLogprob[], stopsActive = true): ToolCallStep {
    this.#logprobs.push(...logprobs);
    if (this.#stopped) return { events: [], stopped: true };
    this.#stopsActive = stopsActive;
    return { events: this.#toEvents(text === "" ? [] : this.#parser.push(text), false), stopped: this.#stopped };
  }

  /** End of generation: what the parser and the stop matcher still held, and unsent log-probabilities. */
  finish(): ChatEvent[] {
    const parts = this.#stopped ? [] : this.#parser.finish();
    return this.#toEvents(parts, true);
  }

  /** The choice's finish reason: `tool_calls` when it ended normally with calls. */
  finishReason(reason: FinishReason): FinishReason {
    return reason === "stop" && this.#calls > 0 ? "tool_calls" : reason;
  }

  /** The stop string that ended the content, once one has. */
  get stopSequence(): string | undefined {
    return this.#stops.matched;
  }

  #toEvents(parts: readonly ParsedPart[], final: boolean): ChatEvent[] {
    const choice = this.#choice;
    const events: ChatEvent[] = [];
    const content = (text: string): void => {
      if (text !== "") events.push({ type: "delta", choice, text, logprobs: this.#takeLogprobs() });
    };
    for (const part of parts) {
      if (this.#stopped) break;
      switch (part.kind) {
        case "content": {
          const match = this.#stops.push(part.text, this.#stopsActive);
          content(match.text);
          this.#stopped = match.stopped;
          break;
        }
        case "call":
          content(this.#stops.flush()); // text held back as a possible stop string was content
          this.#calls++;
          events.push({ type: "tool_call", choice, index: part.index, id: newToolCallId(), name: part.name, logprobs: this.#takeLogprobs() });
          break;
        case "arguments":
          events.push({ type: "tool_arguments", choice, index: part.index, text: part.text, logprobs: this.#takeLogprobs() });
          break;
        default:
          part satisfies never;
      }
    }
    if (final) {
      if (!this.#stopped) content(this.#stops.flush());
      if (this.#logprobs.length > 0) events.push({ type: "delta", choice, text: "", logprobs: this.#takeLogprobs() });
    }
    return events;
  }

  #takeLogprobs(): TokenLogprob[] {
    const taken = this.#logprobs;
    this.#logprobs = [];
    return taken;
  }
}
