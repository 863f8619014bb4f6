/**
 * One choice's generated text → chat events: thoughts split off first (reasoning splitter, when
 * the model reasons), then the answer's tool calls parsed out (ToolCallStream, when tools are
 * offered) and stop strings matched on the answer only — never on thoughts, nor inside a call.
 *
 * Log-probability entries travel with the first event emitted after the text that produced them,
 * so none is lost; whatever is left at the end goes out in an empty `delta`.
 */
import type { ChatEvent, FinishReason, TokenLogprob } from "../domain/events.ts";
import type { ReasoningPhase, ReasoningSplitter } from "./reasoning/splitter.ts";
import { StopMatcher } from "./stop-matcher.ts";
import { ToolCallStream } from "./tools/tool-call-stream.ts";
import type { ToolCallSyntax } from "./tools/syntax.ts";
import type { ParameterTypes } from "./tools/parameter-types.ts";

export interface ChoiceOutputOptions {
  /** The choice index the events are for. */
  readonly choice: number;
  /** Splits thoughts from the answer (default: all text is the answer). */
  readonly reasoning?: ReasoningSplitter | undefined;
  /** Thoughts stay in the answer's text, markers included; the splitter only tracks the phase (default false). */
  readonly thoughtsAsContent?: boolean;
  /** Parses the answer's tool calls in this syntax (default: none). */
  readonly tools?: { readonly syntax: ToolCallSyntax; readonly anchored: boolean; readonly parameterTypes?: ParameterTypes | undefined } | undefined;
  /** Stop strings, matched on the answer (default none). */
  readonly stop?: readonly string[];
  /** Emit the stop string that ended the answer (default false). */
  readonly includeStop?: boolean;
}

export interface ChoiceOutputStep {
  readonly events: ChatEvent[];
  /** A stop string was found in the answer: generation must end. */
  readonly stopped: boolean;
}

export class ChoiceOutput {
  readonly #choice: number;
  readonly #splitter: ReasoningSplitter | undefined;
  readonly #thoughtsAsContent: boolean;
  readonly #calls: ToolCallStream | undefined;
  readonly #stops: StopMatcher;
  #logprobs: TokenLogprob[] = [];
  #stopped = false;

  constructor(options: ChoiceOutputOptions) {
    this.#choice = options.choice;
    this.#splitter = options.reasoning;
    this.#thoughtsAsContent = options.thoughtsAsContent ?? false;
    const stop = options.stop ?? [];
    const includeStop = options.includeStop ?? false;
    this.#calls = options.tools === undefined ? undefined : new ToolCallStream({ ...options.tools, choice: options.choice, stop, includeStop });
    this.#stops = new StopMatcher(options.tools === undefined ? stop : [], includeStop);
  }

  /** Where the output is: thoughts, the answer, or not known yet (always `answer` without a splitter). */
  get phase(): ReasoningPhase {
    return this.#splitter?.phase ?? "answer";
  }

  /** @param stopsActive false while stop strings are not matched yet (vLLM `min_tokens`). */
  push(text: string, logprobs: readonly TokenLogprob[], stopsActive = true): ChoiceOutputStep {
    this.#logprobs.push(...logprobs);
    if (this.#stopped) return { events: [], stopped: true };
    const events: ChatEvent[] = [];
    if (this.#splitter === undefined || this.#thoughtsAsContent) {
      this.#splitter?.push(text);
      this.#answer(text, stopsActive, events);
    } else {
      for (const part of this.#splitter.push(text)) this.#part(part.kind, part.text, stopsActive, events);
    }
    return { events, stopped: this.#stopped };
  }

  /** End of generation: what the splitter, parser and stop matcher still held, and unsent log-probabilities. */
  finish(): ChatEvent[] {
    const events: ChatEvent[] = [];
    const held = this.#splitter?.finish() ?? [];
    if (!this.#stopped && !this.#thoughtsAsContent) for (const part of held) this.#part(part.kind, part.text, true, events);
    if (this.#calls !== undefined) {
      if (this.#logprobs.length > 0) events.push(...this.#calls.push("", this.#takeLogprobs(), true).events);
      events.push(...this.#calls.finish());
      return events;
    }
    if (!this.#stopped) this.#delta(this.#stops.flush(), events);
    if (this.#logprobs.length > 0) events.push({ type: "delta", choice: this.#choice, text: "", logprobs: this.#takeLogprobs() });
    return events;
  }

  /** The choice's finish reason: `tool_calls` when it ended normally with calls. */
  finishReason(reason: FinishReason): FinishReason {
    return this.#calls?.finishReason(reason) ?? reason;
  }

  /** The stop string that ended the answer, once one has (the `finish` event's `stopSequence`). */
  get stopSequence(): string | undefined {
    return this.#calls === undefined ? this.#stops.matched : this.#calls.stopSequence;
  }

  #part(kind: "reasoning" | "content", text: string, stopsActive: boolean, events: ChatEvent[]): void {
    if (this.#stopped) return;
    if (kind === "reasoning") events.push({ type: "reasoning", choice: this.#choice, text, logprobs: this.#takeLogprobs() });
    else this.#answer(text, stopsActive, events);
  }

  #answer(text: string, stopsActive: boolean, events: ChatEvent[]): void {
    if (this.#calls !== undefined) {
      const step = this.#calls.push(text, this.#takeLogprobs(), stopsActive);
      events.push(...step.events);
      this.#stopped = step.stopped;
      return;
    }
    const match = this.#stops.push(text, stopsActive);
    this.#delta(match.text, events);
    this.#stopped = match.stopped;
  }

  #delta(text: string, events: ChatEvent[]): void {
    if (text !== "") events.push({ type: "delta", choice: this.#choice, text, logprobs: this.#takeLogprobs() });
  }

  #takeLogprobs(): TokenLogprob[] {
    const taken = this.#logprobs;
    this.#logprobs = [];
    return taken;
  }
}
