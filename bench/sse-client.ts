/**
 * The benchmark's HTTP client, on undici: one chat-completion request per call, streamed (SSE)
 * or not, timed from the moment it is sent. A streamed request records when each content-bearing
 * chunk arrived (a delta with non-empty `content` or `reasoning_content`), so time to first token
 * and the gaps between tokens come from the wire as a client sees them. Token counts come from
 * the final `usage` (ask with `stream_options.include_usage`); without one, each content chunk
 * counts as one token.
 */
import { Pool } from "undici";

/** An OpenAI-compatible server under test. */
export interface Target {
  /** Label in the tables, e.g. "parley" or "peer". */
  readonly name: string;
  /** Server root, e.g. http://127.0.0.1:8080 (requests go to `<base>/v1/chat/completions`). */
  readonly baseUrl: string;
  /** The `model` sent in each request. */
  readonly model: string;
  readonly pool: Pool;
}

export interface ClientOptions {
  /** Connections kept open to the server (default 64: more than any concurrency level needs). */
  readonly connections?: number;
  /** Milliseconds a request may wait for headers, and then between body chunks (default 600000). */
  readonly timeoutMs?: number;
}

/** Opens a keep-alive connection pool to `baseUrl` (a trailing `/` or `/v1` is dropped). */
export function openTarget(name: string, baseUrl: string, model: string, options: ClientOptions = {}): Target {
  const root = normalizeBaseUrl(baseUrl);
  const timeout = options.timeoutMs ?? 600_000;
  const pool = new Pool(new URL(root).origin, { connections: options.connections ?? 64, headersTimeout: timeout, bodyTimeout: timeout });
  return { name, baseUrl: root, model, pool };
}

export function normalizeBaseUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/** The request path of `path` (e.g. "/v1/models") under the target's base URL, and its origin. */
function route(target: Pick<Target, "baseUrl">, path: string): { origin: string; path: string } {
  const base = new URL(target.baseUrl);
  return { origin: base.origin, path: `${base.pathname.replace(/\/$/, "")}${path}` };
}

export interface Usage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null;
}

export interface RequestResult {
  /** 200 and a complete response (`[DONE]` for a stream). */
  readonly ok: boolean;
  readonly error?: string;
  /** performance.now() when the request was sent. */
  readonly sentAt: number;
  /** Milliseconds from sending to the first content-bearing chunk (undefined: none came). */
  readonly ttftMs: number | undefined;
  /** Milliseconds from sending to the end of the response. */
  readonly e2eMs: number;
  /** Milliseconds between consecutive content-bearing chunks. */
  readonly gapsMs: readonly number[];
  /** Content-bearing chunks received. */
  readonly contentChunks: number;
  /** `usage.completion_tokens`, else the content chunks. */
  readonly completionTokens: number;
  /** Whether completionTokens came from `usage`. */
  readonly tokensFromUsage: boolean;
  readonly promptTokens: number | undefined;
  readonly cachedTokens: number | undefined;
  /** The first choice's `content`, concatenated (streamed requests; "" when none came). */
  readonly content?: string;
}

interface ChunkShape {
  readonly choices?: readonly { readonly delta?: { readonly content?: unknown; readonly reasoning_content?: unknown } }[];
  readonly usage?: Usage | null;
  readonly error?: unknown;
}

const nonEmpty = (value: unknown) => typeof value === "string" && value.length > 0;

function failed(sentAt: number, error: string): RequestResult {
  return {
    ok: false,
    error,
    sentAt,
    ttftMs: undefined,
    e2eMs: performance.now() - sentAt,
    gapsMs: [],
    contentChunks: 0,
    completionTokens: 0,
    tokensFromUsage: false,
    promptTokens: undefined,
    cachedTokens: undefined,
  };
}

async function post(target: Target, body: Record<string, unknown>, signal?: AbortSignal) {
  return target.pool.request({
    ...route(target, "/v1/chat/completions"),
    method: "POST",
    headers: { "content-type": "application/json", accept: body.stream === true ? "text/event-stream" : "application/json" },
    body: JSON.stringify({ model: target.model, ...body }),
    ...(signal === undefined ? {} : { signal }),
  });
}

