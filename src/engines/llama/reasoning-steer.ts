/**
 * Steers one choice of a reasoning model while it generates:
 * - counts the tokens of its thoughts (`usage.completion_tokens_details.reasoning_tokens`);
 * - closes the think block by force once the thinking budget is spent, so the answer follows (and,
 *   under an output constraint, when the model would end its output while still thinking);
 * - under an output constraint, keeps the grammar off while the model thinks and on for the answer
 *   (the constraint is on the answer, not the thoughts), and opens the think block by force when
 *   the model would otherwise start its answer unconstrained before deciding to think.
 */
import type { LlamaModel, Token } from "node-llama-cpp";
import type { ReasoningPlan } from "../../chat/reasoning/plan.ts";
import { forcedText, reasoningSplitter, type ForcedTextOptions, type ReasoningPhase, type ReasoningSplitter } from "../../chat/reasoning/splitter.ts";
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import type { RunContext } from "./run-context.ts";

export interface ReasoningSteerOptions {
  readonly plan: ReasoningPlan;
  /** Where the output is now (the choice's splitter). */
  readonly output: { readonly phase: ReasoningPhase };
  /** Tokens that open the thoughts (none for formats that need no opening) and close them. */
  readonly forced: { readonly open: readonly Token[] | undefined; readonly close: readonly Token[] };
  /** Whether a grammar constrains the answer. */
  readonly constrained: boolean;
  /**
   * The grammar writes the answer's message header too (Harmony with tools, syntax.ts `header`):
   * it applies from the end of the thoughts (at once when the model does not think), and `forced`
   * closes the thoughts without choosing the next channel. Default false.
   */
  readonly headerConstrained?: boolean;
}

/** Counts the tokens of a choice's thoughts: each token that began, continued or ended them. */
export class ThoughtCounter {
  readonly #output: { readonly phase: ReasoningPhase };
  #tokens = 0;
  #previous: ReasoningPhase;

  constructor(output: { readonly phase: ReasoningPhase }) {
    this.#output = output;
    this.#previous = output.phase;
  }

  get tokens(): number {
    return this.#tokens;
  }

  /** Call after each token's text went to the output. */
  counted(): void {
    const { phase } = this.#output;
    if (phase === "reasoning" || this.#previous === "reasoning") this.#tokens++;
    this.#previous = phase;
  }
}

export class ReasoningSteer {
  readonly #options: ReasoningSteerOptions;
  /** Thinking and constrained, in a format whose thoughts begin with an opening marker. */
  readonly #gated: boolean;
  readonly #counter: ThoughtCounter;
  #opened = false;
  #closed = false;

  constructor(options: ReasoningSteerOptions) {
    this.#options = options;
    this.#gated = options.constrained && options.plan.thinking && options.forced.open !== undefined;
    this.#counter = new ThoughtCounter(options.output);
  }

  /** Tokens of the thoughts so far (their markers included). */
  get reasoningTokens(): number {
    return this.#counter.tokens;
  }

  /**
   * `redirect` for generate-choice: tokens replacing the one just sampled, if any. `ending`: the
   * sampled token would end the choice; under a constraint the thoughts are closed instead, since
   * the answer must still come.
   */
  redirect(ending: boolean): readonly Token[] | undefined {
    const { phase } = this.#options.output;
    const { budget } = this.#options.plan;
    const spent = budget !== undefined && this.#counter.tokens >= budget;
    if (phase === "reasoning" && (spent || (ending && this.#options.constrained)) && !this.#closed) {
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
    this.#counter.counted();
  }

  /**
   * `grammarActive` for generate-choice: in the answer; and before anything is decided, for
   * think-tag models asked not to think (their answer starts at once), and for a grammar that
   * writes the header, between the thoughts and the answer.
   */
  grammarActive(): boolean {
    const { phase } = this.#options.output;
    if (phase === "answer") return true;
    if (phase !== "undecided") return false;
    const { plan } = this.#options;
    if (this.#options.headerConstrained === true) return !plan.thinking || this.#counter.tokens > 0;
    return plan.format?.kind === "tags" && !plan.thinking;
  }
}

const forcedCache = new WeakMap<LlamaModel, Map<string, ReasoningSteerOptions["forced"]>>();

/** The tokens of a format's forced markers on this model, tokenized once. */
export function forcedTokens(model: LlamaModel, format: ReasoningFormat, options: ForcedTextOptions = {}): ReasoningSteerOptions["forced"] {
  let byFormat = forcedCache.get(model);
  if (byFormat === undefined) forcedCache.set(model, (byFormat = new Map()));
  const key = JSON.stringify([format, options.headerFree === true]);
  let tokens = byFormat.get(key);
  if (tokens === undefined) {
    const text = forcedText(format, options);
    tokens = { open: text.open === undefined ? undefined : model.tokenize(text.open, true), close: model.tokenize(text.close, true) };
    byFormat.set(key, tokens);
  }
  return tokens;
}

/** The splitter of one choice's output, in the state the prompt leaves it in (undefined: the model does not reason). */
export function choiceSplitter(ctx: Pick<RunContext, "host" | "prompt" | "template" | "thoughtsOpen">): ReasoningSplitter | undefined {
  const { format } = ctx.template.reasoning;
  if (format === undefined) return undefined;
  return reasoningSplitter(format, { inside: ctx.thoughtsOpen, promptTail: () => ctx.host.model.detokenize(ctx.prompt.slice(-PROMPT_TAIL_TOKENS) as Token[], true) });
}

/** Prompt tokens whose text shows which Harmony message the prompt's end is in. */
const PROMPT_TAIL_TOKENS = 64;
