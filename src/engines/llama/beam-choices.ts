/**
 * `use_beam_search` on the embedded engine: the search itself is chat/beam-search.ts; this file
 * supplies its `expand` with real llama.cpp sequences and turns the best beams into choices.
 *
 * Sequences: the request waits for one slot like any choice, then takes every other slot that is
 * free at that moment (never waiting for more, so two beam requests cannot deadlock). Each step,
 * the beams are evaluated in rounds of as many sequences as it holds, concurrently (batched into
 * the same decode steps); each beam goes to the sequence whose cached tokens share the longest
 * prefix with it, so a beam that extends its parent re-evaluates one token, and a sibling only
 * the tokens after the point where it diverges.
 *
 * Scores: the model's log-probabilities after `logit_bias`, tempered by `temperature` unless it is
 * 0 (then untempered). `usage.completion_tokens` counts the returned beams' tokens.
 */
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import type { SearchStrategy } from "../../domain/chat.ts";
import { beamSearch } from "../../chat/beam-search.ts";
import { ChoiceOutput } from "../../chat/choice-output.ts";
import { takeSamplingFailure } from "./decode-guard.ts";
import { guardWork, type GuardedWork } from "./guarded-work.ts";
import { evaluateWithPromptLogprobs } from "./prompt-logprobs.ts";
import { acquireSlot, echoText, type RunContext, type RunTotals, type Sequence } from "./run-context.ts";
import { choiceSplitter, ThoughtCounter } from "./reasoning-steer.ts";
import { createTokenBias } from "./token-bias.ts";
import { TokenTextStream } from "./token-text.ts";

type BeamSearch = Extract<SearchStrategy, { kind: "beam" }>;

export async function runBeamChoices(ctx: RunContext): Promise<RunTotals> {
  const { request, pool } = ctx;
  const { search } = request;
  if (search.kind !== "beam") throw new Error("runBeamChoices needs a beam-search request");
  const { width } = search;
  const sequences = [await acquireSlot(ctx)];
  let work: GuardedWork<RunTotals> | undefined;
  try {
    while (sequences.length < width) {
      const extra = pool.tryAcquire(ctx.claim);
      if (extra === undefined) break;
      sequences.push(extra);
    }
    work = guardWork((onStep) => searchBeams(ctx, search, sequences, onStep), { signal: ctx.signal, fail: ctx.fail, stepTimeoutMs: ctx.stepTimeoutMs });
    return await work.result;
  } catch (error) {
    ctx.fail(error);
    throw error;
  } finally {
    // Work that was given up on still runs in llama.cpp: its slots are free only once it ends.
    const until = work === undefined || work.isSettled() ? undefined : work.settled;
    for (const sequence of sequences) pool.release(sequence, until);
  }
}

/** The search on `sequences`, then the best beams as choices. */
async function searchBeams(ctx: RunContext, search: BeamSearch, sequences: readonly Sequence[], onStep: () => void): Promise<RunTotals> {
  const { request, host, signal } = ctx;
  const { width, lengthPenalty, earlyStopping } = search;
  const first = sequences[0] as Sequence;
  if (request.promptLogprobs !== undefined) {
    const entries = await evaluateWithPromptLogprobs(first, ctx.prompt, host.vocabulary, request.promptLogprobs, signal);
    onStep();
    if (entries !== undefined) ctx.emit({ type: "prompt_logprobs", entries });
  }
  // Prompt log-probabilities evaluate the whole prompt afresh: nothing of it came from the cache.
  const evaluator = new BeamEvaluator(ctx, sequences, 2 * width, request.promptLogprobs === undefined, onStep);
  const isEnd = (token: number) => request.stopTokenIds.has(token) || (!request.ignoreEos && host.eogTokens.has(token));
  const hypotheses = await beamSearch({
    width,
    n: request.n,
    maxTokens: ctx.maxTokens,
    lengthPenalty,
    earlyStopping,
    isEnd,
    expand: (beams) => evaluator.expand(beams),
    signal,
    deadline: ctx.deadline,
  });
  const echo = echoText(ctx);
  let reasoningTokens = 0;
  hypotheses.forEach((hypothesis, choice) => {
    const text = new TokenTextStream(host.vocabulary, [], { shownControl: request.skipSpecialTokens ? ctx.template.reasoningTokens : "all", spacesBetweenSpecial: request.spacesBetweenSpecialTokens });
    const output = new ChoiceOutput({ choice, reasoning: choiceSplitter(ctx), thoughtsAsContent: !ctx.template.splitThoughts });
    const thoughts = new ThoughtCounter(output);
    if (echo !== "") ctx.emit({ type: "delta", choice, text: echo, logprobs: [] });
    for (const token of hypothesis.tokens) {
      output.push(text.push(token, undefined).text, []).events.forEach(ctx.emit);
      thoughts.counted();
    }
    reasoningTokens += thoughts.tokens;
    output.push(text.finish().text, []).events.forEach(ctx.emit);
    output.finish().forEach(ctx.emit);
    ctx.emit({ type: "score", choice, cumulativeLogprob: hypothesis.cumulativeLogprob, beamScore: hypothesis.score });
    ctx.emit({ type: "finish", choice, reason: hypothesis.finishReason });
  });
  return { completionTokens: hypotheses.reduce((sum, h) => sum + h.tokens.length, 0), cachedTokens: evaluator.cachedTokens, reasoningTokens };
}

