/**
 * Sampled choices: `best_of` (default n) independent samples of the request, run concurrently on
 * the context's sequences (node-llama-cpp batches every active sequence into the same decode
 * step). Choice i uses seed + i. With `best_of` > n, each candidate's events are held back and
 * only the n with the highest cumulative logprob are emitted, best first, renumbered 0..n−1, with
 * their `cumulative_logprob`; `usage` counts every candidate's tokens (all were generated).
 */
import type { ChatEvent } from "../../domain/events.ts";
import { ChoiceOutput } from "../../chat/choice-output.ts";
import { parameterTypesOf } from "../../chat/tools/parameter-types.ts";
import { generateChoice, type ChoiceOptions, type ChoiceResult } from "./generate-choice.ts";
import { guardWork, type GuardedWork } from "./guarded-work.ts";
import { PromptFork } from "./prompt-fork.ts";
import { choiceSplitter, forcedTokens, ReasoningSteer } from "./reasoning-steer.ts";
import { acquireSlot, echoText, predictionTokens, type RunContext, type RunTotals, type Sequence } from "./run-context.ts";
import type { DraftInputs } from "./drafting.ts";
import type { ModelHost } from "./model-host.ts";

export async function runSampledChoices(ctx: RunContext): Promise<RunTotals> {
  const { request } = ctx;
  const bestOf = request.search.kind === "sample" ? request.search.bestOf : request.n;
  const ranked = bestOf > request.n;
  const held: ChatEvent[][] = Array.from({ length: bestOf }, () => []);
  const emitFor = (index: number) => (ranked ? (event: ChatEvent) => held[index]?.push(event) : ctx.emit);

  // The prompt's log-probabilities come before any text: choice 0 computes them while the others wait.
  let promptDone: () => void = () => undefined;
  const promptReported = request.promptLogprobs === undefined ? Promise.resolve() : new Promise<void>((resolve) => (promptDone = resolve));
  // With several choices the prompt is evaluated once, by choice 0, and copied (prompt-fork.ts).
  const fork = bestOf > 1 ? new PromptFork(ctx.prompt) : undefined;
  const first = runChoice(ctx, 0, emitFor(0), ranked, promptDone, fork && { fork, role: "source" }).finally(() => {
    promptDone();
    fork?.provide(undefined);
  });
  const others = Array.from({ length: bestOf - 1 }, async (_, i) => {
    await promptReported;
    return runChoice(ctx, i + 1, emitFor(i + 1), ranked, () => undefined, fork && { fork, role: "sibling" });
  });
  // allSettled, not all: the request is over only when every choice has given its slot back.
  const outcomes = await Promise.allSettled([first, ...others]);
  const failure = outcomes.find((o) => o.status === "rejected");
  if (failure !== undefined) throw failure.reason;
  const results = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  if (ranked && !ctx.signal.aborted) emitBest(ctx, results, held);
  const predicted = request.prediction === undefined ? {} : predictionTotals(results);
  return {
    completionTokens: results.reduce((sum, r) => sum + r.completionTokens, 0),
    cachedTokens: Math.min(...results.map((r) => r.cachedTokens)),
    reasoningTokens: results.reduce((sum, r) => sum + r.reasoningTokens, 0),
    ...predicted,
  };
}

/** OpenAI's `accepted_prediction_tokens` and `rejected_prediction_tokens`: drafted tokens of the prediction kept and discarded. */
function predictionTotals(results: readonly ChoiceResult[]): Pick<RunTotals, "acceptedPredictionTokens" | "rejectedPredictionTokens"> {
  return {
    acceptedPredictionTokens: results.reduce((sum, r) => sum + (r.drafted?.accepted ?? 0), 0),
    rejectedPredictionTokens: results.reduce((sum, r) => sum + (r.drafted?.rejected ?? 0), 0),
  };
}

/** Emits the n best candidates' held events, renumbered, with their score before their finish. */
function emitBest(ctx: RunContext, results: readonly SampledResult[], held: readonly ChatEvent[][]): void {
  const order = results.map((result, index) => ({ result, index })).sort((a, b) => b.result.cumulativeLogprob - a.result.cumulativeLogprob || a.index - b.index);
  order.slice(0, ctx.request.n).forEach(({ result, index }, choice) => {
    for (const event of held[index] ?? []) {
      if (event.type === "finish") ctx.emit({ type: "score", choice, cumulativeLogprob: result.cumulativeLogprob });
      ctx.emit("choice" in event ? { ...event, choice } : event);
    }
  });
}

/** A choice's result, with the tokens of its thoughts. */
interface SampledResult extends ChoiceResult {
  readonly reasoningTokens: number;
}

