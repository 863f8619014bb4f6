/**
 * Framework-free types describing a chat-completion request after validation and normalisation.
 * The HTTP layer produces these; engines consume them. Nothing here knows about Fastify or zod.
 */
import type { ExtensionField } from "./capabilities.ts";
import type { ReasoningRequest } from "./reasoning.ts";
import type { ToolCall, ToolsRequest } from "./tools.ts";

export type Role = "system" | "developer" | "user" | "assistant" | "tool";

export interface ChatMessage {
  readonly role: Role;
  /** Text content; array-of-parts content is already joined (with "\n"). Empty string when absent. */
  readonly content: string;
  /** Optional participant name (`name` on the wire). */
  readonly name?: string;
  /** For `tool` messages: the id of the call this message answers. */
  readonly toolCallId?: string;
  /** For `assistant` messages: the calls it made (legacy `function_call` included). */
  readonly toolCalls?: readonly ToolCall[];
  /** For `assistant` messages: their thoughts (`reasoning_content` or `reasoning` on the wire). */
  readonly reasoning?: string;
}

export interface SamplingParams {
  /** 0 = greedy. */
  readonly temperature: number;
  /** Nucleus sampling mass; 1 = off. */
  readonly topP: number;
  /** Keep only the K most likely tokens; 0 = off. */
  readonly topK: number;
  /** Drop tokens less likely than `minP` × the most likely one; 0 = off. */
  readonly minP: number;
  /**
   * Seed for the sampler. Always set by the time a request reaches an engine: the edge draws a
   * fresh random seed when the client sent none, so concurrent requests never share one.
   */
  readonly seed: number;
  /** Whether `seed` came from the client (reported nowhere, but useful in logs). */
  readonly seedFromClient: boolean;
  /**
   * vLLM's multiplicative repetition penalty over prompt and generated tokens (> 0; 1 = off): a
   * positive logit is divided by it, a negative one multiplied.
   */
  readonly repetitionPenalty: number;
  /** OpenAI semantics, −2..2, applied over generated tokens. */
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  /** Token id → additive logit bias (−100..100); −100 bans the token. */
  readonly logitBias: ReadonlyMap<number, number>;
}

/**
 * A constraint on the output, enforced token by token. `field` is the request field that set it
 * (for error messages).
 */
export type OutputConstraint =
  /** JSON valid against `schema` (`{type: "object"}` for `json_object`). */
  | { readonly kind: "json"; readonly schema: unknown; readonly strict: boolean; readonly field: string }
  /** Text matching the whole regex (anchors implied). */
  | { readonly kind: "regex"; readonly pattern: string; readonly field: string }
  /** Exactly one of the strings. */
  | { readonly kind: "choice"; readonly choices: readonly string[]; readonly field: string }
  /** A llama.cpp GBNF grammar (root rule `root`). */
  | { readonly kind: "grammar"; readonly gbnf: string; readonly field: string };

/** How the conversation becomes the prompt (vLLM's prompt-control fields). */
export interface PromptControl {
  /** Open the assistant's turn after the messages (`add_generation_prompt`). */
  readonly addGenerationPrompt: boolean;
  /** Leave the final assistant message open, so the output continues it (`continue_final_message`). */
  readonly continueFinalMessage: boolean;
  /** Add the tokenizer's own special tokens (BOS, EOS as the model says) on top of the template's text. */
  readonly addSpecialTokens: boolean;
  /** Prepend the final assistant message's content (a text prompt: the prompt) to every choice's content (`echo`). */
  readonly echo: boolean;
  /** A Jinja chat template used instead of the model's for this request. */
  readonly chatTemplate: string | undefined;
  /** Extra variables for the chat template (`chat_template_kwargs`). */
  readonly chatTemplateKwargs: Readonly<Record<string, unknown>>;
  /** Documents for retrieval-augmented templates (vLLM `documents`), the template's `documents`. */
  readonly documents?: readonly Readonly<Record<string, string>>[];
}

/**
 * How choices are found. `sample`: `bestOf` ≥ n independent samples, of which the n with the
 * highest cumulative logprob are returned (bestOf = n: all of them). `beam`: beam search.
 */
export type SearchStrategy =
  | { readonly kind: "sample"; readonly bestOf: number }
  | {
      readonly kind: "beam";
      /** Beams kept per step (≥ n). */
      readonly width: number;
      /** Score = cumulative logprob / length^lengthPenalty. */
      readonly lengthPenalty: number;
      readonly earlyStopping: boolean | "never";
    };

