/**
 * Request → prompt tokens (a conversation rendered by its template, or a text completion's raw
 * prompt, below), with the checks that must happen before any slot is taken: the prompt
 * fits the context, and logit_bias names real tokens and leaves something to generate.
 *
 * llama.cpp tokenizes synchronously, and its special-token parsing grows quadratically with the
 * number of special-token strings in the text, so a request that cannot fit is refused from cheap
 * bounds first (message count, and characters: no token covers more characters than the
 * vocabulary's longest piece has bytes), and a long prompt is tokenized by `tokenizeLong` (a
 * worker process with a time budget) rather than on the event loop.
 */
import type { Token } from "node-llama-cpp";
import type { ChatRequest, TextPrompt } from "../../domain/chat.ts";
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
  const field = request.text === undefined ? "messages" : "prompt";
  const tokens = request.text === undefined ? await conversationTokens(host, request, template, tokenizers) : await textPromptTokens(host, request.text, tokenizers);
  if (tokens.length === 0) throw invalidRequest(`The ${request.text === undefined ? "rendered prompt" : "prompt"} is empty: there is nothing to generate from.`, [field]);
  if (tokens.length >= limit) throw tooLong(host.contextSize, `${tokens.length} tokens`, field);
  return tokens;
}

/** The conversation rendered by its template and tokenized, with BOS and EOS as the prompt controls say. */
async function conversationTokens(host: ModelHost, request: ChatRequest, template: RequestTemplate, tokenizers: Tokenizers): Promise<Token[]> {
  const limit = host.contextSize - 1;
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
export async function tokenizeText(host: Pick<ModelHost, "model">, text: string, tokenizers: Tokenizers, field?: string): Promise<Token[]> {
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

function tooLong(contextSize: number, size: string, field: "messages" | "prompt" = "messages"): ParleyError {
  const what = field === "messages" ? "messages" : "prompt";
  return new ParleyError(
    "context_length_exceeded",
    `This model's maximum context length is ${contextSize} tokens, and your ${what} (${size}) do${field === "messages" ? "" : "es"} not fit with room to generate. Please reduce the length of the ${what}.`,
    { param: field, code: "context_length_exceeded" },
  );
}

// A text completion's prompt (`ChatRequest.text`): no chat template. The text is tokenized
// (special-token strings parsed, BOS added when the model wants it and the text does not start
// with it), or the client's token ids are used as they are. With a `suffix`, the prompt is laid
// out for fill-in-the-middle in the prefix-suffix-middle order llama-server uses,
// `<FIM_PRE>prefix<FIM_SUF>suffix<FIM_MID>`, with the model's own FIM tokens; a model without
// them cannot, and the request is a 400 naming `suffix`.

/** The model's fill-in-the-middle tokens, when it has all three. */
export function fimTokens(host: ModelHost): { prefix: Token; suffix: Token; middle: Token } | undefined {
  const { prefix, suffix, middle } = host.model.tokens.infill;
  return prefix === null || suffix === null || middle === null ? undefined : { prefix, suffix, middle };
}

/** The prompt's tokens, before the length checks every prompt gets (prompt.ts). */
export async function textPromptTokens(host: ModelHost, text: TextPrompt, tokenizers: Tokenizers): Promise<Token[]> {
  const { bos, addBos } = host.specialTokens;
  const withBos = (tokens: Token[]) => (addBos && bos !== null && tokens[0] !== bos ? [bos as Token, ...tokens] : tokens);
  const encode = async (prompt: string | readonly number[], field: string): Promise<Token[]> => {
    if (typeof prompt === "string") return tokenizeText(host, prompt, tokenizers, field);
    checkTokenIds(prompt, host.vocabulary.size, field);
    return [...prompt] as Token[];
  };
  const prefix = await encode(text.prompt, "prompt");
  if (text.suffix === undefined) return typeof text.prompt === "string" ? withBos(prefix) : prefix;
  const fim = fimTokens(host);
  if (fim === undefined) {
    throw invalidRequest("`suffix` needs a model with fill-in-the-middle tokens (FIM prefix, suffix and middle), and this model has none.", ["suffix"], "unsupported");
  }
  const suffix = await encode(text.suffix, "suffix");
  return withBos([fim.prefix, ...prefix, fim.suffix, ...suffix, fim.middle]);
}

/** What `echo` repeats of a text prompt: its text (token ids: their text, special tokens included). */
export function textPromptEcho(host: ModelHost, text: TextPrompt): string {
  return typeof text.prompt === "string" ? text.prompt : host.model.detokenize([...text.prompt] as Token[], true);
}
