/**
 * The chat-completions response, streamed or not, from one pass over the engine's events: each
 * event updates the choice it belongs to and returns its `chat.completion.chunk`; a non-streaming
 * request takes the folded `chat.completion` at the end. The legacy `functions` rename
 * (`function_call` for `tool_calls`) is decided here, once, for both.
 */
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessage } from "openai/resources/chat/completions";
import type { ChatEvent, FinishReason, TokenLogprob, Usage } from "../../../domain/events.ts";
import type { HttpError } from "../../errors.ts";
import { DONE, type SseFrame } from "../../sse.ts";
import { toWireLogprobs, toWirePromptLogprobs, toWireUsage, type WirePromptLogprobs } from "../openai-wire.ts";
import type { ReasoningField, ResponseMeta, ResponseSink } from "../types.ts";

export interface ChatSinkOptions {
  /** Choices in all. */
  readonly n: number;
  /** `stream_options.include_usage`: every chunk carries `usage: null`, and a last chunk the usage (default false). */
  readonly withUsage?: boolean;
  /** Whether logprobs were requested (default false). */
  readonly logprobs?: boolean;
  /** The request used legacy `functions`: answered with `function_call` (default false). */
  readonly legacyFunctions?: boolean;
  /** Where thoughts go (default `reasoning_content`). */
  readonly reasoningField?: ReasoningField;
}

type ChunkChoice = ChatCompletionChunk["choices"][number];
type WireFinishReason = ChatCompletion["choices"][number]["finish_reason"];

interface ChoiceState {
  text: string;
  reasoning: string;
  score: { cumulativeLogprob: number; beamScore?: number } | undefined;
  logprobs: TokenLogprob[];
  calls: { id: string; name: string; arguments: string }[];
  finish: FinishReason | null;
}

export class ChatCompletionSink implements ResponseSink {
  readonly #meta: ResponseMeta;
  readonly #withUsage: boolean;
  readonly #logprobs: boolean;
  readonly #legacy: boolean;
  readonly #reasoningField: ReasoningField;
  readonly #choices: ChoiceState[];
  #usage: Usage | undefined;
  #promptLogprobs: readonly (TokenLogprob | null)[] | undefined;

  constructor(meta: ResponseMeta, options: ChatSinkOptions) {
    this.#meta = meta;
    this.#withUsage = options.withUsage ?? false;
    this.#logprobs = options.logprobs ?? false;
    this.#legacy = options.legacyFunctions ?? false;
    this.#reasoningField = options.reasoningField ?? "reasoning_content";
    this.#choices = Array.from({ length: options.n }, () => ({ text: "", reasoning: "", score: undefined, logprobs: [], calls: [], finish: null }));
  }

  open(): SseFrame[] {
    return this.#choices.map((_, index) => ({ data: this.#chunkBody([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]) }));
  }

