/**
 * The limits every request is checked against before any expensive step, so that no request,
 * however large or hostile, can stall the server: sizes are checked at the edge, the cost of a
 * grammar in its worker, generated tokens and time in the engine. Each is configurable
 * (`--limit name=value`, or `limits:` under `server:` in the config file); README "Limits" lists
 * them all. Characters are UTF-16 code units, as JavaScript counts them.
 */

export interface RequestLimits {
  /** Deepest nesting of objects and arrays in a request body. */
  readonly jsonDepth: number;
  /** Largest JSON-valued field (a schema, a tool's parameters, `chat_template_kwargs`, `logit_bias`), as JSON text. */
  readonly jsonFieldChars: number;
  /** Most messages in one request. */
  readonly messages: number;
  /** Characters of all messages' text and all tool definitions together. */
  readonly inputChars: number;
  /** Characters of one stop string. */
  readonly stopChars: number;
  /** Characters of a regex or grammar source (`guided_regex`, `guided_grammar`, …) or of a `guided_choice` list. */
  readonly grammarChars: number;
  /** Rules of a grammar once llama.cpp has expanded it (repetitions become rules). */
  readonly grammarRules: number;
  /** Alternatives of one grammar rule (e.g. `guided_choice` strings sharing no prefix). */
  readonly grammarAlternatives: number;
  /** Parse states llama.cpp may follow for one token (chat/grammar/gbnf-cost.ts): bounds ambiguity. */
  readonly grammarCost: number;
  /** Seconds converting and checking one constraint may take (in a worker thread). */
  readonly grammarSeconds: number;
  /** Tokens one request may generate in all: n (or best_of, or the beam width) × max_tokens. */
  readonly generatedTokens: number;
  /** Characters of a prompt tokenized on the event loop; longer prompts are tokenized in a worker process. */
  readonly inlineTokenizeChars: number;
  /** Seconds tokenizing one prompt may take (in the worker process). */
  readonly tokenizeSeconds: number;
  /** Seconds a client may take to send a request's headers. */
  readonly headersSeconds: number;
  /** Seconds a client may take to send a whole request (headers and body). */
  readonly bodySeconds: number;
  /** Seconds an idle keep-alive connection stays open. */
  readonly idleSeconds: number;
}

export const DEFAULT_LIMITS: RequestLimits = Object.freeze({
  jsonDepth: 64,
  jsonFieldChars: 262_144,
  messages: 8192,
  inputChars: 1_048_576,
  stopChars: 1024,
  grammarChars: 65_536,
  grammarRules: 5000,
  grammarAlternatives: 2000,
  grammarCost: 10_000,
  grammarSeconds: 2,
  generatedTokens: 1_048_576,
  inlineTokenizeChars: 32_768,
  tokenizeSeconds: 10,
  headersSeconds: 10,
  bodySeconds: 30,
  idleSeconds: 72,
});

export type LimitName = keyof RequestLimits;

/** `name=value` pairs (from `--limit`) over the defaults; throws an Error naming what is wrong. */
export function parseLimits(pairs: readonly string[], base: Partial<RequestLimits> = {}): RequestLimits {
  const limits: Record<string, number> = { ...DEFAULT_LIMITS, ...base };
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const name = at === -1 ? pair : pair.slice(0, at);
    if (!(name in DEFAULT_LIMITS)) throw new Error(`unknown limit "${name}" (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})`);
    const value = Number(pair.slice(at + 1));
    if (at === -1 || !Number.isFinite(value) || value <= 0) throw new Error(`limit ${name} needs a positive number: ${name}=<value>`);
    limits[name] = value;
  }
  return Object.freeze(limits as unknown as RequestLimits);
}