/** `onPromptLogprobs`: called once the prompt's log-probabilities (if asked for) were emitted. */
async function runChoice(ctx: RunContext, index: number, emit: (event: ChatEvent) => void, score: boolean, onPromptLogprobs: () => void, fork: ChoiceOptions["fork"]): Promise<SampledResult> {
  const { host, request, template, grammar, pool } = ctx;
  const sequence = await acquireSlot(ctx);
  let work: GuardedWork<ChoiceResult> | undefined;
  try {
    // The prompt's log-probabilities, when this choice computes them, precede even the echo.
    const reportsPrompt = index === 0 && request.promptLogprobs !== undefined;
    const echo = echoText(ctx);
    const emitEcho = () => echo !== "" && emit({ type: "delta", choice: index, text: echo, logprobs: [] });
    if (!reportsPrompt) emitEcho();
    // With tool_choice "none" the grammar alone keeps calls out: there is nothing to parse, unless
    // the family's prompt opens a part whose markup the parser takes off (Functionary v3.2's `all\n`).
    const { syntax } = template.family;
    const toolSyntax = (request.tools !== undefined && request.tools.choice.kind !== "none") || (syntax.shape === "named-json" && syntax.promptEnd !== undefined) ? syntax : undefined;
    const { reasoning: plan } = template;
    const splitter = choiceSplitter(ctx);
    // With thoughts or tools, stop strings are matched on the answer only (by the choice's output).
    const output =
      splitter === undefined && toolSyntax === undefined
        ? undefined
        : new ChoiceOutput({
            choice: index,
            reasoning: splitter,
            thoughtsAsContent: !template.splitThoughts,
            tools: toolSyntax === undefined ? undefined : { syntax: toolSyntax, anchored: grammar?.anchored ?? false, parameterTypes: parameterTypesOf(request.tools?.definitions ?? []) },
            stop: request.stop,
            includeStop: request.includeStopString,
          });
    // A tool grammar in a format whose grammar writes message headers (Harmony) starts at the header.
    const headerConstrained = grammar !== undefined && request.tools !== undefined && template.family.syntax.header !== undefined;
    const steer =
      output === undefined || plan.format === undefined
        ? undefined
        : new ReasoningSteer({ plan, output, forced: forcedTokens(host.model, plan.format, { headerFree: headerConstrained }), constrained: grammar !== undefined, headerConstrained });
    const shownMarkers = new Set([...(toolSyntax === undefined ? [] : template.markerTokens), ...template.reasoningTokens]);
    const options = (onStep: () => void): ChoiceOptions => ({
      model: host.model,
      vocabulary: host.vocabulary,
      sequence,
      prompt: ctx.prompt,
      maxTokens: ctx.maxTokens,
      stop: output === undefined ? request.stop : [],
      sampling: request.sampling,
      seed: (request.sampling.seed + index) >>> 0,
      logitBias: request.sampling.logitBias,
      grammar: grammar?.grammar,
      ...(steer === undefined ? {} : { grammarActive: () => steer.grammarActive(), redirect: (ending) => steer.redirect(ending), onToken: () => steer.counted() }),
      shownControl: !request.skipSpecialTokens ? "all" : shownMarkers,
      includeStopString: request.includeStopString,
      stopTokenIds: request.stopTokenIds,
      ignoreEos: request.ignoreEos,
      eogTokens: host.eogTokens,
      minTokens: request.minTokens,
      spacesBetweenSpecial: request.spacesBetweenSpecialTokens,
      topLogprobs: request.logprobs ? request.topLogprobs : undefined,
      // The prompt is the same for every choice: the first one reports its log-probabilities.
      promptLogprobs: reportsPrompt ? request.promptLogprobs : undefined,
      onPromptLogprobs: (entries) => {
        ctx.emit({ type: "prompt_logprobs", entries });
        emitEcho();
        onPromptLogprobs();
      },
      score,
      ...(fork === undefined ? {} : { fork }),
      prediction: predictionTokens(ctx),
      drafting: host.drafting,
      draftModel: draftModelFor(host, sequence),
      signal: ctx.signal,
      deadline: ctx.deadline,
      onStep,
      onDelta:
        output === undefined
          ? (text, logprobs) => {
              emit({ type: "delta", choice: index, text, logprobs });
            }
          : (text, logprobs, stopsActive) => {
              const step = output.push(text, logprobs, stopsActive);
              step.events.forEach(emit);
              return step.stopped;
            },
    });
    work = guardWork((onStep) => generateChoice(options(onStep)), { signal: ctx.signal, fail: ctx.fail, stepTimeoutMs: ctx.stepTimeoutMs });
    const result = { ...(await work.result), reasoningTokens: steer?.reasoningTokens ?? 0 };
    if (result.drafted !== undefined) host.drafts.record(result.drafted);
    if (result.reason === "aborted") return result;
    output?.finish().forEach(emit);
    const reason = output?.finishReason(result.reason) ?? result.reason;
    const stopSequence = reason === "stop" ? (output?.stopSequence ?? result.stopSequence) : undefined;
    emit({ type: "finish", choice: index, reason, ...(stopSequence === undefined ? {} : { stopSequence }) });
    return result;
  } catch (error) {
    ctx.fail(error);
    throw error;
  } finally {
    // Work that was given up on still runs in llama.cpp: the slot is free only once it ends.
    pool.release(sequence, work === undefined || work.isSettled() ? undefined : work.settled);
  }
}

/** The draft model's sequence paired with `sequence` (a slot of the base context only; LoRA adapters' slots do not draft with it). */
function draftModelFor(host: ModelHost, sequence: Sequence): DraftInputs["draftModel"] {
  const draft = host.draft;
  if (draft === undefined || sequence.context !== host.context) return undefined;
  const paired = draft.sequenceFor(sequence);
  return paired === undefined ? undefined : { sequence: paired, record: draft.record };
}
