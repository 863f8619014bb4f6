/**
 * Domain chat requests for unit tests, without the HTTP layer: a plain request (every field at
 * the default the edge gives it when the client leaves it out), with overrides on top. Engines'
 * and translators' tests build their inputs here, so a new domain field is added in one place.
 */
import { DEFAULT_SCHEDULING, type ChatRequest } from "../../src/domain/chat.ts";
import { NO_REASONING_REQUEST } from "../../src/domain/reasoning.ts";

/** Fields of a request to override; `sampling` and `prompt` are merged into the defaults field by field. */
export type ChatRequestOverrides = { -readonly [K in Exclude<keyof ChatRequest, "sampling" | "prompt">]?: ChatRequest[K] } & {
  sampling?: Partial<ChatRequest["sampling"]>;
  prompt?: Partial<ChatRequest["prompt"]>;
};

/** A plain request for model `m` with one user message "Hi" (every field at its default), `o` on top. */
export function chatRequest(o: ChatRequestOverrides = {}): ChatRequest {
  const { sampling, prompt, ...rest } = o;
  return {
    model: "m",
    messages: [{ role: "user", content: "Hi" }],
    prompt: { addGenerationPrompt: true, continueFinalMessage: false, addSpecialTokens: false, echo: false, chatTemplate: undefined, chatTemplateKwargs: {}, ...prompt },
    maxTokens: undefined,
    n: 1,
    search: { kind: "sample", bestOf: 1 },
    promptLogprobs: undefined,
    stop: [],
    includeStopString: false,
    stopTokenIds: new Set(),
    ignoreEos: false,
    skipSpecialTokens: true,
    spacesBetweenSpecialTokens: true,
    minTokens: 0,
    sampling: { temperature: 1, topP: 1, topK: 0, minP: 0, seed: 1, seedFromClient: false, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, logitBias: new Map(), ...sampling },
    logprobs: false,
    topLogprobs: 0,
    user: undefined,
    scheduling: DEFAULT_SCHEDULING,
    constraint: undefined,
    whitespacePattern: undefined,
    adapter: undefined,
    tools: undefined,
    reasoning: NO_REASONING_REQUEST,
    ...rest,
  };
}
