/**
 * The wire format of chat-completion responses, in one place for both modes: chunks for
 * streaming, and a builder that folds the same events into a `chat.completion` object.
 */
import { randomBytes } from "node:crypto";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessage, ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { FinishReason, TokenLogprob, Usage } from "../domain/events.ts";

export interface ResponseMeta {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly fingerprint: string;
}

/** `id`: the completion id (default: a new random `chatcmpl-…`). */
export function newResponseMeta(model: string, fingerprint: string, id = `chatcmpl-${randomBytes(12).toString("base64url")}`): ResponseMeta {
  return { id, created: Math.floor(Date.now() / 1000), model, fingerprint };
}

/** OpenAI reports impossible tokens as -9999 rather than -Infinity (which JSON cannot carry). */
function finiteLogprob(value: number): number {
  return Number.isFinite(value) ? value : -9999;
}

export function toWireLogprobs(entries: readonly TokenLogprob[]): ChatCompletionTokenLogprob[] {
  return entries.map((e) => ({
    token: e.token,
    logprob: finiteLogprob(e.logprob),
    bytes: [...e.bytes],
    top_logprobs: e.topLogprobs.map((t) => ({ token: t.token, logprob: finiteLogprob(t.logprob), bytes: [...t.bytes] })),
  }));
}

export function toWireUsage(usage: Usage): CompletionUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    ...(usage.reasoningTokens === undefined ? {} : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } }),
  };
}

/**
 * Where thoughts go on the wire (`--reasoning-field`): `reasoning_content` (vLLM's original name,
 * llama-server's, DeepSeek's; what most clients read), `reasoning` (vLLM ≥ 0.11, Ollama,
 * OpenRouter), or both.
 */
export type ReasoningField = "reasoning_content" | "reasoning" | "both";

function reasoningFields(field: ReasoningField, text: string): { reasoning_content?: string; reasoning?: string } {
  if (field === "both") return { reasoning_content: text, reasoning: text };
  return field === "reasoning" ? { reasoning: text } : { reasoning_content: text };
}

type ChunkChoice = ChatCompletionChunk["choices"][number];
type WireFinishReason = ChatCompletion["choices"][number]["finish_reason"];

/** Legacy `functions` requests are answered in kind: `function_call` rather than `tool_calls`. */
function wireFinishReason(reason: FinishReason, legacy: boolean): WireFinishReason {
  return reason === "tool_calls" && legacy ? "function_call" : reason;
}

export interface FormatOptions {
  /** `stream_options.include_usage`: every chunk then carries `usage: null` (default false). */
  readonly withUsage?: boolean;
  /** Whether logprobs were requested (default false). */
  readonly logprobs?: boolean;
  /** The request used legacy `functions` (default false). */
  readonly legacyFunctions?: boolean;
  /** Where thoughts go (default `reasoning_content`). */
  readonly reasoningField?: ReasoningField;
}

export class ChunkFactory {
  readonly #meta: ResponseMeta;
  readonly #withUsage: boolean;
  readonly #logprobs: boolean;
  readonly #legacy: boolean;
  readonly #reasoningField: ReasoningField;

  constructor(meta: ResponseMeta, options: FormatOptions = {}) {
    this.#meta = meta;
    this.#withUsage = options.withUsage ?? false;
    this.#logprobs = options.logprobs ?? false;
    this.#legacy = options.legacyFunctions ?? false;
    this.#reasoningField = options.reasoningField ?? "reasoning_content";
  }

  role(choice: number): ChatCompletionChunk {
    return this.#chunk([{ index: choice, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
  }

  delta(choice: number, text: string, logprobs: readonly TokenLogprob[]): ChatCompletionChunk {
    return this.#chunk([{ index: choice, delta: { content: text }, logprobs: this.#wireLogprobs(logprobs), finish_reason: null }]);
  }

  /** More thoughts: never in the same delta as content. */
  reasoning(choice: number, text: string, logprobs: readonly TokenLogprob[]): ChatCompletionChunk {
    const delta = reasoningFields(this.#reasoningField, text) as ChunkChoice["delta"];
    return this.#chunk([{ index: choice, delta, logprobs: this.#wireLogprobs(logprobs), finish_reason: null }]);
  }

  /** A tool call begins: OpenAI sends its index, id, type and name with empty arguments. */
  toolCall(choice: number, index: number, id: string, name: string, logprobs: readonly TokenLogprob[]): ChatCompletionChunk {
    const delta: ChunkChoice["delta"] = this.#legacy
      ? { function_call: { name, arguments: "" } }
      : { tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] };
    return this.#chunk([{ index: choice, delta, logprobs: this.#wireLogprobs(logprobs), finish_reason: null }]);
  }

  /** More arguments of call `index`: only the fragment. */
  toolArguments(choice: number, index: number, text: string, logprobs: readonly TokenLogprob[]): ChatCompletionChunk {
    const delta: ChunkChoice["delta"] = this.#legacy ? { function_call: { arguments: text } } : { tool_calls: [{ index, function: { arguments: text } }] };
    return this.#chunk([{ index: choice, delta, logprobs: this.#wireLogprobs(logprobs), finish_reason: null }]);
  }

  /** The prompt's log-probabilities, in a chunk of their own (no choices), before any text. */
  promptLogprobs(entries: readonly (TokenLogprob | null)[]): ChatCompletionChunk {
    return { ...this.#chunk([]), prompt_logprobs: toWirePromptLogprobs(entries) } as ChatCompletionChunk;
  }

  finish(choice: number, reason: FinishReason): ChatCompletionChunk {
    return this.#chunk([{ index: choice, delta: {}, logprobs: null, finish_reason: wireFinishReason(reason, this.#legacy) }]);
  }

  #wireLogprobs(logprobs: readonly TokenLogprob[]): ChunkChoice["logprobs"] {
    return this.#logprobs ? { content: toWireLogprobs(logprobs), refusal: null } : null;
  }

