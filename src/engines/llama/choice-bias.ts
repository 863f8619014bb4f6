/**
 * The per-step token bias of one choice, handed to node-llama-cpp's sampler before each token:
 *  - the request's `logit_bias`;
 *  - OpenAI's frequency and presence penalties, as additive biases over the tokens generated so far
 *    (`−(count × frequency + [count > 0] × presence)`, OpenAI's formula). They are applied here
 *    rather than by llama.cpp's penalty sampler because that sampler counts one token window for
 *    all its penalties, and vLLM's `repetition_penalty` needs the prompt in that window while
 *    OpenAI's penalties must not see it;
 *  - vLLM `min_tokens`: end tokens (end-of-generation and `stop_token_ids`) suppressed until that
 *    many tokens were generated;
 *  - under a grammar, the UTF-8 guard's bans for the current byte state (see utf8-guard.ts).
 * A bias that cannot change is built once; one that depends only on the guard state and the
 * `min_tokens` phase is cached per state; with penalties it is rebuilt each step.
 */
import { TokenBias, type LlamaModel } from "node-llama-cpp";
import { createTokenBias } from "./token-bias.ts";
import { Utf8Guard } from "./utf8-guard.ts";
import type { Vocabulary } from "./vocabulary.ts";

export interface ChoiceBiasOptions {
  readonly model: LlamaModel;
  readonly vocabulary: Vocabulary;
  /** OpenAI `logit_bias` (token id → −100..100). */
  readonly logitBias: ReadonlyMap<number, number>;
  /** OpenAI penalties over generated tokens (default 0). */
  readonly frequencyPenalty?: number;
  readonly presencePenalty?: number;
  /** Whether a grammar constrains the output (bans become finite; the UTF-8 guard applies). */
  readonly grammar: boolean;
  /** Tokens that would end the choice, suppressed while fewer than `minTokens` were generated. */
  readonly endTokens?: Iterable<number>;
  /** vLLM `min_tokens` (default 0). */
  readonly minTokens?: number;
}

/** What the sampler takes: a fixed bias, one recomputed per step, or none. */
export type SamplerTokenBias = TokenBias | (() => TokenBias) | undefined;

export class ChoiceBias {
  /** Pass to node-llama-cpp's `tokenBias` option. */
  readonly current: SamplerTokenBias;
  readonly #options: ChoiceBiasOptions;
  readonly #guard: Utf8Guard | undefined;
  readonly #counts = new Map<number, number>();
  readonly #cache = new Map<string, TokenBias>();
  readonly #endTokens: readonly number[];
  readonly #penalties: boolean;
  #generated = 0;

  constructor(options: ChoiceBiasOptions) {
    this.#options = options;
    this.#guard = options.grammar ? new Utf8Guard(options.vocabulary) : undefined;
    this.#endTokens = [...(options.endTokens ?? [])];
    this.#penalties = (options.frequencyPenalty ?? 0) !== 0 || (options.presencePenalty ?? 0) !== 0;
    const dynamic = this.#guard !== undefined || this.#penalties || (options.minTokens ?? 0) > 0;
    this.current = dynamic ? () => this.#build() : createTokenBias(options.model, options.logitBias);
  }

  /** Records a generated token (counts for penalties and `min_tokens`, the guard's byte state). */
  accept(token: number): void {
    this.#generated++;
    this.#guard?.accept(token);
    if (this.#penalties) this.#counts.set(token, (this.#counts.get(token) ?? 0) + 1);
  }

  #build(): TokenBias {
    const { model, logitBias } = this.#options;
    const ending = this.#generated < (this.#options.minTokens ?? 0);
    const key = this.#penalties ? undefined : `${this.#guard?.stateKey() ?? ""}|${ending}`;
    const cached = key === undefined ? undefined : this.#cache.get(key);
    if (cached !== undefined) return cached;
    const suppressed = [...(this.#guard?.banned() ?? []), ...(ending ? this.#endTokens : [])];
    const bias = createTokenBias(model, logitBias, { additive: this.#penaltyBiases(), suppressed, finiteBans: this.#guard !== undefined }) ?? new TokenBias(model.tokenizer);
    if (key !== undefined) this.#cache.set(key, bias);
    return bias;
  }

  #penaltyBiases(): Map<number, number> {
    const frequency = this.#options.frequencyPenalty ?? 0;
    const presence = this.#options.presencePenalty ?? 0;
    const biases = new Map<number, number>();
    for (const [token, count] of this.#counts) biases.set(token, -(count * frequency + presence));
    return biases;
  }
}
