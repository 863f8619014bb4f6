/**
 * The phases of `npm run fuzz` (bench/fuzz.ts) after the hostile bodies (test/support/
 * hostile-bodies.ts), each against a running Parley: HTTP-level abuse, mid-stream disconnects, a
 * burst beyond the slots, and a soak of mixed traffic with the event loop's lag read from /metrics
 * every window; and the watch over /health and the lag through the run. Each returns what the
 * report prints.
 */
import { scrapeMetrics } from "../test/support/metrics.ts";
import { rawRequest } from "../test/support/raw-http.ts";

const MODEL = "parley-test-model";

function post(url: string, body: string, signal: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, signal });
}

/**
 * Every /metrics scrape of the run goes through here: Node's lag histogram resets at each one, so
 * the longest stall since the last lap is the maximum over all of them.
 */
let stallSinceLap = 0;
async function scrape(url: string): Promise<Map<string, number>> {
  const samples = await scrapeMetrics(url);
  stallSinceLap = Math.max(stallSinceLap, (samples.get("nodejs_eventloop_lag_max_seconds") ?? 0) * 1000);
  return samples;
}

export interface AbuseCase {
  readonly name: string;
  readonly status: number;
  readonly envelope: boolean;
  readonly closedAfterMs: number;
}

/** HTTP-level abuse: what Node's parser rejects, slow clients, compressed bodies. */
export async function httpAbuse(url: string): Promise<AbuseCase[]> {
  const post = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
  const cases: [string, (string | Buffer)[], number?][] = [
    ["bad chunking", [`${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`]],
    ["duplicate Content-Length", [`${post}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`]],
    ["Content-Length + Transfer-Encoding", [`${post}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`]],
    ["bare LF", ["GET /health HTTP/1.1\nHost: x\n\n"]],
    ["unknown method", ["FROB /health HTTP/1.1\r\nHost: x\r\n\r\n"]],
    ["headers over 16 KiB", [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`]],
    ["gzip-labelled body", [`${post}Content-Encoding: gzip\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`]],
    ["slow headers (1 byte / s)", [..."GET /health HTTP/1.1\r\nHost: x\r\n\r\n"], 1000],
    ["slow body (1 byte / s)", [`${post}Content-Length: 100\r\n\r\n`, ..." ".repeat(100)], 1000],
  ];
  const out: AbuseCase[] = [];
  for (const [name, chunks, gapMs] of cases) {
    const res = await rawRequest(url, chunks, { timeoutMs: 90_000, ...(gapMs === undefined ? {} : { gapMs }) });
    let envelope = false;
    try {
      const parsed = JSON.parse(res.body) as { error?: { message?: unknown; type?: unknown } };
      envelope = typeof parsed.error?.message === "string" && typeof parsed.error.type === "string";
    } catch {
      envelope = false;
    }
    out.push({ name, status: res.status, envelope, closedAfterMs: res.closedAfterMs });
  }
  return out;
}

/** Streams abandoned after their first content chunk, and plain requests abandoned mid-way. */
export async function disconnects(url: string, count: number): Promise<{ abandoned: number; activeAfterMs: number }> {
  const long = { model: MODEL, messages: [{ role: "user", content: "Go on" }], max_tokens: 2000, ignore_eos: true };
  let abandoned = 0;
  const one = async (i: number) => {
    const controller = new AbortController();
    const stream = i % 2 === 0;
    // A stream is abandoned after its first chunk, a plain request (which answers only at its end) after a while.
    const response = post(url, JSON.stringify({ ...long, stream }), controller.signal).then(async (res) => {
      if (stream) await res.body?.getReader().read();
    });
    const started = stream ? response : new Promise((resolve) => setTimeout(resolve, 20 + (i % 7) * 15));
    await started.catch(() => undefined);
    controller.abort();
    await response.catch(() => undefined);
    abandoned++;
  };
  for (let i = 0; i < count; i += 8) await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, j) => one(i + j)));
  return { abandoned, activeAfterMs: await untilIdle(url) };
}

/** Milliseconds until no slot is in use and nothing waits (NaN if not within 30 s). */
export async function untilIdle(url: string): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 30_000) {
    const m = await scrape(url);
    if ((m.get("parley_active_sequences") ?? 1) === 0 && (m.get("parley_queue_length") ?? 1) === 0) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return NaN;
}

/** `count` requests at once, beyond the slots and the queue. */
export async function burst(url: string, count: number): Promise<{ byStatus: ReadonlyMap<number, number>; activeAfterMs: number }> {
  const byStatus = new Map<number, number>();
  const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 16 });
  await Promise.all(
    Array.from({ length: count }, async () => {
      const res = await post(url, body, AbortSignal.timeout(120_000)).catch(() => undefined);
      await res?.text();
      const status = res?.status ?? 0;
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    }),
  );
  return { byStatus, activeAfterMs: await untilIdle(url) };
}

export interface SoakWindow {
  readonly second: number;
  readonly requests: number;
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
  readonly rssMb: number;
}

/** Mixed valid traffic for `seconds` at `concurrency`, the event loop's lag read every `windowSeconds`. */
export async function soak(url: string, seconds: number, concurrency: number, windowSeconds: number): Promise<SoakWindow[]> {
  const kinds = [
    { max_tokens: 32 },
    { max_tokens: 16, stream: true },
    { max_tokens: 24, response_format: { type: "json_object" } },
    { max_tokens: 8, n: 3 },
    { max_tokens: 16, logprobs: true, top_logprobs: 5 },
    { max_tokens: 12, guided_regex: "[a-z]{1,8}( [a-z]{1,8}){0,3}" },
    { max_tokens: 16, tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { x: { type: "integer" } } } } }] },
  ];
  const end = performance.now() + seconds * 1000;
  let requests = 0;
  const client = async (c: number) => {
    for (let i = c; performance.now() < end; i += concurrency) {
      const body = { model: MODEL, messages: [{ role: "user", content: `question ${i}` }], ...kinds[i % kinds.length] };
      const res = await post(url, JSON.stringify(body), AbortSignal.timeout(60_000)).catch(() => undefined);
      await res?.text();
      requests++;
    }
  };
  const windows: SoakWindow[] = [];
  await scrape(url); // resets the lag histogram: the first window starts now
  const sampler = (async () => {
    for (let second = windowSeconds; second <= seconds; second += windowSeconds) {
      await new Promise((resolve) => setTimeout(resolve, windowSeconds * 1000));
      const before = requests;
      const m = await scrape(url);
      windows.push({
        second,
        requests: before,
        lagP99Ms: (m.get("nodejs_eventloop_lag_p99_seconds") ?? NaN) * 1000,
        lagMaxMs: (m.get("nodejs_eventloop_lag_max_seconds") ?? NaN) * 1000,
        rssMb: (m.get("process_resident_memory_bytes") ?? NaN) / 2 ** 20,
      });
    }
  })();
  await Promise.all(Array.from({ length: concurrency }, (_, c) => client(c)));
  await sampler;
  return windows;
}

/**
 * Watches the server through the run: polls /health every 100 ms, and `lap()` returns, since the
 * previous lap, the slowest /health answer (queueing included) and the event loop's longest
 * stall (from /metrics, whose lag histogram resets at each scrape).
 */
export function serverWatch(url: string): { lap(): Promise<{ healthMs: number; stallMs: number }>; stop(): Promise<void> } {
  let running = true;
  let slowest = 0;
  const loop = (async () => {
    while (running) {
      const start = performance.now();
      await fetch(`${url}/health`, { signal: AbortSignal.timeout(60_000) }).then(
        (r) => r.text(),
        () => undefined,
      );
      slowest = Math.max(slowest, performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async lap() {
      await scrape(url);
      const lap = { healthMs: slowest, stallMs: stallSinceLap };
      slowest = 0;
      stallSinceLap = 0;
      return lap;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
