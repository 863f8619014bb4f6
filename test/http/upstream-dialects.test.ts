/**
 * Upstream dialects over real HTTP on 127.0.0.1: a front Parley whose upstream engine probes its
 * upstream's dialect (no `dialect` configured) and translates requests into it. The upstream is
 * (a) another Parley, which enforces what it is sent, and (b) a small fake per dialect that
 * answers the probe as that server does, records the body it receives and answers a canned
 * OpenAI stream — so each test asserts the exact translated body. Also: an abandoned upstream
 * stream is charged to the key, and the upstream queue's 429s.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { buildApp, type AppOptions } from "../../src/app.ts";
import { regexGrammar } from "../../src/chat/grammar/regex-to-gbnf.ts";
import { UpstreamEngine } from "../../src/engines/upstream/engine.ts";
import type { UpstreamModelOptions } from "../../src/engines/upstream/options.ts";
import { Router } from "../../src/router/router.ts";
import { MODEL, postChat, startTestServer, type TestServer } from "../support/server.ts";

const FRONT = "front-model";

interface Front {
  readonly url: string;
  readonly engine: UpstreamEngine;
  close(): Promise<void>;
}

async function startFront(options: Omit<UpstreamModelOptions, "id" | "model"> & { model?: string }, app: Omit<AppOptions, "router"> = {}): Promise<Front> {
  const engine = new UpstreamEngine({ id: FRONT, model: MODEL, healthIntervalMs: 60_000, ...options });
  const server = buildApp({ router: new Router([engine]), ...app });
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    engine,
    close: async () => {
      await engine.close(0);
      await server.close();
    },
  };
}

const sse = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
const chunk = (content: string, finish: string | null = null) => sse({ id: "up", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: finish }] });
const USAGE = sse({ id: "up", choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });

/**
 * A fake upstream: `/v1/models` names `owner` (how each server answers the probe), other GETs are
 * 404s, and each chat request is recorded, then answered by `behaviour` (a canned stream by default).
 */
class FakeUpstream {
  readonly server: Server;
  readonly bodies: Record<string, unknown>[] = [];
  readonly gets: string[] = [];
  closed = 0;
  behaviour: (res: ServerResponse) => void = (res) => res.writeHead(200, { "content-type": "text/event-stream" }).end(chunk("ab") + chunk("", "stop") + USAGE + "data: [DONE]\n\n");

  constructor(readonly owner: string) {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "GET") {
        this.gets.push(req.url ?? "");
        if (req.url === "/v1/models") return void res.end(JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created: 1, owned_by: owner }] }));
        return void res.writeHead(404, { "content-type": "application/json" }).end('{"detail":"Not Found"}');
      }
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        this.bodies.push(JSON.parse(text) as Record<string, unknown>);
        res.on("close", () => this.closed++);
        this.behaviour(res);
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

/** What every forwarded request carries, whatever the dialect. */
const BASE = { model: MODEL, messages: [{ role: "user", content: "Hi" }], stream: true, stream_options: { include_usage: true } };
/** A client request with a regex constraint and sampling extensions. */
const REQUEST = { model: FRONT, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, temperature: 0, seed: 11, top_k: 3, repetition_penalty: 1.1, guided_regex: "[ab]+" };

async function error(res: Response): Promise<{ status: number; param: string | null; message: string }> {
  const body = (await res.json()) as { error: { param: string | null; message: string } };
  return { status: res.status, param: body.error.param, message: body.error.message };
}

