/**
 * What an engine can do with a request, as data: each engine publishes its `capabilities`
 * (src/engines/types.ts), and one check (src/router/capabilities.ts) refuses, with a 400 naming
 * the client's field, what the engine chosen for a request cannot do. The edge validates what the
 * API allows; this says what an engine delivers — so a field one engine lacks (a vLLM sampling
 * extension on a local model) can still reach an engine that has it (a vLLM upstream).
 * Framework-free, as the rest of the domain.
 */
import type { OutputConstraint } from "./chat.ts";

/**
 * Other servers' request fields, outside Parley's own API, that some engine may serve: the edge
 * keeps them (non-default values only) in `ChatRequest.extensions`, and an engine that lists
 * them in `capabilities.extensions` receives them verbatim; any other engine refuses them.
 * vLLM reads `allowed_token_ids`, `bad_words`, `truncate_prompt_tokens`,
 * `return_tokens_as_token_ids` and (since 0.12 inside `structured_outputs`) `structural_tag`;
 * llama.cpp's server `typical_p`, `mirostat`, `repeat_penalty`, `dry_multiplier`,
 * `xtc_probability` and `cache_prompt`. Fields no current server reads (`logits_processors`,
 * gone from vLLM's chat API; `tfs_z`, removed from llama.cpp; text-generation-webui's
 * `mirostat_mode`) are known so that they are named, and refused by every engine but another
 * Parley (which names them itself).
 */
export const EXTENSION_FIELDS = [
  "allowed_token_ids",
  "bad_words",
  "truncate_prompt_tokens",
  "structural_tag",
  "return_tokens_as_token_ids",
  "logits_processors",
  "typical_p",
  "tfs_z",
  "mirostat",
  "mirostat_mode",
  "cache_prompt",
  "repeat_penalty",
  "dry_multiplier",
  "xtc_probability",
] as const;

export type ExtensionField = (typeof EXTENSION_FIELDS)[number];

/**
 * Request features beam search may be combined with, per engine (beam search ranks by the model's
 * log-probabilities and is not steered, so most engines combine it with none of them):
 * - `stop`: stop strings; `logprobs`: per-token log-probabilities;
 * - `sampling`: `top_p`, `top_k`, `min_p` and the frequency, presence and repetition penalties;
 * - `min_tokens`; `reasoning_budget`: a thinking budget (`thinking_token_budget`, or a
 *   `reasoning_effort` that sets one);
 * - `constraints`: an output constraint; `tools`.
 */
export type BeamCompanion = "stop" | "logprobs" | "sampling" | "min_tokens" | "reasoning_budget" | "constraints" | "tools";

/** What an engine can do. Every engine states every entry: the check reads nothing else. */
export interface EngineCapabilities {
  /**
   * Who the refusals name as lacking a feature, e.g. "the local llama.cpp engine" or "the upstream
   * serving model `x` (dialect `openai`)".
   */
  readonly servedBy: string;
  /** The output constraint kinds it enforces token by token (`json`, `regex`, `choice`, `grammar`). */
  readonly constraints: ReadonlySet<OutputConstraint["kind"]>;
  /** Whether it takes `tools` (and calls them in its output). */
  readonly tools: boolean;
  /** Per-token log-probabilities: the most alternatives per token (`top_logprobs`), or false for none at all. */
  readonly logprobs: false | { readonly maxTop: number };
  /** The prompt tokens' log-probabilities (vLLM `prompt_logprobs`, OctoAI `loglikelihood`). */
  readonly promptLogprobs: boolean;
  /** `best_of` greater than `n` (several samples, the best returned). */
  readonly bestOf: boolean;
  /** Beam search (`use_beam_search`), and what it may be combined with; false: none. */
  readonly beamSearch: false | { readonly combinesWith: ReadonlySet<BeamCompanion> };
  /** LoRA adapters selected per request (`peft`). */
  readonly adapters: boolean;
  /** Steering a reasoning model's thoughts (`reasoning_effort`, `thinking_token_budget`). */
  readonly reasoningControl: boolean;
  /** Raw text prompts (`/v1/completions`'s `prompt`). */
  readonly textPrompts: boolean;
  /** Fill-in-the-middle (`suffix` of a text prompt): only models with FIM tokens. */
  readonly fillInTheMiddle: boolean;
  /** Embeddings (`/v1/embeddings`): embedding models. */
  readonly embeddings: boolean;
  /**
   * Generates text from chat messages or prompts (default true). False for embedding models: a
   * chat or text completion request to one is refused with a 400 naming its kind.
   */
  readonly generates?: boolean;
  /**
   * Honours `keep_alive` (Ollama's: how long the model stays loaded after the request): a local
   * model Parley loads and unloads itself (router/managed-model.ts). Default false.
   */
  readonly keepAlive?: boolean;
  /** The other servers' fields it passes through (see EXTENSION_FIELDS). */
  readonly extensions: ReadonlySet<ExtensionField>;
  /**
   * Fields refused by configuration (an upstream's `unsupported` fields with mode `reject`),
   * under the name the client's body uses; empty for most engines.
   */
  readonly refusedFields: ReadonlySet<string>;
}

/** Every beam-search companion (an engine whose beams honour them all). */
export const ALL_BEAM_COMPANIONS: ReadonlySet<BeamCompanion> = new Set(["stop", "logprobs", "sampling", "min_tokens", "reasoning_budget", "constraints", "tools"]);

/** Every constraint kind. */
export const ALL_CONSTRAINTS: ReadonlySet<OutputConstraint["kind"]> = new Set(["json", "regex", "choice", "grammar"]);

/**
 * OpenAI's API and nothing more: JSON Schema constraints, tools, up to 20 alternatives per token,
 * reasoning effort; no vLLM or llama.cpp extensions. A base for engines to spread and extend.
 */
export const OPENAI_CAPABILITIES: EngineCapabilities = {
  servedBy: "an engine with OpenAI's features only",
  constraints: new Set(["json"]),
  tools: true,
  logprobs: { maxTop: 20 },
  promptLogprobs: false,
  bestOf: false,
  beamSearch: false,
  adapters: false,
  reasoningControl: true,
  textPrompts: false,
  fillInTheMiddle: false,
  embeddings: false,
  extensions: new Set(),
  refusedFields: new Set(),
};

/**
 * An embedding model's capabilities (`servedBy`: who refusals name): `/v1/embeddings` only; it
 * generates nothing, so every chat or text completion request is refused, naming its kind.
 */
export function embeddingCapabilities(servedBy: string): EngineCapabilities {
  return {
    servedBy,
    constraints: new Set(),
    tools: false,
    logprobs: false,
    promptLogprobs: false,
    bestOf: false,
    beamSearch: false,
    adapters: false,
    reasoningControl: false,
    textPrompts: false,
    fillInTheMiddle: false,
    embeddings: true,
    generates: false,
    extensions: new Set(),
    refusedFields: new Set(),
  };
}
