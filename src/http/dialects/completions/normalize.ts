/**
 * Validates a text-completions body once, at the edge, and turns it into domain requests: one per
 * prompt (a list of prompts is a batch; their choices are numbered prompt by prompt), each with
 * its raw prompt (`ChatRequest.text`, no chat template), the shared generation fields
 * (schemas/generation.ts), and OpenAI's defaults: `max_tokens` 16, `echo` false.
 */
import type { ChatRequest, PromptControl } from "../../../domain/chat.ts";
import type { FieldIssue } from "../../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../../domain/limits.ts";
import { NO_REASONING_REQUEST } from "../../../domain/reasoning.ts";
import { toConstraint } from "../../../schemas/constraints.ts";
import { generationIssues, stopWithConstraintIssues, toBookkeeping, toGeneration } from "../../../schemas/generation.ts";
import { toPromptLogprobs, toSearch } from "../../../schemas/search.ts";
import { extensionFields } from "../../../schemas/unsupported-fields.ts";
import { toPrediction } from "../../../schemas/prediction.ts";
import { parseBody, validationError } from "../../../schemas/validation.ts";
import type { ParsedRequest } from "../types.ts";
import { completionRequestSchema, type CompletionRequestWire } from "./request-schema.ts";

/** OpenAI's default `max_tokens` for text completions. */
export const DEFAULT_COMPLETION_TOKENS = 16;

export interface ParsedCompletionRequest extends ParsedRequest {
  /** `echo`: each choice's text starts with its prompt. */
  readonly echo: boolean;
  /** `logprobs`: alternatives per token in the legacy logprobs object; undefined: none asked. */
  readonly logprobs: number | undefined;
}

/** A text prompt sets no chat-template controls. */
const PROMPT_AS_IS: Omit<PromptControl, "echo"> = { addGenerationPrompt: false, continueFinalMessage: false, addSpecialTokens: false, chatTemplate: undefined, chatTemplateKwargs: {} };

/** `limits`: what the request may hold (default DEFAULT_LIMITS); checked before anything costly. */
export function parseCompletionRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): ParsedCompletionRequest {
  const wire = parseBody(completionRequestSchema, body, limits, "completions");
  const issues: FieldIssue[] = [];
  const constraint = toConstraint(wire, issues, limits.jsonDepth);
  const search = toSearch(wire, issues);
  stopWithConstraintIssues(wire.stop, constraint?.field, issues);
  const prompts = promptList(wire.prompt);
  const n = wire.n ?? 1;
  if (prompts.length * Math.max(n, wire.best_of ?? n) > MAX_CHOICES) {
    issues.push({ path: ["prompt"], message: `${prompts.length} prompts × ${Math.max(n, wire.best_of ?? n)} choices each, more than the ${MAX_CHOICES} one request may generate.`, type: "too_big" });
  }
  if (wire.suffix != null && wire.suffix !== "" && (constraint !== undefined || search.kind === "beam")) {
    issues.push({ path: ["suffix"], message: "`suffix` (fill-in-the-middle) cannot be combined with an output constraint or beam search.", type: "conflict" });
  }
  const maxTokens = maxTokensOf(wire);
  generationIssues(wire, maxTokens, issues);
  if (issues.length > 0) throw validationError(issues);

  const echo = wire.echo ?? false;
  const logprobs = wire.logprobs ?? undefined;
  // With echo, the prompt's tokens get log-probabilities too: they come from the prompt pass.
  const promptLogprobs = echo && logprobs !== undefined ? Math.max(logprobs, toPromptLogprobs(wire) ?? 0) : toPromptLogprobs(wire);
  const extensions = extensionFields(body as Record<string, unknown>);
  const requests = prompts.map(
    (prompt): ChatRequest => ({
      // Per prompt: without a client seed, each draws its own.
      ...toGeneration(wire),
      messages: [],
      text: wire.suffix == null || wire.suffix === "" ? { prompt } : { prompt, suffix: wire.suffix },
      prompt: { ...PROMPT_AS_IS, echo },
      maxTokens,
      search,
      promptLogprobs,
      logprobs: logprobs !== undefined,
      topLogprobs: logprobs ?? 0,
      constraint,
      tools: undefined,
      reasoning: NO_REASONING_REQUEST,
      ...toPrediction(wire),
      extensions,
    }),
  );
  return { requests, input: { field: "prompt", value: wire.prompt }, echo, logprobs, ...toBookkeeping(wire) };
}

/** Choices one request may generate in all (prompts × max(n, best_of)). */
const MAX_CHOICES = 128;

/** `max_tokens` (default 16), or llama-server's `n_predict` (-1: up to the context's end). */
function maxTokensOf(wire: CompletionRequestWire): number | undefined {
  if (wire.max_tokens != null) return wire.max_tokens;
  if (wire.n_predict != null) return wire.n_predict < 0 ? undefined : wire.n_predict;
  return DEFAULT_COMPLETION_TOKENS;
}

/** The prompts of a request: one text or token list, or a list of either. */
function promptList(prompt: CompletionRequestWire["prompt"]): (string | readonly number[])[] {
  if (typeof prompt === "string") return [prompt];
  const [first] = prompt;
  if (typeof first === "number") return [prompt as number[]];
  return prompt as (string | number[])[];
}
