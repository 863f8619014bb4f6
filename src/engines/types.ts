/**
 * The engine interface: what the router hands a validated request to. Engines never import the
 * HTTP framework; they speak only domain types.
 */
import type { ChatRequest } from "../domain/chat.ts";
import type { ChatEvent } from "../domain/events.ts";
import type { ToolFamilyOrigin } from "../chat/tools/family.ts";

export interface ModelInfo {
  /** The id clients send in `model`. */
  readonly id: string;
  /** Unix seconds when the model became available. */
  readonly created: number;
  readonly ownedBy: string;
  /** Tokens one request can hold (prompt and output: a slot's context); absent until it has loaded, and for upstream models. */
  readonly contextLength?: number;
  /** The formats the model was found to use; absent until it has loaded, and for upstream models. */
  readonly formats?: ModelFormats;
}

/**
 * Which tool-call and reasoning formats a loaded model was given, and from which template, so the
 * start-up log and `/v1/models` can say why a model behaves as it does (one report for both).
 */
export interface ModelFormats {
  /**
   * How requests with tools expect calls to be written: the family's name (`hermes`, `llama3`, …,
   * `generic`) and whether it was written by hand, derived from the template, or the generic envelope.
   */
  /** `reason`: why this format (its markers in the template, derived, or why derivation failed). */
  readonly toolCalls: { readonly format: string; readonly source: ToolFamilyOrigin; readonly reason: string };
  /** How the model marks its thoughts (`none`: it does not reason, as far as its template says). */
  readonly reasoning: ModelReasoningFormat;
  /** Where the chat template came from: the GGUF, `--chat-template-file`, or the built-in ChatML default. */
  readonly template: "gguf" | "override" | "default";
  /** Whether requests with tools render with the GGUF's separate `tool_use` template. */
  readonly toolUseTemplate: boolean;
}

export type ModelReasoningFormat =
  | { readonly format: "none" }
  | {
      readonly format: "tags";
      readonly open: string;
      readonly close: string;
      /** Markers named in the template (a known pair), or derived from its rendering of thoughts. */
      readonly source: "known" | "derived";
      readonly answer?: { readonly open: string; readonly close: string };
    }
  | { readonly format: "harmony" };

/** A started generation. */
export interface Generation {
  readonly events: AsyncIterable<ChatEvent>;
  /** Things the client should know that did not stop the request (e.g. ignored schema keywords). */
  readonly warnings: readonly string[];
}

/** Decode batches the engine dispatched since it started (see `EngineStats`). */
export interface DecodeBatchStats {
  /** Decode batches dispatched. */
  readonly batches: number;
  /** Batches that held tokens of more than one sequence. */
  readonly multiSequenceBatches: number;
  /** Sum over batches of the sequences each held. */
  readonly sequences: number;
  /** Tokens evaluated in all batches. */
  readonly tokens: number;
}

/** A snapshot of an engine's load, for monitoring. */
export interface EngineStats {
  /** Requests with a choice waiting for a slot. */
  readonly queued: number;
  /** Slots (sequences) generating now. */
  readonly active: number;
  /** Slots in all. */
  readonly slots: number;
  /**
   * Slots held by work of requests that have already ended (the watchdog's view: a step still
   * running in the engine after its request was abandoned), counted in `active` too.
   */
  readonly held?: number;
  /** Slots taken back from finished requests that had not returned them, since start (a bug). */
  readonly reclaimed?: number;
  /** Decode batch counters, when the engine keeps them. */
  readonly batches?: DecodeBatchStats;
}

/** Options of `ChatEngine.tokenize`. */
export interface TokenizeOptions {
  /**
   * Add the special tokens the model's tokenizer adds to text it encodes: BOS when the model asks
   * for it, EOS when it appends one (rare), even if the text already starts with BOS, as
   * llama.cpp's `add_special` does (default false: the text's tokens only).
   */
  readonly addSpecial?: boolean;
  /** The request field long-text failures (tokenizing time limit) name (default `content`). */
  readonly field?: string;
}

export interface ChatEngine {
  /** The models this engine serves. */
  listModels(): readonly ModelInfo[];
  /** True once the engine can serve requests. */
  isReady(): boolean;
  /** Identifies the engine configuration in responses (`system_fingerprint`). */
  readonly fingerprint: string;
  /**
   * Starts generation. Everything that can be rejected up front (prompt too long, invalid token ids,
   * queue full) is thrown from the returned promise, before any event, so the HTTP layer can still
   * answer with a status code. `signal` aborting stops generation and frees resources at once.
   */
  generate(request: ChatRequest, signal: AbortSignal): Promise<Generation>;
  /**
   * The exact prompt text `generate` would tokenize for `request` (`/apply-template`), with the
   * leading BOS text left out when the model adds BOS itself, as llama-server does: the text's
   * tokens with `addSpecial` are then exactly the generation's prompt tokens. Engines that cannot
   * (upstreams) leave these text tools out.
   */
  applyTemplate?(request: ChatRequest, signal: AbortSignal): Promise<string>;
  /** The text's token ids, special-token strings parsed as special tokens (`/tokenize`). */
  tokenize?(text: string, options?: TokenizeOptions): Promise<readonly number[]>;
  /**
   * Each token's exact bytes (a control token's: its text); a bytes array may hold part of a
   * UTF-8 character. 400 naming `tokens[i]` for an id outside the vocabulary.
   */
  tokenBytes?(tokens: readonly number[]): readonly Uint8Array[];
  /** Current load, for `/metrics` (engines that keep none leave it out). */
  stats?(): EngineStats;
  /** Stops accepting work, waits up to `graceMs` for running requests, then releases everything. */
  close(graceMs: number): Promise<void>;
}
