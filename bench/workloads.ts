/**
 * The benchmark's workloads, each run against one target in a closed loop (`concurrency` workers,
 * each sending its next request as soon as its last one ended):
 * - throughput: streamed, greedy, `ignore_eos`, fixed `max_tokens` → tok/s, TTFT, ITL, E2E;
 * - short: `max_tokens: 1`, not streamed → requests/s (the per-request overhead);
 * - shared prefix: one long system prompt, different short questions → TTFT and cached tokens,
 *   against the same prompts made unique (no prefix reuse possible).
 */
import { longSystemPrompt, nextRun, prefixChat, shortChat } from "./prompts.ts";
import { plainChat, streamChat, type RequestResult, type Target } from "./sse-client.ts";
import { mean, percentile, sum } from "./stats.ts";

/** How long a level runs: a number of requests, or (when set) a duration in seconds. */
export interface RunLength {
  readonly requests: number;
  /** Seconds; when set, workers start new requests until it has passed (`requests` is ignored). */
  readonly durationSeconds?: number;
}

export interface Loop {
  readonly results: RequestResult[];
  /** Milliseconds from the first request sent to the last one ended. */
  readonly wallMs: number;
}

/** Runs `send(i)` for i = 0, 1, … with `concurrency` in flight until `length` is reached. */
export async function closedLoop(concurrency: number, length: RunLength, send: (i: number) => Promise<RequestResult>): Promise<Loop> {
  const results: RequestResult[] = [];
  const start = performance.now();
  const deadline = length.durationSeconds === undefined ? Infinity : start + length.durationSeconds * 1000;
  const limit = length.durationSeconds === undefined ? length.requests : Infinity;
  let next = 0;
  const worker = async () => {
    while (next < limit && performance.now() < deadline) {
      results.push(await send(next++));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { results, wallMs: performance.now() - start };
}

/** Fields every request of a run carries besides the workload's own (e.g. a logit_bias; default none). */
export type ExtraBody = Readonly<Record<string, unknown>>;

export interface ThroughputOptions {
  readonly concurrency: number;
  readonly maxTokens: number;
  readonly length: RunLength;
  readonly extra?: ExtraBody;
}

export interface ThroughputSummary {
  readonly target: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  /** Requests whose completion tokens differ from max_tokens (ignore_eos not honoured?). */
  readonly offLength: number;
  readonly firstError: string | undefined;
  readonly wallSeconds: number;
  /** Completion tokens of successful requests per wall second. */
  readonly tokensPerSecond: number;
  readonly requestsPerSecond: number;
  readonly ttftP50: number;
  readonly ttftP95: number;
  readonly itlP50: number;
  readonly itlP95: number;
  readonly e2eP50: number;
  /** Whether every request's token count came from `usage` (else: content chunks were counted). */
  readonly tokensFromUsage: boolean;
  /** Mean completion tokens per content chunk (1 when every chunk carries one token). */
  readonly tokensPerChunk: number;
}

function greedy(maxTokens: number, extra: ExtraBody = {}): Record<string, unknown> {
  return { ...extra, max_tokens: maxTokens, temperature: 0, ignore_eos: true };
}

/** The warm-up: one request like the level's, not measured. */
export async function warmUp(target: Target, maxTokens: number, extra?: ExtraBody): Promise<RequestResult> {
  return streamChat(target, { messages: shortChat(-1), ...greedy(maxTokens, extra) });
}

export async function runThroughput(target: Target, options: ThroughputOptions): Promise<ThroughputSummary> {
  const run = nextRun();
  const loop = await closedLoop(options.concurrency, options.length, (i) => streamChat(target, { messages: shortChat(i, run), ...greedy(options.maxTokens, options.extra) }));
  const ok = loop.results.filter((r) => r.ok);
  const tokens = sum(ok.map((r) => r.completionTokens));
  const chunks = sum(ok.map((r) => r.contentChunks));
  return {
    target: target.name,
    concurrency: options.concurrency,
    requests: loop.results.length,
    errors: loop.results.length - ok.length,
    offLength: ok.filter((r) => r.completionTokens !== options.maxTokens).length,
    firstError: loop.results.find((r) => !r.ok)?.error,
    wallSeconds: loop.wallMs / 1000,
    tokensPerSecond: tokens / (loop.wallMs / 1000),
    requestsPerSecond: ok.length / (loop.wallMs / 1000),
    ttftP50: percentile(
      ok.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs])),
      50,
    ),
    ttftP95: percentile(
      ok.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs])),
      95,
    ),
    itlP50: percentile(
      ok.flatMap((r) => r.gapsMs),
      50,
    ),
    itlP95: percentile(
      ok.flatMap((r) => r.gapsMs),
      95,
    ),
    e2eP50: percentile(
      ok.map((r) => r.e2eMs),
      50,
    ),
    tokensFromUsage: ok.every((r) => r.tokensFromUsage),
    tokensPerChunk: chunks > 0 ? tokens / chunks : NaN,
  };
}

