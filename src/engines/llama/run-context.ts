/**
 * Everything one admitted request's choices share while they run: the prepared prompt, grammar
 * and template, the slots to take sequences from, and where events go. Built by the engine once
 * the request passed every up-front check; consumed by sampled-choices.ts and beam-choices.ts.
 */
import type { Token } from "node-llama-cpp";
import type { ChatRequest } from "../../domain/chat.ts";
import type { ChatEvent } from "../../domain/events.ts";
import type { CacheKeySlots } from "./cache-key-slots.ts";
import type { CompiledGrammar } from "./grammar-cache.ts";
import type { ModelHost } from "./model-host.ts";
import type { PromptCache } from "./prompt-cache-slots.ts";
import type { ResolvedTemplate } from "./request-templates.ts";
import type { SlotClaim, SequencePool } from "./sequence-pool.ts";
import { textPromptEcho } from "./prompt.ts";
import type { PredictedOutput } from "./drafting.ts";

export type Sequence = ReturnType<ModelHost["context"]["getSequence"]>;

export interface RunContext {
  readonly host: ModelHost;
  readonly request: ChatRequest;
  readonly prompt: readonly Token[];
  readonly template: ResolvedTemplate;
  /** The output starts inside a think block (the generation prompt opened it; see generation-prompt.ts). */
  readonly thoughtsOpen: boolean;
  readonly grammar: CompiledGrammar | undefined;
  /** Tokens each choice may generate (max_tokens, bounded by the room left in the context). */
  readonly maxTokens: number;
  readonly pool: SequencePool<Sequence>;
  readonly claim: SlotClaim;
  /** Which slot last served each `prompt_cache_key` of this pool. */
  readonly cacheKeys: CacheKeySlots<Sequence>;
  /** Saved prompt states beyond the slots (prompt-cache-slots.ts); absent when off, and on LoRA adapters' slots. */
  readonly promptCache?: PromptCache | undefined;
  /** Aborts when the client leaves, the server shuts down, or a sibling choice failed. */
  readonly signal: AbortSignal;
  /** Aborts when the request's time limit passes: running choices end with `finish_reason: "length"`. */
  readonly deadline: AbortSignal;
  /** Longest one native step may take before the request fails (guarded-work.ts; 0: no limit). */
  readonly stepTimeoutMs: number;
  /** Stops the siblings of a choice that failed. */
  readonly fail: (error: unknown) => void;
  readonly emit: (event: ChatEvent) => void;
}

/** What a finished run reports for `usage`. */
export interface RunTotals {
  readonly completionTokens: number;
  readonly cachedTokens: number;
  /** Completion tokens that were thoughts. */
  readonly reasoningTokens?: number;
  /** With a `prediction`: its drafted tokens kept in the output, and discarded (speculative-steps.ts). */
  readonly acceptedPredictionTokens?: number;
  readonly rejectedPredictionTokens?: number;
}

/**
 * Scores a free sequence for a prompt (`SequencePool.acquire`'s `prefer`): the prompt tokens its
 * cache already holds, so only the rest is evaluated.
 */
export function sharedPrefix(prompt: readonly Token[]): (sequence: Sequence) => number {
  return (sequence) => sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex;
}

/**
 * A slot for one of the request's choices: the one holding most of its prompt, the `prompt_cache_key`'s among equals;
 * with a prompt cache, its old state saved and a better one restored first (prompt-cache-slots.ts).
 */
export async function acquireSlot(ctx: RunContext): Promise<Sequence> {
  const key = ctx.request.scheduling.cacheKey;
  const { promptCache } = ctx;
  const score = promptCache === undefined ? sharedPrefix(ctx.prompt) : promptCache.placement(ctx.prompt, key, sharedPrefix(ctx.prompt));
  const sequence = await ctx.pool.acquire(ctx.claim, ctx.signal, ctx.cacheKeys.prefer(key, score));
  ctx.cacheKeys.served(key, sequence);
  // Prompt log-probabilities evaluate the whole prompt anyway: nothing to restore for them.
  await promptCache?.prepare(sequence, ctx.prompt, { key, restore: ctx.request.promptLogprobs === undefined });
  return sequence;
}

/** vLLM `echo`: the final message's content, when the final message is the assistant's; a text prompt's text. */
export function echoText({ request, host }: RunContext): string {
  if (!request.prompt.echo) return "";
  if (request.text !== undefined) return textPromptEcho(host, request.text);
  const final = request.messages.at(-1);
  return final?.role === "assistant" ? final.content : "";
}

const predictions = new WeakMap<RunContext, PredictedOutput>();

/** The request's predicted output (`prediction`), tokenized once per request; undefined without one. */
export function predictionTokens(ctx: RunContext): PredictedOutput | undefined {
  const text = ctx.request.prediction;
  if (text === undefined) return undefined;
  let prediction = predictions.get(ctx);
  if (prediction === undefined) {
    const { model, vocabulary } = ctx.host;
    const tokenize = (part: string) => model.tokenize(part, false);
    prediction = { tokens: tokenize(text), text: { bytes: Buffer.from(text, "utf8"), tokenBytes: (token) => vocabulary.bytes(token), tokenize } };
    predictions.set(ctx, prediction);
  }
  return prediction;
}
