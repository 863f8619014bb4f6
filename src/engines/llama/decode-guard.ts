/**
 * Makes a failure while sampling reach the generation that caused it.
 *
 * node-llama-cpp 3.22.1 decodes a batch, then calls each finished item's `logitDataMapper` (which
 * samples its next token, grammar included). When a mapper rejects — llama.cpp's sampler throws
 * "Failed to accept token in sampler: Unexpected empty grammar stack" when every token the grammar
 * allows had been ruled out, e.g. by NaN logits — the rejection escapes the batch loop as an
 * unhandled rejection, and the item's own promise never settles: its generator, its evaluation
 * lock and its slot stay taken for good, and the context's shutdown waits for ever.
 *
 * `guardDecoding` wraps the context's (internal, version-pinned) `_decodeTokens` so that a failing
 * mapper yields -1, node-llama-cpp's own "no token" value: the decode completes normally (the
 * sequence's token bookkeeping stays in step with its KV cache, so the slot can be reused), the
 * generator throws "Failed to sample next token" with its locks released, and the batch loop goes
 * on with the other items. The sampler's own error is kept per sequence for
 * {@link takeSamplingFailure}, so the request can say what went wrong.
 */
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

type LogitDataMapper = (batchLogitIndex: number, tokenIndex: number) => unknown;
type DecodeTokens = (item: { readonly sequenceId: number }, mapper: LogitDataMapper) => Promise<unknown>;

interface ContextInternals {
  _decodeTokens?: DecodeTokens;
}

/** What a failed sampling step yields instead of a token (node-llama-cpp's "no token"). */
export const FAILED_SAMPLE = -1;

/** Per guarded context: sequence id → the error of its last failed sampling step. */
const failures = new WeakMap<LlamaContext, Map<number, unknown>>();

/** Installs the guard on `context` (once); throws at load if node-llama-cpp's internals changed. */
export function guardDecoding(context: LlamaContext): void {
  if (failures.has(context)) return;
  const internals = context as unknown as ContextInternals;
  const original = internals._decodeTokens;
  if (typeof original !== "function") throw new Error("node-llama-cpp's LlamaContext internals changed: sampling failures could not be contained");
  const decode = original.bind(context);
  const bySequence = new Map<number, unknown>();
  failures.set(context, bySequence);
  internals._decodeTokens = (item, mapper) => {
    const fail = (error: unknown): number => {
      bySequence.set(item.sequenceId, error);
      return FAILED_SAMPLE;
    };
    const safeMapper: LogitDataMapper = (batchLogitIndex, tokenIndex) => {
      try {
        const mapped = mapper(batchLogitIndex, tokenIndex);
        return mapped instanceof Promise ? mapped.catch(fail) : mapped;
      } catch (error) {
        return fail(error);
      }
    };
    return decode(item, safeMapper);
  };
}

/**
 * The error of `sequence`'s last failed sampling step, if any (and forgets it). Call when its
 * generation failed, to tell a sampler failure from other errors.
 */
export function takeSamplingFailure(sequence: LlamaContextSequence): { readonly error: unknown } | undefined {
  const bySequence = failures.get(sequence.context);
  const id = (sequence as unknown as { readonly _sequenceId?: unknown })._sequenceId;
  if (bySequence === undefined || typeof id !== "number" || !bySequence.has(id)) return undefined;
  const error = bySequence.get(id);
  bySequence.delete(id);
  return { error };
}
