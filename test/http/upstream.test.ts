/**
 * Upstream engines over real HTTP on 127.0.0.1: a front Parley whose router holds an
 * `UpstreamEngine` pointing at (a) another Parley (pass-through equality, re-framing) and (b) tiny
 * scripted fakes for fault injection (dying mid-stream, 500s, slow, malformed SSE, 400s).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.ts";
import { UpstreamEngine } from "../../src/engines/upstream/engine.ts";
import type { UpstreamModelOptions } from "../../src/engines/upstream/options.ts";
import { Router } from "../../src/router/router.ts";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

const FRONT = "front-model";

interface Front {
  readonly url: string;
  readonly engine: UpstreamEngine;
  close(): Promise<void>;
}

async function startFront(options: Omit<UpstreamModelOptions, "id" | "model"> & { model?: string }): Promise<Front> {
  const engine = new UpstreamEngine({ id: FRONT, model: MODEL, dialect: "parley", ...options }, { ejectBaseMs: 5_000 });
  const app: FastifyInstance = buildApp({ router: new Router([engine]) });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    engine,
    close: async () => {
      await engine.close(0);
      await app.close();
    },
  };
}

/** The `data:` payloads of a streamed response, parsed (the last one is `[DONE]`). */
async function streamed(res: Response): Promise<unknown[]> {
  assert.equal(res.status, 200);
  const frames = parseSse(await res.text());
  assert.equal(frames.at(-1), "[DONE]");
  return frames.slice(0, -1).map((f) => JSON.parse(f) as unknown);
}

/** The fields of a chat completion these tests compare. */
type Completion = { id: string; model: string; system_fingerprint: string; choices: unknown[]; usage: { prompt_tokens_details: { cached_tokens: number } } & Record<string, unknown> };
type Chunk = { id: string; model: string; choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: unknown; error?: { message: string; code: string | null } };

describe("upstream: another Parley", () => {
  let upstream: TestServer;
  let front: Front;
  const body = { messages: [{ role: "user", content: "Tell me a story" }], temperature: 0, seed: 7, max_tokens: 12, logprobs: true, top_logprobs: 2 };

  before(async () => {
    upstream = await startTestServer();
    front = await startFront({ baseUrls: [`${upstream.url}/v1`], healthIntervalMs: 60_000 });
  });
  after(async () => {
    await front.close();
    await upstream.close();
  });

  it("non-streaming: identical content, logprobs, finish and usage; the front's model id", async () => {
    const direct = (await (await postChat(upstream.url, { ...body, model: MODEL })).json()) as Completion;
    const res = await postChat(front.url, { ...body, model: FRONT });
    assert.equal(res.status, 200);
    const via = (await res.json()) as Completion;
    assert.equal(via.model, FRONT);
    assert.notEqual(via.id, direct.id);
    assert.equal(via.system_fingerprint, front.engine.fingerprint);
    assert.deepEqual(via.choices, direct.choices);
    // The second request reuses the upstream's prefix cache: only `cached_tokens` may differ.
    const { prompt_tokens_details: viaDetails, ...viaUsage } = via.usage;
    const { prompt_tokens_details: directDetails, ...directUsage } = direct.usage;
    assert.deepEqual(viaUsage, directUsage);
    assert.ok(viaDetails.cached_tokens >= directDetails.cached_tokens, "cached_tokens is the upstream's");
  });

  it("streaming: identical chunks but for id/created/model/fingerprint, which are the front's", async () => {
    const s = { ...body, stream: true, stream_options: { include_usage: true } };
    const direct = (await streamed(await postChat(upstream.url, { ...s, model: MODEL }))) as Chunk[];
    const via = (await streamed(await postChat(front.url, { ...s, model: FRONT }))) as Chunk[];
    const ids = new Set(via.map((c) => c.id));
    assert.equal(ids.size, 1);
    assert.ok(!ids.has(direct[0]?.id ?? ""));
    assert.ok(via.every((c) => c.model === FRONT));
    // `cached_tokens` depends on the upstream's prefix cache, which the first request warmed.
    const strip = (chunks: Chunk[]) => chunks.map(({ choices, usage }) => ({ choices, usage: usage == null ? usage : { ...usage, prompt_tokens_details: undefined } }));
    assert.deepEqual(strip(via), strip(direct));
    assert.ok(
      direct.some((c) => (c.choices[0]?.delta.content ?? "") !== ""),
      "the upstream produced text",
    );
  });

  it("validation errors are Parley's own, before forwarding", async () => {
    const res = await postChat(front.url, { ...body, model: FRONT, temperature: 9 });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, "temperature");
  });
});