/**
 * Sends one streamed request (`stream: true` and `stream_options.include_usage` are added to
 * `body`) and times its chunks. Never throws: failures come back as `ok: false`.
 */
export async function streamChat(target: Target, body: Record<string, unknown>, signal?: AbortSignal): Promise<RequestResult> {
  const sentAt = performance.now();
  try {
    const response = await post(target, { ...body, stream: true, stream_options: { include_usage: true } }, signal);
    if (response.statusCode !== 200) return failed(sentAt, `HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 200)}`);
    const decoder = new TextDecoder();
    let buffer = "";
    let ttftMs: number | undefined;
    let lastContentAt: number | undefined;
    const gapsMs: number[] = [];
    let contentChunks = 0;
    let content = "";
    let usage: Usage | undefined;
    let done = false;
    let error: string | undefined;
    for await (const bytes of response.body) {
      const now = performance.now();
      buffer += decoder.decode(bytes as Uint8Array, { stream: true }).replaceAll("\r\n", "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data === "") continue;
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data) as ChunkShape;
        if (chunk.error !== undefined) error = `stream error: ${JSON.stringify(chunk.error).slice(0, 200)}`;
        if (chunk.usage) usage = chunk.usage;
        const delta = chunk.choices?.[0]?.delta;
        if (typeof delta?.content === "string") content += delta.content;
        if (delta !== undefined && (nonEmpty(delta.content) || nonEmpty(delta.reasoning_content))) {
          contentChunks++;
          if (ttftMs === undefined) ttftMs = now - sentAt;
          if (lastContentAt !== undefined) gapsMs.push(now - lastContentAt);
          lastContentAt = now;
        }
      }
    }
    const e2eMs = performance.now() - sentAt;
    const fromUsage = typeof usage?.completion_tokens === "number";
    return {
      ok: done && error === undefined,
      ...(error !== undefined ? { error } : done ? {} : { error: "stream ended without [DONE]" }),
      sentAt,
      ttftMs,
      e2eMs,
      gapsMs,
      contentChunks,
      completionTokens: fromUsage ? (usage?.completion_tokens ?? 0) : contentChunks,
      tokensFromUsage: fromUsage,
      promptTokens: usage?.prompt_tokens,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? undefined,
      content,
    };
  } catch (error) {
    return failed(sentAt, error instanceof Error ? error.message : String(error));
  }
}

/** Sends one non-streamed request (`stream: false`); TTFT is the whole latency. Never throws. */
export async function plainChat(target: Target, body: Record<string, unknown>, signal?: AbortSignal): Promise<RequestResult> {
  const sentAt = performance.now();
  try {
    const response = await post(target, { ...body, stream: false }, signal);
    const text = await response.body.text();
    const e2eMs = performance.now() - sentAt;
    if (response.statusCode !== 200) return failed(sentAt, `HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
    const usage = (JSON.parse(text) as { usage?: Usage }).usage;
    return {
      ok: true,
      sentAt,
      ttftMs: e2eMs,
      e2eMs,
      gapsMs: [],
      contentChunks: 0,
      completionTokens: usage?.completion_tokens ?? 0,
      tokensFromUsage: typeof usage?.completion_tokens === "number",
      promptTokens: usage?.prompt_tokens,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? undefined,
    };
  } catch (error) {
    return failed(sentAt, error instanceof Error ? error.message : String(error));
  }
}

/** The id of the first model `GET /v1/models` lists (undefined when it lists none or fails). */
export async function firstModelId(target: Pick<Target, "baseUrl" | "pool">): Promise<string | undefined> {
  try {
    const response = await target.pool.request({ ...route(target, "/v1/models"), method: "GET" });
    const page = (await response.body.json()) as { data?: { id?: unknown }[] };
    const id = page.data?.[0]?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
