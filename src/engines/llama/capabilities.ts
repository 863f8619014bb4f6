/**
 * What the llama engine can do: everything Parley's own API offers (every constraint kind, tools,
 * log-probabilities of output and prompt, best_of, beam search, LoRA adapters, reasoning control,
 * text prompts), fill-in-the-middle when the loaded model has FIM tokens, and none of the other
 * servers' extensions (domain/capabilities.ts), which it does not implement.
 */
import { ALL_CONSTRAINTS, embeddingCapabilities, type EngineCapabilities } from "../../domain/capabilities.ts";

const BASE: EngineCapabilities = {
  servedBy: "the local llama.cpp engine",
  constraints: ALL_CONSTRAINTS,
  tools: true,
  logprobs: { maxTop: 20 },
  promptLogprobs: true,
  bestOf: true,
  // Parley's beams rank by the model's log-probabilities: nothing may steer or cut them (chat/beam-search.ts).
  beamSearch: { combinesWith: new Set() },
  adapters: true,
  reasoningControl: true,
  textPrompts: true,
  fillInTheMiddle: false,
  embeddings: false,
  extensions: new Set(),
  refusedFields: new Set(),
};

const WITH_FIM: EngineCapabilities = { ...BASE, fillInTheMiddle: true };

/** `fim`: the loaded model has fill-in-the-middle tokens. */
export function llamaCapabilities(fim: boolean): EngineCapabilities {
  return fim ? WITH_FIM : BASE;
}

/**
 * An embedding model's (embed-engine.ts): `/v1/embeddings` only; it generates nothing, so every
 * chat or text completion request is refused, naming its kind (router/capabilities.ts).
 */
export const LLAMA_EMBEDDING_CAPABILITIES: EngineCapabilities = embeddingCapabilities("the local llama.cpp engine (an embedding model)");

/**
 * A local model's before it has loaded (its kind and FIM tokens are not known yet): what either
 * kind might take, so every request reaches the engine, which loads the model and checks the
 * request against the loaded model's own capabilities (router/managed-model.ts).
 */
export const UNLOADED_LOCAL_CAPABILITIES: EngineCapabilities = { ...llamaCapabilities(true), embeddings: true };