/** A scripted fake upstream: `/v1/models` answers 200, chat requests follow `behaviour`. */
class Fake {
  readonly server: Server;
  behaviour: (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => void = ok;
  hits = 0;
  bodies: Record<string, unknown>[] = [];
  closed = 0;

  constructor() {
    this.server = createServer((req, res) => {
      if (req.url === "/v1/models") return void res.end('{"object":"list","data":[]}');
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        this.hits++;
        const body = JSON.parse(text) as Record<string, unknown>;
        this.bodies.push(body);
        res.on("close", () => this.closed++);
        this.behaviour(req, res, body);
      });
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const chunk = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "up", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: finish }] })}\n\n`;
const usage = `data: ${JSON.stringify({ id: "up", choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\n`;

function ok(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.end(chunk("Hello") + chunk(" there", "stop") + usage + "data: [DONE]\n\n");
}

describe("upstream: fault injection with scripted fakes", () => {
  const a = new Fake();
  const b = new Fake();
  let urls: string[] = [];
  const req = { model: FRONT, messages: [{ role: "user", content: "Hi" }] };

  before(async () => {
    urls = [await a.listen(), await b.listen()];
  });
  after(async () => {
    await a.close();
    await b.close();
  });
  function reset(): void {
    for (const f of [a, b]) {
      f.behaviour = ok;
      f.hits = 0;
      f.bodies = [];
      f.closed = 0;
    }
  }

  it("dies mid-stream: error frame then [DONE]; the replica is ejected and the next request goes to the other", async () => {
    reset();
    a.behaviour = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk("Hel"));
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const front = await startFront({ baseUrls: urls, healthIntervalMs: 60_000 });
    try {
      const chunks = (await streamed(await postChat(front.url, { ...req, stream: true }))) as Chunk[];
      assert.ok(chunks.some((c) => c.choices?.[0]?.delta.content === "Hel"));
      const last = chunks.at(-1);
      assert.match(last?.error?.message ?? "", /failed mid-stream/);
      assert.equal(a.hits, 1);
      assert.deepEqual(
        front.engine.replicaStates().map((r) => r.available),
        [false, true],
      );
      const res = (await (await postChat(front.url, req)).json()) as { choices: { message: { content: string } }[] };
      assert.equal(res.choices[0]?.message.content, "Hello there");
      assert.equal(a.hits, 1);
      assert.equal(b.hits, 1);
    } finally {
      await front.close();
    }
  });

  it("500 before streaming: retried on the other replica transparently", async () => {
    reset();
    a.behaviour = (_req, res) => res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"oops"}}');
    const front = await startFront({ baseUrls: urls, healthIntervalMs: 60_000 });
    try {
      const res = await postChat(front.url, req);
      assert.equal(res.status, 200);
      const json = (await res.json()) as { choices: { message: { content: string } }[]; usage: { total_tokens: number } };
      assert.equal(json.choices[0]?.message.content, "Hello there");
      assert.equal(json.usage.total_tokens, 5);
      assert.deepEqual([a.hits, b.hits], [1, 1]);
    } finally {
      await front.close();
    }
  });

  it("every replica failing is a 503", async () => {
    reset();
    a.behaviour = b.behaviour = (_req, res) => res.writeHead(502).end();
    const front = await startFront({ baseUrls: urls, healthIntervalMs: 60_000 });
    try {
      const res = await postChat(front.url, req);
      assert.equal(res.status, 503);
      const message = ((await res.json()) as { error: { message: string } }).error.message;
      assert.match(message, /No replica/);
      assert.doesNotMatch(message, /127\.0\.0\.1|http:/, "replica addresses (and any credentials in them) stay server-side");
    } finally {
      await front.close();
    }
  });

  it("client disconnect aborts the upstream request at once", async () => {
    reset();
    a.behaviour = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk("slow"));
    };
    const front = await startFront({ baseUrls: [urls[0] ?? ""], healthIntervalMs: 60_000 });
    try {
      const controller = new AbortController();
      const res = await postChat(front.url, { ...req, stream: true }, {}, controller.signal);
      const reader = res.body?.getReader();
      assert.ok(reader);
      let seen = "";
      while (!seen.includes("slow")) seen += new TextDecoder().decode((await reader.read()).value);
      assert.equal(a.closed, 0);
      controller.abort();
      const start = Date.now();
      while (a.closed === 0 && Date.now() - start < 2_000) await new Promise((r) => setTimeout(r, 10));
      assert.equal(a.closed, 1, "the upstream request was not aborted");
      assert.equal(front.engine.replicaStates()[0]?.outstanding, 0);
    } finally {
      await front.close();
    }
  });

  it("malformed SSE: a clean error (frame + [DONE] when streaming, 500 otherwise); the replica stays in", async () => {
    reset();
    a.behaviour = (_req, res) => res.writeHead(200, { "content-type": "text/event-stream" }).end("data: {not json\n\ndata: [DONE]\n\n");
    const front = await startFront({ baseUrls: [urls[0] ?? ""], healthIntervalMs: 60_000 });
    try {
      const chunks = (await streamed(await postChat(front.url, { ...req, stream: true }))) as Chunk[];
      assert.match(chunks.at(-1)?.error?.message ?? "", /malformed/);
      const res = await postChat(front.url, req);
      assert.equal(res.status, 500);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /malformed/);
      assert.equal(front.engine.replicaStates()[0]?.available, true);
    } finally {
      await front.close();
    }
  });

  it("active health checks eject a failing replica and bring it back; isReady follows", async () => {
    reset();
    let healthy = false;
    const original = a.server.listeners("request")[0] as (req: IncomingMessage, res: ServerResponse) => void;
    a.server.removeAllListeners("request");
    a.server.on("request", (r: IncomingMessage, res: ServerResponse) => (r.url === "/v1/models" && !healthy ? void res.writeHead(503).end() : original(r, res)));
    const front = await startFront({ baseUrls: [urls[0] ?? ""], healthIntervalMs: 100 });
    try {
      const until = async (cond: () => boolean) => {
        const start = Date.now();
        while (!cond() && Date.now() - start < 3_000) await new Promise((r) => setTimeout(r, 20));
        assert.ok(cond());
      };
      await until(() => !front.engine.isReady());
      healthy = true;
      await until(() => front.engine.isReady());
      assert.equal((await postChat(front.url, req)).status, 200);
    } finally {
      await front.close();
      a.server.removeAllListeners("request");
      a.server.on("request", original);
    }
  });

  it("maxConcurrent: a second request waits for the first", async () => {
    reset();
    let release: () => void = () => undefined;
    a.behaviour = (r, res) => {
      if (a.hits === 1) release = () => ok(r, res);
      else ok(r, res);
    };
    const front = await startFront({ baseUrls: [urls[0] ?? ""], maxConcurrent: 1, healthIntervalMs: 60_000 });
    try {
      const first = postChat(front.url, req);
      while (a.hits < 1) await new Promise((r) => setTimeout(r, 10));
      const second = postChat(front.url, req);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.hits, 1, "the second request went out while the first held the only place");
      assert.deepEqual(front.engine.stats(), { queued: 1, active: 1, slots: 1 });
      release();
      assert.equal((await first).status, 200);
      assert.equal((await second).status, 200);
      assert.equal(a.hits, 2);
    } finally {
      await front.close();
    }
  });

  it("400 from the upstream: 400 to the client with the upstream's message; not retried", async () => {
    reset();
    a.behaviour = b.behaviour = (_req, res) =>
      res
        .writeHead(400, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "This model's maximum is 7 tokens", type: "invalid_request_error", param: "max_tokens", code: null } }));
    const front = await startFront({ baseUrls: urls, healthIntervalMs: 60_000 });
    try {
      const res = await postChat(front.url, { ...req, stream: true });
      assert.equal(res.status, 400);
      const json = (await res.json()) as { error: { message: string; param: string; type: string } };
      assert.deepEqual(json.error, { message: "This model's maximum is 7 tokens", type: "invalid_request_error", param: "max_tokens", code: null });
      assert.equal(a.hits + b.hits, 1);
    } finally {
      await front.close();
    }
  });

  it("forwards the upstream's model name, key and headers; unsupported fields are dropped (with a warning) or rejected", async () => {
    reset();
    let auth: string | undefined;
    let extra: string | undefined;
    a.behaviour = (r, res, body) => {
      auth = r.headers.authorization;
      extra = r.headers["x-team"] as string | undefined;
      ok(r, res);
      void body;
    };
    const drop = await startFront({
      baseUrls: [urls[0] ?? ""],
      model: "org/big-model",
      apiKey: "sk-up",
      headers: { "x-team": "t1" },
      unsupported: { fields: ["top_k"], mode: "drop" },
      healthIntervalMs: 60_000,
    });
    try {
      const res = await postChat(drop.url, { ...req, top_k: 5, top_p: 0.5, seed: 3 });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("x-parley-warnings") ?? "", /top_k/);
      const sent = a.bodies[0] ?? {};
      assert.equal(sent.model, "org/big-model");
      assert.equal(sent.stream, true);
      assert.deepEqual(sent.stream_options, { include_usage: true });
      assert.equal(sent.top_k, undefined);
      assert.equal(sent.top_p, 0.5);
      assert.equal(sent.seed, 3);
      assert.equal(auth, "Bearer sk-up");
      assert.equal(extra, "t1");
    } finally {
      await drop.close();
    }
    const reject = await startFront({ baseUrls: [urls[0] ?? ""], unsupported: { fields: ["top_k"], mode: "reject" }, healthIntervalMs: 60_000 });
    try {
      const res = await postChat(reject.url, { ...req, top_k: 5 });
      assert.equal(res.status, 400);
      const json = (await res.json()) as { error: { message: string; param: string } };
      assert.equal(json.error.param, "top_k");
      assert.equal(a.hits, 1, "a rejected request is not forwarded");
    } finally {
      await reject.close();
    }
  });
});