describe("upstream dialects: probed, then translated (fake upstreams)", () => {
  const cases: { owner: string; dialect: string; expected: Record<string, unknown> }[] = [
    { owner: "vllm", dialect: "vllm", expected: { ...BASE, max_tokens: 5, temperature: 0, seed: 11, top_k: 3, repetition_penalty: 1.1, structured_outputs: { regex: "[ab]+" } } },
    { owner: "sglang", dialect: "sglang", expected: { ...BASE, max_tokens: 5, temperature: 0, seed: 11, top_k: 3, repetition_penalty: 1.1, regex: "[ab]+" } },
    {
      owner: "llamacpp",
      dialect: "llama-server",
      expected: { ...BASE, max_tokens: 5, temperature: 0, seed: 11, top_k: 3, repeat_penalty: 1.1, repeat_last_n: 65_536, grammar: regexGrammar("[ab]+") },
    },
  ];
  for (const { owner, dialect, expected } of cases) {
    it(`${dialect}: owned_by "${owner}" is probed, and the upstream receives exactly its own fields`, async () => {
      const fake = new FakeUpstream(owner);
      const front = await startFront({ baseUrls: [await fake.listen()] });
      try {
        assert.equal(await front.engine.dialect(), dialect);
        const res = await postChat(front.url, REQUEST);
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content, "ab");
        assert.deepEqual(fake.bodies, [expected]);
      } finally {
        await front.close();
        await fake.close();
      }
    });
  }

  it("openai: unrecognised after every probe; what OpenAI cannot do is a 400 naming the field, never forwarded", async () => {
    const fake = new FakeUpstream("system");
    const front = await startFront({ baseUrls: [await fake.listen()] });
    try {
      assert.equal(await front.engine.dialect(), "openai");
      // (`/v1/models` is also the health check.)
      assert.deepEqual(
        fake.gets.filter((g) => g !== "/v1/models"),
        ["/props", "/get_server_info", "/version"],
      );
      const plain = { model: FRONT, messages: [{ role: "user", content: "Hi" }], max_tokens: 5 };
      for (const [extra, param] of [
        [{ guided_regex: "[ab]+" }, "guided_regex"],
        [{ guided_choice: ["a", "b"] }, "guided_choice"],
        [{ top_k: 3 }, "top_k"],
        [{ min_p: 0.2 }, "min_p"],
        [{ repetition_penalty: 1.1 }, "repetition_penalty"],
      ] as const) {
        const refused = await error(await postChat(front.url, { ...plain, ...extra }));
        assert.equal(refused.status, 400);
        assert.equal(refused.param, param);
        assert.match(refused.message, /dialect `openai`/);
      }
      assert.equal(fake.bodies.length, 0);
      const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
      const res = await postChat(front.url, { ...plain, response_format: { type: "json_schema", json_schema: { name: "x", schema, strict: true } } });
      assert.equal(res.status, 200);
      assert.deepEqual(fake.bodies, [{ ...BASE, max_completion_tokens: 5, response_format: { type: "json_schema", json_schema: { name: "response", schema, strict: true } } }]);
    } finally {
      await front.close();
      await fake.close();
    }
  });

  it("a configured dialect skips the probe; an unreachable upstream falls back to openai", async () => {
    const fake = new FakeUpstream("vllm");
    const url = await fake.listen();
    const configured = await startFront({ baseUrls: [url], dialect: "sglang" });
    const dead = await startFront({ baseUrls: ["http://127.0.0.1:9/v1"] }); // port 9 (discard): refused
    try {
      assert.equal(await configured.engine.dialect(), "sglang", "not the vllm its /v1/models names");
      assert.equal(await dead.engine.dialect(), "openai");
    } finally {
      await configured.close();
      await dead.close();
      await fake.close();
    }
  });
});

describe("upstream dialects: another Parley", () => {
  let upstream: TestServer;
  let front: Front;

  before(async () => {
    upstream = await startTestServer();
    front = await startFront({ baseUrls: [`${upstream.url}/v1`] });
  });
  after(async () => {
    await front?.close();
    await upstream?.close();
  });

  it("is probed as parley, and enforces the constraints and extensions it is sent", async () => {
    assert.equal(await front.engine.dialect(), "parley");
    const choices = ["alpha", "beta gamma"];
    for (const seed of [1, 2, 3]) {
      const res = await postChat(front.url, { model: FRONT, messages: [{ role: "user", content: "Pick" }], guided_choice: choices, seed, top_k: 5, min_p: 0.05, max_tokens: 20 });
      assert.equal(res.status, 200);
      const content = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "";
      assert.ok(choices.includes(content), `not a choice: ${JSON.stringify(content)}`);
    }
    const res = await postChat(front.url, { model: FRONT, messages: [{ role: "user", content: "Digits" }], guided_regex: "[0-9]{3}", max_tokens: 10 });
    assert.match(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "", /^[0-9]{3}$/);
  });
});

describe("upstream: prefix affinity across replicas", () => {
  it("concurrent requests with the same prompt_cache_key (or a long shared prefix) go to the same replica; without affinity they spread", async () => {
    const a = new FakeUpstream("vllm");
    const b = new FakeUpstream("vllm");
    const held: ServerResponse[] = [];
    for (const fake of [a, b]) fake.behaviour = (res) => void held.push(res);
    const urls = [await a.listen(), await b.listen()];
    const system = "You answer questions about the harbour's shipping schedule. ".repeat(20);
    const bodies = [
      { model: FRONT, messages: [{ role: "user", content: "one" }], prompt_cache_key: "conversation-7", service_tier: "priority" },
      { model: FRONT, messages: [{ role: "user", content: "two" }], prompt_cache_key: "conversation-7" },
    ];
    const prefixed = [1, 2].map((i) => ({
      model: FRONT,
      messages: [
        { role: "system", content: system },
        { role: "user", content: `Question ${i}` },
      ],
    }));
    const twoAtOnce = async (front: Front, pair: object[]) => {
      const before = held.length;
      const pending = pair.map((body) => postChat(front.url, body));
      while (held.length < before + 2) await new Promise((r) => setTimeout(r, 5));
      const where = front.engine.replicaStates().map((r) => r.outstanding);
      for (const res of held.splice(before)) res.writeHead(200, { "content-type": "text/event-stream" }).end(chunk("ok", "stop") + USAGE + "data: [DONE]\n\n");
      for (const res of await Promise.all(pending)) assert.equal(res.status, 200);
      return where;
    };
    const on = await startFront({ baseUrls: urls });
    const off = await startFront({ baseUrls: urls, affinity: false });
    try {
      assert.deepEqual((await twoAtOnce(on, bodies)).sort(), [0, 2]);
      assert.deepEqual((await twoAtOnce(on, prefixed)).sort(), [0, 2]);
      assert.deepEqual(await twoAtOnce(off, bodies), [1, 1]);
      // A vLLM upstream reads neither field: the key is Parley's placement hint, the tier orders Parley's queue.
      assert.ok([...a.bodies, ...b.bodies].every((body) => !("prompt_cache_key" in body) && !("service_tier" in body)));
    } finally {
      await on.close();
      await off.close();
      await a.close();
      await b.close();
    }
  });
});

