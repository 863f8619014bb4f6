/**
 * What a request's reasoning fields mean for one model: whether it thinks, how many tokens its
 * thoughts may take, and the template variables that say so.
 *
 * - Thinking is off with `reasoning_effort: "none"`, `chat_template_kwargs.enable_thinking: false`,
 *   or a server budget of 0 (`--reasoning-budget 0`) unless the request asks for thoughts. Off, the
 *   template gets `enable_thinking: false` (Qwen3-style templates then close the think block in the
 *   prompt), and a model that thinks anyway has its block closed at once (budget 0).
 * - Budget: `thinking_token_budget`, else the effort's (EFFORT_BUDGETS; Harmony models have their
 *   own levels instead), else the server's default (`--reasoning-budget`, -1 = none).
 * - Templates get `enable_thinking` (true unless off, as llama.cpp passes it: some templates close
 *   the think block when it is undefined) and, with an effort, `reasoning_effort` (Harmony's
 *   low/medium/high for gpt-oss).
 * - A model that does not reason accepts `reasoning_effort: "none"` and rejects the other levels.
 */
import type { ChatRequest } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import { EFFORT_BUDGETS, harmonyLevel, type ReasoningFormat } from "../../domain/reasoning.ts";

export interface ReasoningPlan {
  /** The model's format; undefined when it does not reason (or reasoning is not told apart). */
  readonly format: ReasoningFormat | undefined;
  /** Whether the model is asked to think. */
  readonly thinking: boolean;
  /** Most tokens its thoughts may take (undefined: no bound). */
  readonly budget: number | undefined;
  /** Template variables, under `chat_template_kwargs` (which override them). */
  readonly variables: Readonly<Record<string, unknown>>;
}

export interface ReasoningDefaults {
  /** Thinking budget when the request sets none (`--reasoning-budget`): -1 none, 0 thinking off (default -1). */
  readonly budget?: number;
}

export function planReasoning(format: ReasoningFormat | undefined, request: Pick<ChatRequest, "reasoning" | "prompt">, defaults: ReasoningDefaults = {}): ReasoningPlan {
  const { effort, budget } = request.reasoning;
  const kwarg = request.prompt.chatTemplateKwargs.enable_thinking;
  const serverBudget = defaults.budget ?? -1;
  if (format === undefined && effort !== undefined && effort !== "none") {
    throw invalidRequest(`\`reasoning_effort\` "${effort}" needs a reasoning model, and this model does not reason: leave it out or send "none".`, ["reasoning_effort"]);
  }
  const asked = effort !== undefined || kwarg === true || budget !== undefined;
  const thinking = !(effort === "none" || kwarg === false || (serverBudget === 0 && !asked));
  const variables: Record<string, unknown> = { enable_thinking: thinking };
  if (effort !== undefined) variables.reasoning_effort = format?.kind === "harmony" ? harmonyLevel(effort) : effort;
  const effortBudget = effort === undefined || format?.kind === "harmony" ? undefined : EFFORT_BUDGETS[effort];
  const chosen = !thinking ? 0 : (budget ?? effortBudget ?? (serverBudget > 0 ? serverBudget : undefined));
  return { format, thinking, budget: chosen, variables };
}
