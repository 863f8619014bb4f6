/**
 * Request → prompt tokens, with the checks that must happen before any slot is taken: the prompt
 * fits the context, and logit_bias names real tokens and leaves something to generate.
 *
 * llama.cpp tokenizes synchronously, and its special-token parsing grows quadratically with the
 * number of special-token strings in the text, so a request that cannot fit is refused from cheap
 * bounds first (message count, and characters: no token covers more characters than the
 * vocabulary's longest piece has bytes), and a long prompt is tokenized by `tokenizeLong` (a
 * worker process with a time budget) rather than on the event loop.
 */
import type { Token } from "node-llama-cpp";
import type { ChatRequest } from "../../domain/chat.ts";
import { renderPrompt } from "../../chat/render-prompt.ts";
import type { ConversationTemplate } from "../../chat/template.ts";
import type { ToolFamilyDefinition } from "../../chat/tools/family.ts";
import { invalidRequest, ParleyError } from "../../domain/errors.ts";
import type { ModelHost } from "./model-host.ts";

/** The template that renders a request and the tool family it implies. */
export interface RequestTemplate {
  readonly template: ConversationTemplate;
  readonly family: ToolFamilyDefinition;
  /** Template variables the request implies (its reasoning settings); `chat_template_kwargs` override them. */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/** Tokenizes text on the event loop (short texts) or off it (`tokenizeLong`, long ones). */
export interface Tokenizers {
  /** Texts longer than this many characters go to `tokenizeLong`. */
  readonly inlineChars: number;
  /**
   * Tokenizes off the event loop (special-token strings parsed). Its failures (time limit) name
   * `field` (default `messages`).
   */
  readonly tokenizeLong: (text: string, field?: string) => Promise<ArrayLike<number>>;
}

/**
 * Renders and tokenizes the prompt; 400 if it cannot fit. Special tokens: by default BOS is added
 * only when the model wants it and the template did not write it (never doubled); with
 * `add_special_tokens` the tokenizer's own BOS and EOS are added on top of the template's text, as
 * vLLM does, even if that doubles BOS.
 */
export async function buildPrompt(host: ModelHost, request: ChatRequest, template: RequestTemplate, tokenizers: Tokenizers): Promise<Token[]> {
  const limit = host.contextSize - 1;
  if (request.messages.length > limit) throw tooLong(host.contextSize, `${request.messages.length} messages`);
  const { bos, eos, addBos, addEos } = host.specialTokens;
  const text = await renderRequestPrompt(host, request, template);
  if (text.length > limit * host.vocabulary.maxTokenBytes) throw tooLong(host.contextSize, `${text.length} characters`);
  const tokens = await tokenizeText(host, text, tokenizers);
  if (request.prompt.addSpecialTokens) {
    if (addBos && bos !== null) tokens.unshift(bos as Token);
    if (addEos && eos !== null) tokens.push(eos as Token);
  } else if (addBos && bos !== null && tokens[0] !== bos) {
    tokens.unshift(bos as Token);
  }
  if (tokens.length === 0) throw invalidRequest("The rendered prompt is empty: there is nothing to generate from.", ["messages"]);
  if (tokens.length >= limit) throw tooLong(host.contextSize, `${tokens.length} tokens`);
  return tokens;
}

/** The request's prompt text: its conversation rendered by its template, prompt controls applied. */
export function renderRequestPrompt(host: ModelHost, request: ChatRequest, { template, family, variables }: RequestTemplate): Promise<string> {
  const { bosText, eosText } = host.specialTokens;
  return renderPrompt(template, family, request, { bosToken: bosText, eosToken: eosText }, variables);
}

/**
 * The text's tokens, special-token strings parsed, no BOS or EOS added; long texts off the event
 * loop (failures naming `field`, default `messages`).
 */
export async function tokenizeText(host: ModelHost, text: string, tokenizers: Tokenizers, field?: string): Promise<Token[]> {
  if (text.length <= tokenizers.inlineChars) return host.model.tokenize(text, true);
  return Array.from(await tokenizers.tokenizeLong(text, field)) as Token[];
}

/**
 * What the request may generate in all — n (or best_of, or the beam width) times max_tokens, once
 * max_tokens is bounded by the room left in the context — stays within `limit` (400 otherwise).
 */
export function checkGeneratedTokens(request: ChatRequest, maxTokens: number, limit: number): void {
  const { search } = request;
  const width = search.kind === "beam" ? search.width : search.bestOf;
  if (width * maxTokens <= limit) return;
  const field = width > request.n ? "best_of" : "n";
  throw invalidRequest(
    `This request could generate ${width} × ${maxTokens} tokens, more than the ${limit} one request may (limit generatedTokens): lower \`max_tokens\` or \`${field}\`.`,
    [request.maxTokens === undefined ? field : "max_tokens"],
    "too_big",
  );
}

/** Token ids must exist, and at least one token must stay possible. */
export function checkLogitBias(logitBias: ReadonlyMap<number, number>, vocabularySize: number): void {
  checkTokenIds(logitBias.keys(), vocabularySize, "logit_bias");
  let banned = 0;
  for (const bias of logitBias.values()) if (bias <= -100) banned++;
  if (banned >= vocabularySize) throw invalidRequest("logit_bias bans every token of the vocabulary: nothing could be generated.", ["logit_bias"]);
}

/** Every id names a token of the vocabulary. */
export function checkTokenIds(ids: Iterable<number>, vocabularySize: number, field: string): void {
  for (const id of ids) {
    if (id >= vocabularySize) throw invalidRequest(`Invalid token id ${id} in ${field}: the vocabulary has ${vocabularySize} tokens.`, [field]);
  }
}

function tooLong(contextSize: number, size: string): ParleyError {
  return new ParleyError(
    "context_length_exceeded",
    `This model's maximum context length is ${contextSize} tokens, and your messages (${size}) do not fit with room to generate. Please reduce the length of the messages.`,
    { param: "messages", code: "context_length_exceeded" },
  );
}
