/**
 * Reasoning ("thinking") models: how a model marks its thoughts, and what a request asks of them.
 * Framework-free; the chat layer detects formats (chat/reasoning/detect.ts) and splits output
 * (chat/reasoning/*-splitter.ts), the engines steer generation with them.
 */

/** OpenAI's `reasoning_effort` levels, plus `none` (thinking off) and the larger ones some clients send. */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/**
 * How a model writes its thoughts.
 * - `tags`: a block between two markers, e.g. `<think>…</think>` (Qwen3, QwQ, DeepSeek-R1, GLM,
 *   MiniMax, Kimi), optionally followed by the answer wrapped in `answerTags` (Granite's
 *   `<response>…</response>`).
 * - `harmony`: gpt-oss's channels: the `analysis` channel is reasoning, the others are the answer.
 */
export type ReasoningFormat =
  | { readonly kind: "tags"; readonly open: string; readonly close: string; readonly answerTags?: { readonly open: string; readonly close: string } }
  | { readonly kind: "harmony" };

/** What a request asks of a reasoning model (all optional: the server's defaults apply). */
export interface ReasoningRequest {
  /** `reasoning_effort`. */
  readonly effort: ReasoningEffort | undefined;
  /** `thinking_token_budget`: the most tokens the thoughts may take before they are closed. */
  readonly budget: number | undefined;
}

export const NO_REASONING_REQUEST: ReasoningRequest = { effort: undefined, budget: undefined };

/**
 * Thinking budgets for the effort levels on models whose templates have no levels of their own:
 * `none` closes the thoughts at once, `high` and above leave them unbounded.
 */
export const EFFORT_BUDGETS: Readonly<Record<ReasoningEffort, number | undefined>> = {
  none: 0,
  minimal: 256,
  low: 1024,
  medium: 8192,
  high: undefined,
  xhigh: undefined,
  max: undefined,
};

/** Harmony's own three levels (gpt-oss's template prints `Reasoning: <level>`). */
export function harmonyLevel(effort: ReasoningEffort): "low" | "medium" | "high" {
  switch (effort) {
    case "none":
    case "minimal":
    case "low":
      return "low";
    case "medium":
      return "medium";
    default:
      return "high";
  }
}