  event(event: ChatEvent): SseFrame[] {
    if (event.type === "usage") {
      this.#usage = event.usage;
      return this.#withUsage ? [{ data: { ...this.#chunkBody([]), usage: toWireUsage(event.usage) } }] : [];
    }
    if (event.type === "prompt_logprobs") {
      this.#promptLogprobs = event.entries;
      // In a chunk of their own (no choices), before any text.
      return [{ data: { ...this.#chunkBody([]), prompt_logprobs: toWirePromptLogprobs(event.entries) } }];
    }
    const state = this.#choices[event.choice];
    if (state === undefined) return [];
    switch (event.type) {
      case "delta":
        state.text += event.text;
        state.logprobs.push(...event.logprobs);
        return [this.#choiceChunk(event.choice, { content: event.text }, event.logprobs)];
      case "reasoning":
        // Never in the same delta as content.
        state.reasoning += event.text;
        state.logprobs.push(...event.logprobs);
        return [this.#choiceChunk(event.choice, this.#reasoningFields(event.text) as ChunkChoice["delta"], event.logprobs)];
      case "tool_call":
        // As OpenAI: the call's index, id, type and name, with empty arguments.
        state.calls[event.index] = { id: event.id, name: event.name, arguments: "" };
        state.logprobs.push(...event.logprobs);
        return [
          this.#choiceChunk(
            event.choice,
            this.#legacy
              ? { function_call: { name: event.name, arguments: "" } }
              : { tool_calls: [{ index: event.index, id: event.id, type: "function", function: { name: event.name, arguments: "" } }] },
            event.logprobs,
          ),
        ];
      case "tool_arguments": {
        const call = state.calls[event.index];
        if (call !== undefined) call.arguments += event.text;
        state.logprobs.push(...event.logprobs);
        const delta: ChunkChoice["delta"] = this.#legacy ? { function_call: { arguments: event.text } } : { tool_calls: [{ index: event.index, function: { arguments: event.text } }] };
        return [this.#choiceChunk(event.choice, delta, event.logprobs)];
      }
      case "score":
        // best_of and beam search are never streamed.
        state.score = event.beamScore === undefined ? { cumulativeLogprob: event.cumulativeLogprob } : { cumulativeLogprob: event.cumulativeLogprob, beamScore: event.beamScore };
        return [];
      case "finish":
        state.finish = event.reason;
        return [{ data: this.#chunkBody([{ index: event.choice, delta: {}, logprobs: null, finish_reason: this.#finishReason(event.reason) }]) }];
      default:
        return event satisfies never;
    }
  }

  close(): SseFrame[] {
    return [DONE];
  }

  error(mapped: HttpError): SseFrame[] {
    return [{ data: mapped.body }];
  }

  /**
   * The `chat.completion`. Extensions beyond OpenAI's fields: `prompt_logprobs` (top level, when
   * asked) and, per choice, `cumulative_logprob` (`best_of`, beam search) and `beam_score`.
   */
  body(): ChatCompletion & { prompt_logprobs?: WirePromptLogprobs } {
    const { id, created, model, fingerprint } = this.#meta;
    const usage = this.#usage;
    if (usage === undefined) throw new Error("the engine finished without reporting usage");
    return {
      id,
      object: "chat.completion",
      created,
      model,
      system_fingerprint: fingerprint,
      // Beam search may find fewer hypotheses than n: only choices that finished exist.
      choices: this.#choices
        .flatMap((c) =>
          c.finish === null
            ? []
            : [
                {
                  message: this.#message(c),
                  logprobs: this.#logprobs ? { content: toWireLogprobs(c.logprobs), refusal: null } : null,
                  finish_reason: this.#finishReason(c.finish),
                  ...(c.score === undefined ? {} : { cumulative_logprob: c.score.cumulativeLogprob }),
                  ...(c.score?.beamScore === undefined ? {} : { beam_score: c.score.beamScore }),
                },
              ],
        )
        .map((choice, index) => ({ index, ...choice })),
      usage: toWireUsage(usage),
      ...(this.#promptLogprobs === undefined ? {} : { prompt_logprobs: toWirePromptLogprobs(this.#promptLogprobs) }),
    };
  }

  /** As OpenAI: `content` is null when the answer is only calls. Thoughts, when there were any, beside it. */
  #message(state: ChoiceState): ChatCompletionMessage {
    const calls = state.calls.filter((call) => call !== undefined);
    const message: ChatCompletionMessage = { role: "assistant", content: calls.length > 0 && state.text === "" ? null : state.text, refusal: null, annotations: [] };
    if (state.reasoning !== "") Object.assign(message, this.#reasoningFields(state.reasoning));
    const [first] = calls;
    if (this.#legacy && first !== undefined) message.function_call = { name: first.name, arguments: first.arguments };
    else if (calls.length > 0) message.tool_calls = calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }));
    return message;
  }

  /** Legacy `functions` requests are answered in kind: `function_call` rather than `tool_calls`. */
  #finishReason(reason: FinishReason): WireFinishReason {
    return reason === "tool_calls" && this.#legacy ? "function_call" : reason;
  }

  #reasoningFields(text: string): { reasoning_content?: string; reasoning?: string } {
    const field = this.#reasoningField;
    if (field === "both") return { reasoning_content: text, reasoning: text };
    return field === "reasoning" ? { reasoning: text } : { reasoning_content: text };
  }

  #choiceChunk(index: number, delta: ChunkChoice["delta"], logprobs: readonly TokenLogprob[]): SseFrame {
    return { data: this.#chunkBody([{ index, delta, logprobs: this.#logprobs ? { content: toWireLogprobs(logprobs), refusal: null } : null, finish_reason: null }]) };
  }

  #chunkBody(choices: ChunkChoice[]): ChatCompletionChunk {
    const { id, created, model, fingerprint } = this.#meta;
    const chunk: ChatCompletionChunk = { id, object: "chat.completion.chunk", created, model, system_fingerprint: fingerprint, choices };
    if (this.#withUsage) chunk.usage = null;
    return chunk;
  }
}
