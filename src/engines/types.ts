/**
 * The engine interface: what the router hands a validated request to. Engines never import the
 * HTTP framework; they speak only domain types.
 */
import type { ChatRequest } from "../domain/chat.ts";
import type { ChatEvent } from "../domain/events.ts";

export interface ModelInfo {
  /** The id clients send in `model`. */
  readonly id: string;
  /** Unix seconds when the model became available. */
  readonly created: number;
  readonly ownedBy: string;
}

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
  /** Current load, for `/metrics` (engines that keep none leave it out). */
  stats?(): EngineStats;
  /** Stops accepting work, waits up to `graceMs` for running requests, then releases everything. */
  close(graceMs: number): Promise<void>;
}