  usage(usage: Usage): ChatCompletionChunk {
    return { ...this.#chunk([]), usage: toWireUsage(usage) };
  }

  #chunk(choices: ChunkChoice[]): ChatCompletionChunk {
    const { id, created, model, fingerprint } = this.#meta;
    const chunk: ChatCompletionChunk = { id, object: "chat.completion.chunk", created, model, system_fingerprint: fingerprint, choices };
    if (this.#withUsage) chunk.usage = null;
    return chunk;
  }
}

/** vLLM's `prompt_logprobs`: null for the first token, then one entry per prompt token. */
export type WirePromptLogprobs = (ChatCompletionTokenLogprob | null)[];

export function toWirePromptLogprobs(entries: readonly (TokenLogprob | null)[]): WirePromptLogprobs {
  return entries.map((entry) => (entry === null ? null : (toWireLogprobs([entry])[0] ?? null)));
}

interface ChoiceState {
  text: string;
  reasoning: string;
  score: { cumulativeLogprob: number; beamScore?: number } | undefined;
  logprobs: TokenLogprob[];
  calls: { id: string; name: string; arguments: string }[];
  finish: FinishReason | null;
}

/** Folds engine events into a non-streaming `chat.completion`. */
export class CompletionBuilder {
  readonly #meta: ResponseMeta;
  readonly #logprobs: boolean;
  readonly #legacy: boolean;
  readonly #reasoningField: ReasoningField;
  readonly #choices: ChoiceState[];
  #usage: Usage | undefined;
  #promptLogprobs: readonly (TokenLogprob | null)[] | undefined;

  constructor(meta: ResponseMeta, n: number, options: FormatOptions = {}) {
    this.#meta = meta;
    this.#logprobs = options.logprobs ?? false;
    this.#legacy = options.legacyFunctions ?? false;
    this.#reasoningField = options.reasoningField ?? "reasoning_content";
    this.#choices = Array.from({ length: n }, () => ({ text: "", reasoning: "", score: undefined, logprobs: [], calls: [], finish: null }));
  }

  delta(choice: number, text: string, logprobs: readonly TokenLogprob[]): void {
    const state = this.#choices[choice];
    if (state === undefined) return;
    state.text += text;
    state.logprobs.push(...logprobs);
  }

  reasoning(choice: number, text: string, logprobs: readonly TokenLogprob[]): void {
    const state = this.#choices[choice];
    if (state === undefined) return;
    state.reasoning += text;
    state.logprobs.push(...logprobs);
  }

  toolCall(choice: number, index: number, id: string, name: string, logprobs: readonly TokenLogprob[]): void {
    const state = this.#choices[choice];
    if (state === undefined) return;
    state.calls[index] = { id, name, arguments: "" };
    state.logprobs.push(...logprobs);
  }

  toolArguments(choice: number, index: number, text: string, logprobs: readonly TokenLogprob[]): void {
    const state = this.#choices[choice];
    const call = state?.calls[index];
    if (state === undefined || call === undefined) return;
    call.arguments += text;
    state.logprobs.push(...logprobs);
  }

  promptLogprobs(entries: readonly (TokenLogprob | null)[]): void {
    this.#promptLogprobs = entries;
  }

  score(choice: number, cumulativeLogprob: number, beamScore: number | undefined): void {
    const state = this.#choices[choice];
    if (state !== undefined) state.score = beamScore === undefined ? { cumulativeLogprob } : { cumulativeLogprob, beamScore };
  }

  finish(choice: number, reason: FinishReason): void {
    const state = this.#choices[choice];
    if (state !== undefined) state.finish = reason;
  }

  usage(usage: Usage): void {
    this.#usage = usage;
  }

  /**
   * The `chat.completion`. Extensions beyond OpenAI's fields: `prompt_logprobs` (top level, when
   * asked) and, per choice, `cumulative_logprob` (`best_of`, beam search) and `beam_score`.
   */
  build(): ChatCompletion & { prompt_logprobs?: WirePromptLogprobs } {
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
      choices: this.#choices.filter((c) => c.finish !== null).map((c, index) => ({
        index,
        message: this.#message(c),
        logprobs: this.#logprobs ? { content: toWireLogprobs(c.logprobs), refusal: null } : null,
        finish_reason: wireFinishReason(c.finish ?? "length", this.#legacy),
        ...(c.score === undefined ? {} : { cumulative_logprob: c.score.cumulativeLogprob }),
        ...(c.score?.beamScore === undefined ? {} : { beam_score: c.score.beamScore }),
      })),
      usage: toWireUsage(usage),
      ...(this.#promptLogprobs === undefined ? {} : { prompt_logprobs: toWirePromptLogprobs(this.#promptLogprobs) }),
    };
  }

  /** As OpenAI: `content` is null when the answer is only calls. Thoughts, when there were any, beside it. */
  #message(state: ChoiceState): ChatCompletionMessage {
    const calls = state.calls.filter((call) => call !== undefined);
    const message: ChatCompletionMessage = { role: "assistant", content: calls.length > 0 && state.text === "" ? null : state.text, refusal: null, annotations: [] };
    if (state.reasoning !== "") Object.assign(message, reasoningFields(this.#reasoningField, state.reasoning));
    const [first] = calls;
    if (this.#legacy && first !== undefined) message.function_call = { name: first.name, arguments: first.arguments };
    else if (calls.length > 0) message.tool_calls = calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }));
    return message;
  }
}
