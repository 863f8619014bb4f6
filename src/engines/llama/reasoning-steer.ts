/**
 * Steers one choice of a reasoning model while it generates:
 * - counts the tokens of its thoughts (`usage.completion_tokens_details.reasoning_tokens`);
 * - closes the think block by force once the thinking budget is spent, so the answer follows;
 * - under an output constraint, keeps the grammar off while the model thinks and on for the answer
 *   (the constraint is on the answer, not the thoughts), and opens the think block by force when
 *   the model would otherwise start its answer unconstrained before deciding to think.
 */
import type { LlamaModel, Token } from "node-llama-cpp";
import type { ReasoningPlan } from "../../chat/reasoning/plan.ts";
import { forcedText, type ReasoningPhase } from "../../chat/reasoning/splitter.ts";
import type { ReasoningFormat } from "../../domain/reasoning.ts";

export interface ReasoningSteerOptions {
  readonly plan: ReasoningPlan;
  /** Where the output is now (the choice's splitter). */
  readonly output: { readonly phase: ReasoningPhase };
  /** Tokens that open the thoughts (none for formats that need no opening) and close them. */
  readonly forced: { readonly open: readonly Token[] | undefined; readonly close: readonly Token[] };
  /** Whether a grammar constrains the answer. */
  readonly constrained: boolean;
}

export class ReasoningSteer {
  readonly #options: ReasoningSteerOptions;
  /** Thinking and constrained, in a format whose thoughts begin with an opening marker. */
  readonly #gated: boolean;
  #tokens = 0;
  #previous: ReasoningPhase;
  #opened = false;
  #closed = false;

  constructor(options: ReasoningSteerOptions) {
    this.#options = options;
    this.#gated = options.constrained && options.plan.thinking && options.forced.open !== undefined;
    this.#previous = options.output.phase;
  }

  /** Tokens of the thoughts so far (their markers included). */
  get reasoningTokens(): number {
    return this.#tokens;
  }

  /** `redirect` for generate-choice: tokens replacing the one just sampled, if any. */
  redirect(): readonly Token[] | undefined {
    const { phase } = this.#options.output;
    const { budget } = this.#options.plan;
    if (phase === "reasoning" && budget !== undefined && this.#tokens >= budget && !this.#closed) {
      this.#closed = true;
      return this.#options.forced.close;
    }
    if (phase === "undecided" && this.#gated && !this.#opened) {
      this.#opened = true;
      return this.#options.forced.open;
    }
    return undefined;
  }

  /** `onToken` for generate-choice: counts a token that began, continued or ended the thoughts. */
  counted(): void {
    const { phase } = this.#options.output;
    if (phase === "reasoning" || this.#previous === "reasoning") this.#tokens++;
    this.#previous = phase;
  }

  /**
   * `grammarActive` for generate-choice: in the answer; and before anything is decided, for
   * think-tag models asked not to think (their answer starts at once).
   */
  grammarActive(): boolean {
    const { phase } = this.#options.output;
    if (phase === "answer") return true;
    return phase === "undecided" && this.#options.plan.format?.kind === "tags" && !this.#options.plan.thinking;
  }
}

const forcedCache = new WeakMap<LlamaModel, Map<string, ReasoningSteerOptions["forced"]>>();

/** The tokens of a format's forced markers on this model, tokenized once. */
export function forcedTokens(model: LlamaModel, format: ReasoningFormat): ReasoningSteerOptions["forced"] {
  let byFormat = forcedCache.get(model);
  if (byFormat === undefined) forcedCache.set(model, (byFormat = new Map()));
  const key = JSON.stringify(format);
  let tokens = byFormat.get(key);
  if (tokens === undefined) {
    const text = forcedText(format);
    tokens = { open: text.open === undefined ? undefined : model.tokenize(text.open, true), close: model.tokenize(text.close, true) };
    byFormat.set(key, tokens);
  }
  return tokens;
}

/** Text of the prompt's last tokens (special ones written out): enough to see whether it opened a think block. */
export function promptTail(model: LlamaModel, prompt: readonly Token[]): string {
  return model.detokenize(prompt.slice(-PROMPT_TAIL_TOKENS) as Token[], true);
}

const PROMPT_TAIL_TOKENS = 256;
