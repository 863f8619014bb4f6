/**
 * Wire pieces OpenAI's dialects share (chat and text completions): response identity, usage, and
 * token log-probabilities in the chat shape (which vLLM's `prompt_logprobs` uses too).
 */
import type { ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { TokenLogprob, Usage } from "../../domain/events.ts";
import type { ResponseMeta } from "./types.ts";

export function newResponseMeta(id: string, model: string, fingerprint: string): ResponseMeta {
  return { id, created: Math.floor(Date.now() / 1000), model, fingerprint };
}

/** OpenAI reports impossible tokens as -9999 rather than -Infinity (which JSON cannot carry). */
export function finiteLogprob(value: number): number {
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
    ...completionDetails(usage),
  };
}

/** `completion_tokens_details`: thoughts, and a prediction's drafted tokens; absent when neither applies. */
function completionDetails(usage: Usage): Pick<CompletionUsage, "completion_tokens_details"> {
  const details: NonNullable<CompletionUsage["completion_tokens_details"]> = {
    ...(usage.reasoningTokens === undefined ? {} : { reasoning_tokens: usage.reasoningTokens }),
    ...(usage.acceptedPredictionTokens === undefined ? {} : { accepted_prediction_tokens: usage.acceptedPredictionTokens }),
    ...(usage.rejectedPredictionTokens === undefined ? {} : { rejected_prediction_tokens: usage.rejectedPredictionTokens }),
  };
  return Object.keys(details).length === 0 ? {} : { completion_tokens_details: details };
}

/** vLLM's `prompt_logprobs`: null for the first token, then one entry per prompt token. */
export type WirePromptLogprobs = (ChatCompletionTokenLogprob | null)[];

export function toWirePromptLogprobs(entries: readonly (TokenLogprob | null)[]): WirePromptLogprobs {
  return entries.map((entry) => (entry === null ? null : (toWireLogprobs([entry])[0] ?? null)));
}
