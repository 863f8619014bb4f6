/**
 * What `/apply-template`, `/tokenize` and `/detokenize` need from a loaded model, on the same code
 * path as generation: the prompt is rendered by prompt.ts's `renderRequestPrompt` with the
 * template request-templates.ts resolves (a client's `chat_template` included), and text is
 * tokenized by `tokenizeText` (long texts in the tokenizer's worker process, off the event loop).
 *
 * BOS follows llama-server's contract, so that `tokenize(applyTemplate(r), {addSpecial: true})`
 * is exactly the prompt `generate(r)` evaluates: when the model adds BOS itself and the template
 * wrote it, the prompt text leaves it out (generation keeps the template's BOS and adds none);
 * `addSpecial` adds BOS (and EOS, for the rare tokenizer that appends one) whatever the text
 * holds, as llama.cpp does. With `add_special_tokens`, generation adds them on top of the full
 * text, so nothing is left out.
 */
import type { ChatRequest } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import type { TokenizeOptions } from "../types.ts";
import type { ModelHost } from "./model-host.ts";
import { renderRequestPrompt, tokenizeText, type Tokenizers } from "./prompt.ts";
import type { RequestTemplates } from "./request-templates.ts";

export class LlamaTextTools {
  readonly #host: ModelHost;
  readonly #templates: RequestTemplates;
  readonly #tokenizers: Tokenizers;

  constructor(host: ModelHost, templates: RequestTemplates, tokenizers: Tokenizers) {
    this.#host = host;
    this.#templates = templates;
    this.#tokenizers = tokenizers;
  }

  /** The prompt text of `request` (see the file comment for BOS). */
  async applyTemplate(request: ChatRequest, signal: AbortSignal): Promise<string> {
    const text = await renderRequestPrompt(this.#host, request, this.#templates.resolve(request, signal));
    const { addBos, bos, bosText } = this.#host.specialTokens;
    if (request.prompt.addSpecialTokens || !addBos || bos === null || bosText === "" || !text.startsWith(bosText)) return text;
    return text.slice(bosText.length);
  }

  /** The text's token ids, special-token strings parsed; BOS/EOS added with `addSpecial` (default false). */
  async tokenize(text: string, { addSpecial = false, field = "content" }: TokenizeOptions = {}): Promise<number[]> {
    const tokens: number[] = await tokenizeText(this.#host, text, this.#tokenizers, field);
    if (!addSpecial) return tokens;
    const { addBos, bos, addEos, eos } = this.#host.specialTokens;
    if (addBos && bos !== null) tokens.unshift(bos);
    if (addEos && eos !== null) tokens.push(eos);
    return tokens;
  }

  /** Each token's exact bytes; 400 naming `tokens[i]` for the first id outside the vocabulary. */
  tokenBytes(tokens: readonly number[]): Uint8Array[] {
    const { vocabulary } = this.#host;
    return tokens.map((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabulary.size) {
        throw invalidRequest(`Invalid token id ${id} at tokens[${i}]: the vocabulary has ${vocabulary.size} tokens (ids 0 to ${vocabulary.size - 1}).`, ["tokens", i]);
      }
      return vocabulary.bytes(id);
    });
  }
}
