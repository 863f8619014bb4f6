/**
 * One embedding request on a loaded embedding model (embed-host.ts): every input is tokenized and
 * checked first (token ids inside the vocabulary, the input within the context: else a 400 naming
 * `input[i]`, nothing truncated), then the inputs are spread over the host's contexts (a
 * SequencePool of them: the queue rules of chat slots, 429 when full), each evaluated once, and
 * each vector is cut to `dimensions` (when asked) and scaled to unit length (L2), as
 * sentence-embedding models are used and as llama-server answers `/v1/embeddings`.
 */
import { setMaxListeners } from "node:events";
import type { LlamaEmbeddingContext, Token } from "node-llama-cpp";
import { ParleyError } from "../../domain/errors.ts";
import type { EmbedRequest, EmbedResult } from "../types.ts";
import type { EmbedHost } from "./embed-host.ts";
import type { SequencePool } from "./sequence-pool.ts";
import { checkTokenIds, tokenizeText, type Tokenizers } from "./prompt.ts";

/** An input as the model reads it: its tokens (special tokens not yet added) and how many it evaluates. */
interface PreparedInput {
  readonly tokens: Token[];
  /** With the BOS/EOS the model adds: what a context evaluates, and what usage counts. */
  readonly length: number;
}

/** Tokens and lengths of every input; throws the first input's 400 that cannot be embedded. */
export async function prepareInputs(host: EmbedHost, inputs: EmbedRequest["inputs"], tokenizers: Tokenizers): Promise<PreparedInput[]> {
  const measure = host.contexts[0];
  if (measure === undefined) throw new Error("an embedding host without contexts");
  const prepared: PreparedInput[] = [];
  for (const [i, input] of inputs.entries()) {
    const field = `input[${i}]`;
    if (typeof input !== "string") checkTokenIds(input, host.vocabularySize, field);
    const tokens = typeof input === "string" ? await tokenizeText(host, input, tokenizers, field) : (input.slice() as Token[]);
    const length = measure.calculateInputLength(tokens);
    if (length >= host.contextSize) {
      throw new ParleyError(
        "context_length_exceeded",
        `${field} is ${length} tokens long (special tokens included), and this model embeds at most ${host.contextSize - 1} tokens per input. Shorten or split it: inputs are never truncated.`,
        { param: field, code: "context_length_exceeded" },
      );
    }
    prepared.push({ tokens, length });
  }
  return prepared;
}

/**
 * Embeds prepared inputs, each on the next free context of `pool`; resolves once all are done,
 * in input order. An aborted request stops taking contexts (an evaluation already running ends first).
 */
export async function embedPrepared(pool: SequencePool<LlamaEmbeddingContext>, inputs: readonly PreparedInput[], dimensions: number | undefined, signal: AbortSignal): Promise<EmbedResult> {
  const claim = pool.admit();
  // Aborted by the client, or by the first input that fails (nobody reads the others' vectors).
  const failing = new AbortController();
  const stop = AbortSignal.any([signal, failing.signal]);
  // One listener per input waiting for a context: a request may hold 2048.
  setMaxListeners(0, stop);
  try {
    // Settled, all of them: a context is given back only once its evaluation has ended.
    const settled = await Promise.allSettled(
      inputs.map(async ({ tokens }) => {
        const context = await pool.acquire(claim, stop);
        try {
          const { vector } = await context.getEmbeddingFor(tokens);
          return unitVector(vector, dimensions);
        } catch (error) {
          failing.abort(error);
          throw error;
        } finally {
          pool.release(context);
        }
      }),
    );
    signal.throwIfAborted();
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const vectors = settled.map((s) => (s as PromiseFulfilledResult<Float32Array>).value);
    return { vectors, promptTokens: inputs.reduce((sum, input) => sum + input.length, 0) };
  } finally {
    pool.end(claim);
  }
}

/**
 * The first `dimensions` components (all without), scaled to unit L2 norm, as float32. A zero
 * vector stays zero. Computed in double precision, rounded once.
 */
export function unitVector(vector: readonly number[], dimensions?: number): Float32Array {
  const kept = dimensions === undefined ? vector : vector.slice(0, dimensions);
  let sum = 0;
  for (const x of kept) sum += x * x;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(kept.length);
  for (let i = 0; i < kept.length; i++) out[i] = norm === 0 ? 0 : (kept[i] ?? 0) / norm;
  return out;
}
