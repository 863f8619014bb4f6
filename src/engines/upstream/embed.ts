/**
 * `/v1/embeddings` for an upstream embedding model (`kind: embedding`): the request is POSTed to
 * a replica's `/embeddings` under the model's upstream name, through the same queue
 * (`maxConcurrent`) and replica choice as chat requests (least outstanding; connection errors and
 * 5xx eject the replica and retry on another; a 4xx keeps its status and message). Always asked
 * for floats; the HTTP layer writes them as the client asked. Its answer is read leniently: each
 * item's `embedding` as floats or base64, in `index` order, and `usage.prompt_tokens` (0 when the
 * upstream sends none).
 */
import { request as undiciRequest, type Agent } from "undici";
import { DEFAULT_RETRY_AFTER_S, DEFAULT_UPSTREAM_TIMEOUT_MS } from "../../config/defaults.ts";
import { ParleyError } from "../../domain/errors.ts";
import type { EmbedRequest, EmbedResult } from "../types.ts";
import { errorFromEnvelope } from "./chunk-events.ts";
import type { UpstreamModelOptions } from "./options.ts";
import type { ReplicaSet, Replica } from "./replicas.ts";
import { describe, MAX_ERROR_BYTES, parseJson, readBounded } from "./response-events.ts";
import type { UpstreamQueue } from "./upstream-queue.ts";

/** What the engine lends: its settings, connection pool, replicas, queue and request headers. */
export interface UpstreamEmbedContext {
  readonly options: UpstreamModelOptions;
  readonly agent: Agent;
  readonly replicas: ReplicaSet;
  readonly queue: UpstreamQueue;
  readonly headers: Readonly<Record<string, string>>;
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

/** Tries replicas (least outstanding first, each once) until one answers 200; its body. */
async function post(ctx: UpstreamEmbedContext, body: string, signal: AbortSignal): Promise<string> {
  const tried = new Set<Replica>();
  let lastProblem = "no replica was tried";
  for (;;) {
    const replica = ctx.replicas.pick(tried);
    if (replica === undefined) {
      throw new ParleyError("unavailable", `No replica of the upstream serving \`${ctx.options.id}\` could take the request (last: ${lastProblem}).`, { retryAfter: DEFAULT_RETRY_AFTER_S });
    }
    tried.add(replica);
    replica.outstanding++;
    try {
      const response = await undiciRequest(`${replica.baseUrl}/embeddings`, { dispatcher: ctx.agent, method: "POST", headers: ctx.headers, body, signal });
      if (response.statusCode === 200) {
        const text = await readBounded(response, MAX_EMBEDDINGS_BYTES);
        if (text === undefined) throw malformed(ctx.options.id, `the answer is longer than ${MAX_EMBEDDINGS_BYTES} bytes`);
        ctx.replicas.succeeded(replica);
        return text;
      }
      const text = (await readBounded(response, MAX_ERROR_BYTES).catch(() => "")) ?? "";
      if (response.statusCode >= 500) {
        ctx.replicas.failed(replica);
        lastProblem = `replica ${ctx.replicas.replicas.indexOf(replica) + 1}: HTTP ${response.statusCode}`;
        continue;
      }
      throw errorFromEnvelope(response.statusCode, parseJson(text), ctx.options.id);
    } catch (error) {
      if (error instanceof ParleyError || signal.aborted) throw error;
      ctx.replicas.failed(replica);
      lastProblem = `replica ${ctx.replicas.replicas.indexOf(replica) + 1}: ${describe(error)}`;
    } finally {
      replica.outstanding--;
    }
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