export interface ShortSummary {
  readonly target: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly requestsPerSecond: number;
  readonly latencyP50: number;
  readonly latencyP95: number;
}

/** `max_tokens: 1`, not streamed: how many whole requests per second the server turns around. */
export async function runShort(target: Target, concurrency: number, length: RunLength, extra?: ExtraBody): Promise<ShortSummary> {
  const run = nextRun();
  const loop = await closedLoop(concurrency, length, (i) => plainChat(target, { messages: shortChat(i, run), ...greedy(1, extra) }));
  const ok = loop.results.filter((r) => r.ok);
  return {
    target: target.name,
    concurrency,
    requests: loop.results.length,
    errors: loop.results.length - ok.length,
    firstError: loop.results.find((r) => !r.ok)?.error,
    requestsPerSecond: ok.length / (loop.wallMs / 1000),
    latencyP50: percentile(
      ok.map((r) => r.e2eMs),
      50,
    ),
    latencyP95: percentile(
      ok.map((r) => r.e2eMs),
      95,
    ),
  };
}

export interface PrefixOptions {
  readonly concurrency: number;
  readonly requests: number;
  /** Words in the long system prompt. */
  readonly words: number;
  readonly maxTokens: number;
  readonly extra?: ExtraBody;
}

export interface PrefixSummary {
  readonly target: string;
  readonly workload: "shared" | "unique";
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly promptTokens: number;
  /** TTFT of the first shared-prefix request (nothing cached yet); NaN for "unique". */
  readonly coldTtft: number;
  readonly ttftP50: number;
  readonly ttftP95: number;
  /** Mean `usage.prompt_tokens_details.cached_tokens` (NaN when the server reports none). */
  readonly cachedMean: number;
  /** cachedMean / prompt tokens. */
  readonly cachedShare: number;
}

/**
 * The shared-prefix workload: `requests` chats with one long system prompt (after one cold request
 * that puts it in the cache), then `requests` chats whose system prompts are each made unique.
 */
export async function runPrefix(target: Target, options: PrefixOptions): Promise<PrefixSummary[]> {
  const system = longSystemPrompt(options.words);
  const body = (i: number, unique: boolean) => ({ messages: prefixChat(system, i, unique), ...greedy(options.maxTokens, options.extra) });
  const cold = await streamChat(target, body(-1, false));
  const length = { requests: options.requests };
  const shared = await closedLoop(options.concurrency, length, (i) => streamChat(target, body(i, false)));
  const unique = await closedLoop(options.concurrency, length, (i) => streamChat(target, body(i, true)));
  const summarize = (workload: "shared" | "unique", loop: Loop, coldTtft: number): PrefixSummary => {
    const ok = loop.results.filter((r) => r.ok);
    const cached = ok.flatMap((r) => (r.cachedTokens === undefined ? [] : [r.cachedTokens]));
    const promptTokens = mean(ok.flatMap((r) => (r.promptTokens === undefined ? [] : [r.promptTokens])));
    return {
      target: target.name,
      workload,
      requests: loop.results.length,
      errors: loop.results.length - ok.length,
      firstError: loop.results.find((r) => !r.ok)?.error,
      promptTokens,
      coldTtft,
      ttftP50: percentile(
        ok.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs])),
        50,
      ),
      ttftP95: percentile(
        ok.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs])),
        95,
      ),
      cachedMean: mean(cached),
      cachedShare: mean(cached) / promptTokens,
    };
  };
  return [summarize("shared", shared, cold.ok ? (cold.ttftMs ?? NaN) : NaN), summarize("unique", unique, NaN)];
}