describe("upstream: abandoned streams are charged, and the queue is bounded", () => {
  it("a client that leaves mid-stream is charged what the upstream generated: it counts against the key's token limit", async () => {
    const fake = new FakeUpstream("vllm");
    let sent = 0;
    fake.behaviour = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write(chunk("word "));
        sent++;
      }, 2);
      res.on("close", () => clearInterval(timer));
    };
    const keys = [{ user: "alice", key: "k-alice", limits: { tokensPerMinute: 20 } }];
    const front = await startFront({ baseUrls: [await fake.listen()] }, { keys, adminKey: { key: "k-admin" } });
    const auth = { authorization: "Bearer k-alice" };
    try {
      const controller = new AbortController();
      const res = await postChat(front.url, { model: FRONT, messages: [{ role: "user", content: "Talk" }], stream: true }, auth, controller.signal);
      const reader = res.body?.getReader();
      assert.ok(reader);
      let seen = 0;
      while (seen < 30) seen += (new TextDecoder().decode((await reader.read()).value).match(/word /g) ?? []).length;
      controller.abort();
      const usage = async () => {
        const r = await fetch(`${front.url}/admin/usage`, { headers: { authorization: "Bearer k-admin" } });
        return ((await r.json()) as { data: { user: string; prompt_tokens: number; completion_tokens: number }[] }).data.find((row) => row.user === "alice");
      };
      const start = Date.now();
      while (((await usage())?.completion_tokens ?? 0) === 0 && Date.now() - start < 3_000) await new Promise((r) => setTimeout(r, 20));
      const row = await usage();
      assert.ok(row !== undefined && row.completion_tokens >= 30 && row.completion_tokens <= Math.ceil((sent * 5) / 4), `charged ${JSON.stringify(row)} for ${sent} deltas sent`);
      assert.ok(row.prompt_tokens > 0);
      assert.equal(fake.closed, 1, "the upstream request was aborted");
      // The key's 20 tokens per minute are spent: the next request waits for the window.
      const next = await postChat(front.url, { model: FRONT, messages: [{ role: "user", content: "Again" }] }, auth);
      assert.equal(next.status, 429);
      assert.ok(Number(next.headers.get("retry-after")) > 0);
    } finally {
      await front.close();
      await fake.close();
    }
  });

  it("the queue holds at most maxQueue requests (429 + Retry-After beyond), each for at most queueTimeoutMs", async () => {
    const fake = new FakeUpstream("vllm");
    const held: ServerResponse[] = [];
    fake.behaviour = (res) => void held.push(res);
    const url = await fake.listen();
    const full = await startFront({ baseUrls: [url], maxConcurrent: 1, maxQueue: 0 });
    const slow = await startFront({ baseUrls: [url], maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 150 });
    const req = { model: FRONT, messages: [{ role: "user", content: "Hi" }] };
    try {
      for (const front of [full, slow]) {
        const first = postChat(front.url, req);
        while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
        const started = Date.now();
        const second = await postChat(front.url, req);
        assert.equal(second.status, 429);
        assert.equal(second.headers.get("retry-after"), "1");
        const message = (await error(second)).message;
        if (front === slow) {
          assert.ok(Date.now() - started >= 140, "waited for the queue timeout");
          assert.match(message, /waited 0\.15 s/);
        } else assert.match(message, /too many requests are waiting/);
        held
          .shift()
          ?.writeHead(200, { "content-type": "text/event-stream" })
          .end(chunk("ok", "stop") + USAGE + "data: [DONE]\n\n");
        assert.equal((await first).status, 200);
      }
      assert.equal(fake.bodies.length, 2, "refused requests never reached the upstream");
    } finally {
      await full.close();
      await slow.close();
      await fake.close();
    }
  });
});
