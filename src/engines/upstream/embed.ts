/**
 * `/v1/embeddings` for an upstream embedding model (`kind: embedding`): the request is POSTed to
 * a replica's `/embeddings` under the model's upstream name, through the same queue
 * (`maxConcurrent`) and replica choice as chat requests (least outstanding; connection errors and
 * 5xx eject the replica and retry on another; a 4xx keeps its status and message). Always asked
 * for floats; the HTTP layer writes them as the client asked. Its answer is read leniently: each
 * item's `embedding` as floats or base64, in `index` order, and `usage.prompt_tokens` (0 when the
 * upstream sends none).
 */
import type { Dispatcher } from "undici";
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from "../../config/defaults.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { EmbedRequest, EmbedResult } from "../types.ts";
import type { UpstreamModelOptions } from "./options.ts";
import type { ReplicaSet, Replica } from "./replicas.ts";
import { parseJson, readBounded } from "./response-events.ts";
import type { UpstreamQueue } from "./upstream-queue.ts";

/** What the engine lends: its settings, replicas, queue, and its way of opening a request on a replica. */
export interface UpstreamEmbedContext {
  readonly options: UpstreamModelOptions;
  readonly replicas: ReplicaSet;
  readonly queue: UpstreamQueue;
  /**
   * POSTs `payload` to `path` on the replicas (least outstanding first, each once: connection
   * errors and 5xx eject the replica and try another; a 4xx is thrown with its status, message and
   * Retry-After) until one answers 200; `settle` ends the claim on that replica.
   */
  readonly open: (path: string, payload: string, signal: AbortSignal) => Promise<{ readonly replica: Replica; readonly response: Dispatcher.ResponseData; readonly settle: () => void }>;
}

/** Largest embeddings answer accepted: 256 MiB (2048 inputs × 4096 floats as JSON fit). */
const MAX_EMBEDDINGS_BYTES = 256 * 1024 * 1024;

export async function forwardEmbeddings(ctx: UpstreamEmbedContext, request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
  const { options } = ctx;
  const body = JSON.stringify({
    model: options.model,
    input: request.inputs,
    encoding_format: "float",
    ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
    ...(request.user === undefined ? {} : { user: request.user }),
  });
  const release = await ctx.queue.acquire(signal);
  const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = AbortSignal.any([signal, timeout]);
  try {
    const text = await post(ctx, body, stop);
    return readEmbeddings(parseJson(text), request.inputs.length, options.id);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (timeout.aborted) throw new ParleyError("unavailable", `The upstream serving \`${options.id}\` took longer than ${timeoutMs} ms.`);
    throw error;
  } finally {
    release();
  }
}

/** The body of the first replica that answers 200 (the engine's replica choice and retries: `open`). */
async function post(ctx: UpstreamEmbedContext, body: string, signal: AbortSignal): Promise<string> {
  const opened = await ctx.open("/embeddings", body, signal);
  try {
    const text = await readBounded(opened.response, MAX_EMBEDDINGS_BYTES);
    if (text === undefined) throw malformed(ctx.options.id, `the answer is longer than ${MAX_EMBEDDINGS_BYTES} bytes`);
    ctx.replicas.succeeded(opened.replica);
    return text;
  } finally {
    opened.settle();
  }
}

/** The vectors (in `index` order) and token count of an OpenAI embeddings answer; 502 when it is not one. */
export function readEmbeddings(json: unknown, expected: number, modelId: string): EmbedResult {
  const answer = json as { data?: unknown; usage?: { prompt_tokens?: unknown } } | undefined;
  if (!Array.isArray(answer?.data)) throw malformed(modelId, "it has no `data` list");
  const vectors: Float32Array[] = [];
  for (const [position, item] of (answer.data as unknown[]).entries()) {
    const { index, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
    const at = typeof index === "number" && Number.isInteger(index) ? index : position;
    const vector = toVector(embedding);
    if (vector === undefined || at < 0 || at >= expected || vectors[at] !== undefined) throw malformed(modelId, `its item ${position} is not an embedding of one of the ${expected} inputs`);
    vectors[at] = vector;
  }
  if (vectors.length !== expected || vectors.includes(undefined as never)) throw malformed(modelId, `it holds ${answer.data.length} embeddings for ${expected} inputs`);
  const tokens = answer.usage?.prompt_tokens;
  return { vectors, promptTokens: typeof tokens === "number" && Number.isInteger(tokens) && tokens >= 0 ? tokens : 0 };
}

function toVector(embedding: unknown): Float32Array | undefined {
  if (Array.isArray(embedding)) return embedding.every((x) => typeof x === "number") ? Float32Array.from(embedding as number[]) : undefined;
  if (typeof embedding !== "string") return undefined;
  const bytes = Buffer.from(embedding, "base64");
  if (bytes.length % 4 !== 0) return undefined;
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

function malformed(modelId: string, why: string): ParleyError {
  return new ParleyError("internal", `The upstream serving \`${modelId}\` sent a malformed embeddings response: ${why}.`, { code: "upstream_malformed_response" });
}
