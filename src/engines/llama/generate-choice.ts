/**
 * Generates one choice on one context sequence: reuses the sequence's cached prompt prefix,
 * samples token by token with node-llama-cpp, turns tokens into text (UTF-8 safe, stop strings
 * held back) and reports deltas as they come. Stops at once when `signal` aborts, and with
 * `finish_reason: "length"` when `deadline` does (the request's time limit). Between tokens it
 * steps with the context's other generating sequences (batch-scheduler.ts), so one decode step
 * carries them all. A failure of llama.cpp's sampler (decode-guard.ts) ends the choice with an
 * error: a 400 under a grammar (the constraint could not be satisfied), else a 500. A caller may
 * switch the grammar on and off between tokens and replace a sampled token with forced ones
 * (`grammarActive`, `redirect`: a reasoning model's thoughts, see reasoning-steer.ts).
 */
import { LlamaGrammarEvaluationState, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from "node-llama-cpp";
import type { SamplingParams } from "../../domain/chat.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { FinishReason, TokenLogprob } from "../../domain/events.ts";
import { BatchScheduler } from "./batch-scheduler.ts";
import { evaluatePrompt } from "./choice-prompt.ts";
import { takeSamplingFailure } from "./decode-guard.ts";
import { logprobEntry } from "./logprobs.ts";
import type { PromptFork } from "./prompt-fork.ts";
import { sampleToken, seededRandom } from "./sampler.ts";
import { ChoiceBias } from "./choice-bias.ts";
import { DEFAULT_DRAFT_MAX, draftAllowed, draftSource, type DraftCounts, type DraftInputs, type DraftSettings, type PredictedOutput } from "./drafting.ts";
import { SpeculativeSteps, type TokenSteps } from "./speculative-steps.ts";
import { TokenTextStream } from "./token-text.ts";
import type { Vocabulary } from "./vocabulary.ts";

export interface ChoiceOptions {
  readonly model: LlamaModel;
  readonly vocabulary: Vocabulary;
  readonly sequence: LlamaContextSequence;
  readonly prompt: readonly Token[];
  /** Hard cap on generated tokens (already limited to the room left in the context). */
  readonly maxTokens: number;
  readonly stop: readonly string[];
  readonly sampling: SamplingParams;
  /** The seed for this choice (uint32). */
  readonly seed: number;
  /** OpenAI `logit_bias` (token id → bias). */
  readonly logitBias: ReadonlyMap<number, number>;
  /** Output grammar: every token is constrained to it; generation ends when it is complete. */
  readonly grammar: LlamaGrammar | undefined;
  /**
   * Whether the grammar applies to the next token (default: always). A reasoning model's thoughts
   * are free; the grammar starts with the answer (a fresh state: it saw none of the thoughts).
   */
  readonly grammarActive?: () => boolean;
  /**
   * Called before a sampled token is kept (`ending`: it would end the choice): tokens returned
   * replace it (a reasoning model's think block opened or closed by force). They count as generated, have no log-probabilities, and are
   * neither end tokens nor checked against the grammar.
   */
  readonly redirect?: (ending: boolean) => readonly Token[] | undefined;
  /** Called after each token joins the output (sampled or forced). */
  readonly onToken?: () => void;
  /** Control tokens whose text is reported rather than hidden: tool-call markers, or "all". */
  readonly shownControl?: ReadonlySet<number> | "all" | undefined;
  /** Emit the stop string that ended the choice. */
  readonly includeStopString?: boolean;
  /** Tokens that end the choice like EOS (not counted, not shown). */
  readonly stopTokenIds?: ReadonlySet<number>;
  /** End-of-generation tokens do not end the choice: they are generated (and counted) like others. */
  readonly ignoreEos?: boolean;
  /** The model's end-of-generation tokens (for `minTokens`). */
  readonly eogTokens?: ReadonlySet<number>;
  /** End tokens and stop strings have no effect until this many tokens are generated (default 0). */
  readonly minTokens?: number;
  /** Space shown control tokens apart from their neighbours (default true; see token-text.ts). */
  readonly spacesBetweenSpecial?: boolean;
  /** Undefined: no logprobs; otherwise the number of alternatives per token (0–20). */
  readonly topLogprobs: number | undefined;
  /** Compute the prompt's log-probabilities with this many alternatives (see prompt-logprobs.ts). */
  readonly promptLogprobs?: number | undefined;
  /** Receives the prompt's log-probabilities, before any delta. */
  readonly onPromptLogprobs?: (entries: (TokenLogprob | null)[]) => void;
  /** Sum the chosen tokens' log-probabilities into `cumulativeLogprob` (for `best_of`; default false). */
  readonly score?: boolean;
  /** Shares the evaluated prompt among a request's choices: the first provides it, the others adopt it. */
  readonly fork?: { readonly fork: PromptFork; readonly role: "source" | "sibling" };
  /** The predicted output (OpenAI `prediction`): drafted from, see speculative-steps.ts. */
  readonly prediction?: PredictedOutput | undefined;
  /** Drafting without a prediction (`--draft-ngram`) and draft lengths (default: a prediction only, up to 16 tokens). */
  readonly drafting?: DraftSettings | undefined;
  /** This slot's sequence of the draft model (`--draft-model`) and the model's record; it drafts when there is no prediction. */
  readonly draftModel?: DraftInputs["draftModel"];
  readonly signal: AbortSignal;
  /** Ends the choice with `finish_reason: "length"` when it aborts (the request's time limit). */
  readonly deadline?: AbortSignal;
  /** Called after every finished native step (a prompt batch, a token), for the stall watchdog. */
  readonly onStep?: () => void;
  /**
   * New text; returning true ends the choice as if a stop string was found (the caller matches
   * them, only while `stopsActive`: false until `minTokens` tokens were generated).
   */
  readonly onDelta: (text: string, logprobs: TokenLogprob[], stopsActive: boolean) => boolean | void;
}

export interface ChoiceResult {
  readonly reason: FinishReason | "aborted";
  /** Generated tokens, end-of-generation tokens excluded (OpenAI counts content tokens). */
  readonly completionTokens: number;
  /** Prompt tokens whose evaluation was reused from the sequence's cache. */
  readonly cachedTokens: number;
  /** Sum of the generated tokens' log-probabilities (with `score`; else 0), as `logprobs` reports them. */
  readonly cumulativeLogprob: number;
  /** Drafted tokens kept and discarded (speculative decoding, speculative-steps.ts); absent when nothing was drafted from a prediction or prompt lookup. */
  readonly drafted?: DraftCounts;
  /** The stop string that ended the choice, when this function matched it (not the caller's `onDelta`). */
  readonly stopSequence?: string;
}

export async function generateChoice(options: ChoiceOptions): Promise<ChoiceResult> {
  const { model, sequence, prompt, sampling, signal } = options;
  takeSamplingFailure(sequence); // a failure recorded for an earlier user of this slot is not ours
  const cachedTokens = await evaluatePrompt(options);
  if (cachedTokens === undefined || options.maxTokens <= 0) {
    return { reason: signal.aborted ? "aborted" : "length", completionTokens: 0, cachedTokens: cachedTokens ?? 0, cumulativeLogprob: 0 };
  }

  const minTokens = options.minTokens ?? 0;
  const text = new TokenTextStream(options.vocabulary, options.stop, {
    shownControl: options.shownControl,
    includeStop: options.includeStopString ?? false,
    minTokens,
    spacesBetweenSpecial: options.spacesBetweenSpecial ?? true,
  });
  const stopTokenIds = options.stopTokenIds ?? new Set<number>();
  const generated: Token[] = [];
  // vLLM's repetition penalty covers the prompt and the output: llama.cpp's penalty sampler gets both.
  const punished = sampling.repetitionPenalty !== 1 ? [...prompt] : undefined;
  const wantLogprobs = options.topLogprobs !== undefined;
  const wantProbabilities = wantLogprobs || options.score === true;
  let cumulativeLogprob = 0;
  // With logprobs, the native chain must report the untempered, untruncated distribution, so
  // temperature and top-p are applied in JavaScript (greedy needs neither). Not with a grammar:
  // its state follows the natively sampled token, so the native sampler must choose.
  const drawInJs = wantProbabilities && sampling.temperature > 0 && options.grammar === undefined ? seededRandom(options.seed) : undefined;
  const grammarEvaluationState = options.grammar === undefined ? undefined : new LlamaGrammarEvaluationState({ model, grammar: options.grammar });
  const tokenBias = new ChoiceBias({
    model,
    vocabulary: options.vocabulary,
    logitBias: options.logitBias,
    frequencyPenalty: sampling.frequencyPenalty,
    presencePenalty: sampling.presencePenalty,
    grammar: options.grammar !== undefined,
    endTokens: minTokens > 0 ? [...stopTokenIds, ...(options.ignoreEos === true ? [] : (options.eogTokens ?? []))] : [],
    minTokens,
  });
  // Temperature still applied natively (grammar requests): logprobs undo it (see logprobs.ts).
  const nativeTemperature = drawInJs === undefined ? sampling.temperature : 1;
  const { repetitionPenalty, frequencyPenalty, presencePenalty } = sampling;
  const allowed = draftAllowed({
    probabilities: wantProbabilities,
    grammar: options.grammar !== undefined,
    repetitionPenalty,
    frequencyPenalty,
    presencePenalty,
    minTokens,
    seeded: sampling.seedFromClient && sampling.temperature > 0,
  });
  const source = allowed ? draftSource({ prediction: options.prediction, promptLength: prompt.length, draftModel: options.draftModel }, options.drafting) : undefined;
  const scheduler = BatchScheduler.of(sequence.context);
  const bias = tokenBias.current;
  const iterator: TokenSteps =
    source !== undefined && typeof bias !== "function"
      ? new SpeculativeSteps({
          sequence,
          prompt,
          source,
          draftMax: options.drafting?.draftMax ?? DEFAULT_DRAFT_MAX,
          maxTokens: options.maxTokens,
          sampling: { temperature: sampling.temperature, topP: sampling.topP, topK: sampling.topK, minP: sampling.minP, seed: options.seed, tokenBias: bias },
          // Alone on the context; otherwise the lock-step batch already carries every generating sequence.
          mayDraft: () => (scheduler?.members ?? 1) <= 1,
        })
      : sequence.evaluateWithMetadata(
          prompt.slice(-1) as Token[],
          { probabilities: wantProbabilities },
          {
            temperature: nativeTemperature,
            topP: drawInJs === undefined ? sampling.topP : 1,
            topK: drawInJs === undefined ? sampling.topK : 0,
            minP: drawInJs === undefined ? sampling.minP : 0,
            seed: options.seed,
            ...(bias === undefined ? {} : { tokenBias: bias }),
            ...(grammarEvaluationState === undefined
              ? {}
              : { grammarEvaluationState: options.grammarActive === undefined ? grammarEvaluationState : () => (options.grammarActive?.() === true ? grammarEvaluationState : undefined) }),
            ...(punished === undefined ? {} : { repeatPenalty: { punishTokens: () => punished, penalty: sampling.repetitionPenalty } }),
            yieldEogToken: true,
          },
        );

  let reason: FinishReason | "aborted" = "length";
  let stoppedByString = false;
  let replacement: Token | Token[] | undefined;
  /** Adds a token to the output; true when the choice is over (a stop string, or max_tokens). */
  const keep = (token: Token, entry: TokenLogprob | undefined): boolean => {
    generated.push(token);
    punished?.push(token);
    tokenBias.accept(token);
    cumulativeLogprob += entry?.logprob ?? 0;
    const step = text.push(token, wantLogprobs ? entry : undefined);
    const stoppedByCaller = (step.text !== "" || step.logprobs.length > 0) && options.onDelta(step.text, step.logprobs, text.stopsActive) === true;
    options.onToken?.();
    if (step.stopped || stoppedByCaller) {
      reason = "stop";
      stoppedByString = true;
      return true;
    }
    return generated.length >= options.maxTokens;
  };
  const lockStep = scheduler?.join(sequence);
  // If this choice is given up on while llama.cpp still works on its step, the others step on without it.
  const leaveLockStep = () => lockStep?.leave();
  signal.addEventListener("abort", leaveLockStep, { once: true });
  try {
    for (;;) {
      const next = await iterator.next(replacement).catch((error: unknown) => {
        throw samplingError(sequence, options.grammar !== undefined, error);
      });
      options.onStep?.();
      if (next.done === true) {
        reason = "stop"; // node-llama-cpp ends the generator itself when the grammar is complete
        break;
      }
      const output: { token: Token; probabilities?: ReadonlyMap<Token, number> } = next.value;
      if (signal.aborted) {
        reason = "aborted";
        break;
      }
      if (options.deadline?.aborted === true) break; // "length": the time limit cut it
      const token = drawInJs === undefined ? output.token : (sampleToken(output.probabilities ?? new Map(), sampling, drawInJs) as Token);
      replacement = drawInJs === undefined ? undefined : token;
      const ending = stopTokenIds.has(token) || (model.isEogToken(token) && options.ignoreEos !== true);
      const forced = options.redirect?.(ending);
      if (forced !== undefined && forced.length > 0) {
        // The sampled token is dropped; the forced ones are evaluated in its place.
        replacement = [...forced];
        if (forced.some((f) => keep(f, undefined))) break;
      } else {
        if (ending) {
          reason = "stop";
          break;
        }
        const entry = wantProbabilities ? logprobEntry(options.vocabulary, token, output.probabilities, options.topLogprobs ?? 0, nativeTemperature) : undefined;
        if (keep(token, entry)) break;
      }
      // Ask for the next token together with the context's other generating sequences.
      const turn = lockStep?.step();
      if (turn !== undefined) await turn;
    }
  } finally {
    signal.removeEventListener("abort", leaveLockStep);
    lockStep?.leave();
    // Ends node-llama-cpp's generator, releasing its sampler (a `for await` would do this on break).
    await iterator.return(undefined);
  }

  if (reason !== "aborted" && !stoppedByString) {
    // A constrained output cut by max_tokens must stay a valid prefix: no U+FFFD for a partial character.
    const tail = text.finish(options.grammar !== undefined);
    if (tail.text !== "" || tail.logprobs.length > 0) options.onDelta(tail.text, tail.logprobs, text.stopsActive);
  }
  const stopSequence = text.stopSequence;
  const drafted: DraftCounts | undefined = iterator instanceof SpeculativeSteps ? iterator.counts : undefined;
  return {
    reason,
    completionTokens: generated.length,
    cachedTokens,
    cumulativeLogprob,
    ...(drafted === undefined ? {} : { drafted }),
    ...(reason === "stop" && stopSequence !== undefined ? { stopSequence } : {}),
  };
}

/**
 * A failed generation step: llama.cpp's sampler failing under a grammar means the output
 * constraint could not be satisfied with this model's tokens (a 400, naming no field: the request
 * was valid, the model could not comply); without a grammar it is a fault (500).
 */
function samplingError(sequence: LlamaContextSequence, constrained: boolean, error: unknown): unknown {
  const failure = takeSamplingFailure(sequence);
  if (failure === undefined) return error;
  const detail = failure.error instanceof Error ? failure.error.message : String(failure.error);
  if (constrained) {
    return new ParleyError("invalid_request", `The output constraint could not be satisfied: no token of this model can continue the output the grammar requires (llama.cpp: ${detail}).`, {
      code: "constraint_unsatisfiable",
      cause: failure.error,
    });
  }
  return new ParleyError("internal", `Sampling failed: ${detail}`, { cause: failure.error });
}
