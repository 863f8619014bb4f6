/**
 * OpenAI `logit_bias` → node-llama-cpp `TokenBias`.
 *
 * `TokenBias.set` silently skips end-of-generation tokens, yet biasing EOS/EOT is exactly what
 * clients use `logit_bias` for (+100 to end at once, −100 to keep going). node-llama-cpp passes
 * the instance's internal `_biases` map to its sampler as is, so Parley fills that map directly.
 * −100 bans the token outright (OpenAI: "should result in a ban"); other values add to the logit.
 */
import { TokenBias, type LlamaModel } from "node-llama-cpp";

interface TokenBiasInternals {
  _biases: Map<number, number>;
}

/**
 * A bias that makes a token as good as impossible, yet finite: if a grammar allows nothing else,
 * llama.cpp can still pick it instead of failing on an empty candidate set.
 */
const SUPPRESS = -1e4;

export interface TokenBiasExtras {
  /** Additive logit adjustments (e.g. frequency/presence penalties), on top of `logitBias`. */
  readonly additive?: ReadonlyMap<number, number>;
  /** Tokens pushed out of reach (e.g. by the UTF-8 guard, or `min_tokens`), whatever else says. */
  readonly suppressed?: Iterable<number>;
  /**
   * Make −100 a finite `SUPPRESS` instead of a hard ban (default false). Needed under a grammar: if
   * every token the grammar allows were hard-banned, llama.cpp would fail the whole sampler.
   */
  readonly finiteBans?: boolean;
}

/** The node-llama-cpp bias for `logitBias` and `extras`; undefined when there is nothing to apply. */
export function createTokenBias(model: LlamaModel, logitBias: ReadonlyMap<number, number>, extras: TokenBiasExtras = {}): TokenBias | undefined {
  const { additive = new Map<number, number>(), suppressed = [], finiteBans = false } = extras;
  const bias = new TokenBias(model.tokenizer);
  const internals = bias as unknown as TokenBiasInternals;
  if (!(internals._biases instanceof Map)) {
    throw new Error("node-llama-cpp's TokenBias internals changed: logit_bias cannot be applied");
  }
  const biases = internals._biases;
  for (const [token, value] of logitBias) biases.set(token, value > -100 ? value : finiteBans ? SUPPRESS : -Infinity);
  for (const [token, value] of additive) biases.set(token, (biases.get(token) ?? 0) + value);
  for (const token of suppressed) biases.set(token, Math.min(biases.get(token) ?? 0, SUPPRESS));
  return biases.size === 0 ? undefined : bias;
}