/**
 * A raw prompt (text completions, `/v1/completions`): generated from as it is, with no chat
 * template, no tools and no reasoning markup.
 */
export interface TextPrompt {
  /** The prompt's text (special-token strings parsed as special tokens), or its token ids. */
  readonly prompt: string | readonly number[];
  /** Fill-in-the-middle: the text after the insertion point (`suffix`); the model must have FIM tokens. */
  readonly suffix?: string;
}

export interface ChatRequest {
  /** Model id as sent by the client (already resolved by the router to an engine). */
  readonly model: string;
  /** The conversation (empty for a text prompt). */
  readonly messages: readonly ChatMessage[];
  /** Set for text completions: the prompt is this, not the rendered `messages`. */
  readonly text?: TextPrompt;
  readonly prompt: PromptControl;
  /** Upper bound on generated tokens per choice; undefined = the rest of the context. */
  readonly maxTokens: number | undefined;
  /** Number of choices returned (1–128). */
  readonly n: number;
  readonly search: SearchStrategy;
  /** Return the log-probabilities of the prompt tokens, with this many alternatives (vLLM `prompt_logprobs`). */
  readonly promptLogprobs: number | undefined;
  /** Stop strings (0–4), matched on the decoded text across token boundaries. */
  readonly stop: readonly string[];
  /** Emit the stop string that ended a choice (vLLM `include_stop_str_in_output`). */
  readonly includeStopString: boolean;
  /** Token ids that end a choice like EOS (vLLM `stop_token_ids`). */
  readonly stopTokenIds: ReadonlySet<number>;
  /** Keep generating past end-of-generation tokens until `maxTokens` (vLLM `ignore_eos`). */
  readonly ignoreEos: boolean;
  /** Hide control tokens from `content` (vLLM `skip_special_tokens`, default true). */
  readonly skipSpecialTokens: boolean;
  /** With control tokens shown, separate them from their neighbours by a space (vLLM, default true). */
  readonly spacesBetweenSpecialTokens: boolean;
  /** End tokens and stop strings have no effect until this many tokens are generated (vLLM `min_tokens`). */
  readonly minTokens: number;
  readonly sampling: SamplingParams;
  /** Whether per-token log-probabilities are returned, and how many alternatives (0–20). */
  readonly logprobs: boolean;
  readonly topLogprobs: number;
  /** End-user id from the `user` field (or OpenAI's newer `safety_identifier`), recorded in logs. */
  readonly user: string | undefined;
  /** Where the request waits and runs (`service_tier`, `prompt_cache_key`). */
  readonly scheduling: Scheduling;
  /** Structured-output constraint, if any. */
  readonly constraint: OutputConstraint | undefined;
  /** Regex for whitespace allowed between JSON tokens (`guided_whitespace_pattern`); default compact. */
  readonly whitespacePattern: string | undefined;
  /** The LoRA adapter to apply (OctoAI `peft`: an id registered with `--lora`), if any. */
  readonly adapter: string | undefined;
  /** Tools offered to the model, if any (an empty `tools` list is no tools). */
  readonly tools: ToolsRequest | undefined;
  /** What the request asks of a reasoning model's thoughts. */
  readonly reasoning: ReasoningRequest;
  /**
   * OpenAI's Predicted Outputs (`prediction: {type: "content", content}`): text the output is
   * expected to largely repeat (a document or code being edited). Only a speed hint: the output is
   * what it would be without it. Absent: none.
   */
  readonly prediction?: string;
  /**
   * Other servers' fields the client set (vLLM's, llama.cpp's server's: domain/capabilities.ts),
   * verbatim, non-default values only: forwarded by engines that list them in
   * `capabilities.extensions`, refused by the capability check otherwise (absent: none).
   */
  readonly extensions?: Readonly<Partial<Record<ExtensionField, unknown>>>;
}

/**
 * How a request is queued and placed: `priority` requests are admitted before waiting `default`
 * ones, `flex` ones after them (OpenAI's `service_tier`); requests with the same `cacheKey`
 * (`prompt_cache_key`) prefer the slot that last served that key, whose cache holds their prefix.
 */
export interface Scheduling {
  readonly tier: "default" | "priority" | "flex";
  readonly cacheKey: string | undefined;
  /**
   * Seconds a local model stays loaded once idle after this request (Ollama's `keep_alive`; -1:
   * until evicted; 0: unload when idle); absent: the model's TTL.
   */
  readonly keepAlive?: number;
}

/** A request with no scheduling wishes. */
export const DEFAULT_SCHEDULING: Scheduling = { tier: "default", cacheKey: undefined };
