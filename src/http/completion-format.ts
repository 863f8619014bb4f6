/**
 * The wire format of chat-completion responses, in one place for both modes: chunks for
 * streaming, and a builder that folds the same events into a `chat.completion` object.
 */
import { randomBytes } from "node:crypto";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { FinishReason, TokenLogprob, Usage } from "../domain/events.ts";

export interface ResponseMeta {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly fingerprint: string;
}

export function newResponseMeta(model: string, fingerprint: string): ResponseMeta {
  return { id: `chatcmpl-${randomBytes(12).toString("base64url")}`, created: Math.floor(Date.now() / 1000), model, fingerprint };
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
  };
}

type ChunkChoice = ChatCompletionChunk["choices"][number];

export class ChunkFactory {
  readonly #meta: ResponseMeta;
  readonly #withUsage: boolean;

  /** @param withUsage `stream_options.include_usage`: every chunk then carries `usage: null`. */
  constructor(meta: ResponseMeta, withUsage: boolean) {
    this.#meta = meta;
    this.#withUsage = withUsage;
  }

  role(choice: number): ChatCompletionChunk {
    return this.#chunk([{ index: choice, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
  }

  delta(choice: number, text: string, logprobs: readonly TokenLogprob[] | undefined): ChatCompletionChunk {
    return this.#chunk([
      {
        index: choice,
        delta: { content: text },
        logprobs: logprobs === undefined ? null : { content: toWireLogprobs(logprobs), refusal: null },
        finish_reason: null,
      },
    ]);
  }

  finish(choice: number, reason: FinishReason): ChatCompletionChunk {
    return this.#chunk([{ index: choice, delta: {}, logprobs: null, finish_reason: reason }]);
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

interface ChoiceState {
  text: string;
  logprobs: TokenLogprob[];
  finish: FinishReason | null;
}

/** Folds engine events into a non-streaming `chat.completion`. */
export class CompletionBuilder {
  readonly #meta: ResponseMeta;
  readonly #logprobs: boolean;
  readonly #choices: ChoiceState[];
  #usage: Usage | undefined;

  constructor(meta: ResponseMeta, n: number, logprobs: boolean) {
    this.#meta = meta;
    this.#logprobs = logprobs;
    this.#choices = Array.from({ length: n }, () => ({ text: "", logprobs: [], finish: null }));
  }

  delta(choice: number, text: string, logprobs: readonly TokenLogprob[]): void {
    const state = this.#choices[choice];
    if (state === undefined) return;
    state.text += text;
    state.logprobs.push(...logprobs);
  }

  finish(choice: number, reason: FinishReason): void {
    const state = this.#choices[choice];
    if (state !== undefined) state.finish = reason;
  }

  usage(usage: Usage): void {
    this.#usage = usage;
  }

  build(): ChatCompletion {
    const { id, created, model, fingerprint } = this.#meta;
    const usage = this.#usage;
    if (usage === undefined) throw new Error("the engine finished without reporting usage");
    return {
      id,
      object: "chat.completion",
      created,
      model,
      system_fingerprint: fingerprint,
      choices: this.#choices.map((c, index) => ({
        index,
        message: { role: "assistant", content: c.text, refusal: null, annotations: [] },
        logprobs: this.#logprobs ? { content: toWireLogprobs(c.logprobs), refusal: null } : null,
        finish_reason: c.finish ?? "stop",
      })),
      usage: toWireUsage(usage),
    };
  }
}