class BeamEvaluator {
  /** Prompt tokens reused from the cache by the first evaluation. */
  cachedTokens = 0;
  readonly #ctx: RunContext;
  readonly #sequences: readonly Sequence[];
  readonly #keep: number;
  readonly #reportCached: boolean;
  readonly #options: NonNullable<NonNullable<Extract<ControlledEvaluateInputItem, readonly unknown[]>[1]["generateNext"]>["options"]>;
  readonly #onStep: () => void;
  #evaluations = 0;

  /**
   * @param keep log-probabilities returned per beam (the most likely tokens).
   * @param reportCached whether the first evaluation's reused prefix counts as cached prompt tokens.
   * @param onStep called after every evaluation (the stall watchdog's heartbeat).
   */
  constructor(ctx: RunContext, sequences: readonly Sequence[], keep: number, reportCached: boolean, onStep: () => void) {
    this.#ctx = ctx;
    this.#onStep = onStep;
    this.#reportCached = reportCached;
    this.#sequences = sequences;
    this.#keep = keep;
    const tokenBias = createTokenBias(ctx.host.model, ctx.request.sampling.logitBias);
    this.#options = { temperature: 1, topK: 0, topP: 1, minP: 0, ...(tokenBias === undefined ? {} : { tokenBias }) };
  }

  async expand(beams: readonly (readonly number[])[]): Promise<Map<number, number>[]> {
    const results: Map<number, number>[] = [];
    let pending = beams.map((beam, index) => ({ tokens: [...this.#ctx.prompt, ...beam] as Token[], index }));
    while (pending.length > 0) {
      const free = [...this.#sequences];
      const round: { tokens: Token[]; index: number; sequence: Sequence }[] = [];
      for (const beam of pending) {
        if (free.length === 0) break;
        const shared = free.map((sequence) => sequence.compareContextTokens(beam.tokens).firstDifferentIndex);
        const best = shared.indexOf(Math.max(...shared));
        round.push({ ...beam, sequence: free.splice(best, 1)[0] as Sequence });
      }
      pending = pending.slice(round.length);
      await Promise.all(round.map(async ({ tokens, index, sequence }) => (results[index] = await this.#evaluate(sequence, tokens))));
    }
    return results;
  }

  /** Brings `sequence` to `tokens` (reusing the longest common prefix) and reads the next-token distribution. */
  async #evaluate(sequence: Sequence, tokens: Token[]): Promise<Map<number, number>> {
    const { firstDifferentIndex } = sequence.compareContextTokens(tokens);
    const keep = Math.min(firstDifferentIndex, tokens.length - 1);
    if (this.#evaluations++ === 0 && this.#reportCached) this.cachedTokens = Math.min(keep, this.#ctx.prompt.length - 1);
    if (keep < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
    const items: ControlledEvaluateInputItem[] = tokens.slice(keep);
    const last = items.length - 1;
    items[last] = [tokens[tokens.length - 1] as Token, { generateNext: { probabilities: true, options: this.#options } }];
    takeSamplingFailure(sequence);
    const outputs = await sequence.controlledEvaluate(items);
    this.#onStep();
    const output = outputs[last];
    if (typeof output !== "object") {
      // decode-guard.ts turned a sampler failure into a bare "no token".
      const failure = takeSamplingFailure(sequence);
      throw new Error(`Beam search could not read the next-token distribution${failure === undefined ? "" : `: ${String(failure.error)}`}`, { cause: failure?.error });
    }
    return this.#logprobs(output.next.probabilities ?? new Map());
  }

  /** The `keep` most likely tokens' log-probabilities, tempered by the request's temperature (0: untempered). */
  #logprobs(probabilities: ReadonlyMap<number, number>): Map<number, number> {
    const temperature = this.#ctx.request.sampling.temperature > 0 ? this.#ctx.request.sampling.temperature : 1;
    let total = 0;
    for (const p of probabilities.values()) if (p > 0) total += p ** (1 / temperature);
    const logTotal = Math.log(total);
    // node-llama-cpp reports the map sorted by descending probability.
    const top = new Map<number, number>();
    for (const [token, p] of probabilities) {
      if (top.size >= this.#keep || !(p > 0)) break;
      top.set(token, Math.log(p) / temperature - logTotal);
    }
    return top;
  }
}
