/**
 * What an engine emits while generating: the single vocabulary shared by streaming and
 * non-streaming responses, whatever engine produced it.
 */

/** `tool_calls`: the choice ended with tool calls (the HTTP layer says `function_call` for legacy requests). */
export type FinishReason = "stop" | "length" | "tool_calls";

export interface TopLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: readonly number[];
}

export interface TokenLogprob extends TopLogprob {
  /** Alternatives sorted by descending logprob (as many as requested). */
  readonly topLogprobs: readonly TopLogprob[];
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens whose evaluation was reused from a cached prefix. */
  readonly cachedTokens: number;
  /** Completion tokens that were thoughts (reasoning models), when counted. */
  readonly reasoningTokens?: number;
  /**
   * With OpenAI's `prediction` (Predicted Outputs): tokens of the prediction that were drafted and
   * kept in the output, and drafted but discarded. Absent for a request without a prediction.
   */
  readonly acceptedPredictionTokens?: number;
  readonly rejectedPredictionTokens?: number;
}

export type ChatEvent =
  /** New text for one choice, with the log-probabilities of the tokens that produced it. */
  | { readonly type: "delta"; readonly choice: number; readonly text: string; readonly logprobs: readonly TokenLogprob[] }
  /** New thoughts of a reasoning model (`reasoning_content`), with their tokens' log-probabilities. */
  | { readonly type: "reasoning"; readonly choice: number; readonly text: string; readonly logprobs: readonly TokenLogprob[] }
  /** A tool call begins: its id and function name; its arguments follow in `tool_arguments` events. */
  | { readonly type: "tool_call"; readonly choice: number; readonly index: number; readonly id: string; readonly name: string; readonly logprobs: readonly TokenLogprob[] }
  /** More of a tool call's arguments (JSON text; the fragments concatenate to the whole). */
  | { readonly type: "tool_arguments"; readonly choice: number; readonly index: number; readonly text: string; readonly logprobs: readonly TokenLogprob[] }
  /**
   * The log-probabilities of the prompt tokens (vLLM `prompt_logprobs`), aligned with them: the
   * first is null (nothing predicts it). Emitted once per prompt, before its choices' deltas.
   * `prompt`: which prompt of a request with several (a text completion's list; absent: the only one).
   */
  | { readonly type: "prompt_logprobs"; readonly entries: readonly (TokenLogprob | null)[]; readonly prompt?: number }
  /** How a choice ranked (`best_of` and beam search): emitted before its `finish`. */
  | { readonly type: "score"; readonly choice: number; readonly cumulativeLogprob: number; readonly beamScore?: number }
  /**
   * A choice ended. `stopSequence`: the stop string that ended it (reason `stop`), when the engine
   * knows which (absent otherwise, and for an end token).
   */
  | { readonly type: "finish"; readonly choice: number; readonly reason: FinishReason; readonly stopSequence?: string }
  /** Emitted once, after every choice has finished. */
  | { readonly type: "usage"; readonly usage: Usage };
