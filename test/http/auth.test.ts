import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import OpenAI from "openai";
import { buildApp } from "../../src/app.ts";
import type { ApiKeySpec } from "../../src/config/api-keys.ts";
import type { ChatEvent } from "../../src/domain/events.ts";
import { OPENAI_CAPABILITIES } from "../../src/domain/capabilities.ts";
import type { ChatEngine } from "../../src/engines/types.ts";
import { Router } from "../../src/router/router.ts";
import { MODEL, startTestServer, type TestServer } from "../support/server.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose path goes on the wire exactly as given (fetch would normalise dot segments). */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function assert401(res: RawResponse, what: string): void {
  assert.equal(res.status, 401, `${what}: ${res.status} ${res.body}`);
  assert.equal(res.headers["www-authenticate"], "Bearer", what);
  if (res.body !== "") {
    const error = (JSON.parse(res.body) as { error: { type: string; code: string } }).error;
    assert.equal(error.type, "invalid_request_error", what);
    assert.equal(error.code, "invalid_api_key", what);
  }
}

const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 3 });

describe("API keys on a real server (--api-key flags)", () => {
  let t: TestServer;
  const bob = "sk-bob-secret";
  before(async () => {
    t = await startTestServer(["--api-key", "alice=sk-alice", "--api-key", `bob=sha256:${sha(bob)}`, "--admin-key", "adm-secret", "--parallel", "1"]);
  });
  after(() => t.close());

  it("401s every route but /health without a key, with a wrong key or a malformed header", async () => {
    const json = { "content-type": "application/json" };
    const attempts: [string, string, Record<string, string>, string?][] = [
      ["GET", "/v1/models", {}],
      ["GET", `/v1/models/${MODEL}`, {}],
      ["POST", "/v1/chat/completions", json, chatBody(MODEL)],
      ["POST", "/v1/chat/completions", { "content-type": "text/plain" }, "not json"], // auth before body parsing
      ["GET", "/metrics", {}],
      ["GET", "/admin/usage", {}],
      ["GET", "/no/such/route", {}], // unknown routes: 401, not 404
      ["DELETE", "/v1/models", {}],
      ["HEAD", "/v1/models", {}],
      ["OPTIONS", "/v1/models", {}],
      ["OPTIONS", "/health", {}],
      ["POST", "/health", {}],
      ["GET", "/health/../v1/models", {}],
      ["GET", "/health/%2e%2e/v1/models", {}],
      ["GET", "//v1/models", {}],
      ["GET", "/v1//models", {}],
      ["GET", "/v1/models?x", {}],
      ["GET", "/v1/models?api_key=sk-alice&key=sk-alice", {}], // keys in the query are ignored
      ["GET", "/%761/models", {}],
      ["GET", "/v1/models%2F", {}],
      ["GET", "/HEALTH", {}],
      ["GET", "/health/", {}],
      ["GET", "/health;x", {}],
      ["GET", "/v1/models", { authorization: "Bearer sk-wrong" }],
      ["GET", "/v1/models", { authorization: "Bearer" }],
      ["GET", "/v1/models", { authorization: "sk-alice" }],
      ["GET", "/v1/models", { authorization: "Basic sk-alice" }],
      ["GET", "/v1/models", { authorization: "Bearer sk-alice extra" }],
      ["GET", "/v1/models", { authorization: "Bearer\tsk-alice" }], // (trailing whitespace is not part of a header value)
      ["GET", "/v1/models", { authorization: "Bearer sk-al\tice" }],
      ["GET", "/v1/models", { authorization: "Bearer sk-Alice" }],
      ["GET", "/v1/models", { authorization: `Bearer ${sha(bob)}` }], // the configured hash is not a key
      ["GET", "/v1/models", { "x-api-key": "sk-alice" }],
      ["GET", "/admin/usage", { authorization: "Bearer wrong" }],
    ];
    for (const [method, path, headers, body] of attempts) {
      assert401(await raw(t.url, method, path, headers, body), `${method} ${path} ${JSON.stringify(headers)}`);
    }
  });

  it("leaves /health open (GET and HEAD, with a query)", async () => {
    assert.equal((await raw(t.url, "GET", "/health")).status, 200);
    assert.equal((await raw(t.url, "HEAD", "/health")).status, 200);
    assert.equal((await raw(t.url, "GET", "/health?x=1")).status, 200);
  });

  it("accepts a plain and a sha256-configured key, any case of the Bearer scheme and header name", async () => {
    for (const [name, value] of [
      ["authorization", "Bearer sk-alice"],
      ["Authorization", "bearer sk-alice"],
      ["AUTHORIZATION", "BEARER sk-alice"],
      ["authorization", "bEaReR   sk-alice"],
      ["authorization", `Bearer ${bob}`],
    ] as const) {
      const res = await raw(t.url, "GET", "/v1/models", { [name]: value });
      assert.equal(res.status, 200, `${name}: ${value}`);
    }
    const auth = { authorization: "Bearer sk-alice" };
    assert.equal((await raw(t.url, "GET", "/no/such/route", auth)).status, 404, "authenticated: unknown routes are 404");
    assert.equal((await raw(t.url, "GET", "/metrics", auth)).status, 200);
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: bob, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
    assert.equal(completion.object, "chat.completion");
  });

  it("summarises usage per user and model at /admin/usage (admin key only) and labels metrics by user", async () => {
    const admin = { authorization: "Bearer adm-secret" };
    const before = JSON.parse((await raw(t.url, "GET", "/admin/usage", admin)).body) as { data: { user: string; model: string; requests: number; prompt_tokens: number; completion_tokens: number }[] };
    const row = (data: typeof before.data, user: string) => data.find((r) => r.user === user && r.model === MODEL) ?? { requests: 0, prompt_tokens: 0, completion_tokens: 0 };
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "sk-alice", maxRetries: 0 });
    let prompt = 0;
    let completion = 0;
    for (let i = 0; i < 2; i++) {
      const c = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: `hello ${i}` }], max_tokens: 4 });
      prompt += c.usage?.prompt_tokens ?? NaN;
      completion += c.usage?.completion_tokens ?? NaN;
    }
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "stream" }], max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      if (chunk.usage) {
        prompt += chunk.usage.prompt_tokens;
        completion += chunk.usage.completion_tokens;
      }
    }
    const res = await raw(t.url, "GET", "/admin/usage", admin);
    assert.equal(res.status, 200);
    const after = JSON.parse(res.body) as typeof before;
    const a0 = row(before.data, "alice");
    const a1 = row(after.data, "alice");
    assert.equal(a1.requests - a0.requests, 3);
    assert.equal(a1.prompt_tokens - a0.prompt_tokens, prompt);
    assert.equal(a1.completion_tokens - a0.completion_tokens, completion);
    // An API key is not the admin key.
    const forbidden = await raw(t.url, "GET", "/admin/usage", { authorization: "Bearer sk-alice" });
    assert.equal(forbidden.status, 403);
    assert401(await raw(t.url, "GET", "/admin/usage"), "no key");
    const metrics = await raw(t.url, "GET", "/metrics", { authorization: "Bearer sk-alice" });
    assert.match(metrics.body, new RegExp(`parley_user_requests_total\\{user="alice",model="${MODEL}",status="200"\\} \\d+`));
    assert.doesNotMatch(metrics.body, /sk-alice/);
  });
});

/** A fake engine serving m1 and m2; each request yields "hi" and usage 10 + 5, after `gate` opens. */
function fakeEngine(gate: () => Promise<void>): ChatEngine {
  const models = ["m1", "m2"].map((id) => ({ id, created: 0, ownedBy: "test" }));
  return {
    describe: () => ({ models, banner: undefined }),
    capabilities: OPENAI_CAPABILITIES,
    load: async () => undefined,
    isReady: () => true,
    fingerprint: "fp_test",
    async generate() {
      await gate();
      async function* events(): AsyncIterable<ChatEvent> {
        yield { type: "delta", choice: 0, text: "hi", logprobs: [] };
        yield { type: "finish", choice: 0, reason: "stop" };
        yield { type: "usage", usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 0 } };
      }
      return { events: events(), warnings: [] };
    },
    close: async () => undefined,
  };
}

describe("per-key models and limits (config-file keys)", () => {
  let app: FastifyInstance;
  let url: string;
  let release: () => void = () => undefined;
  let gated = false;
  const gate = () => (gated ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve());
  const keys: ApiKeySpec[] = [
    { user: "m1only", key: "k-m1", models: ["m1"] },
    { user: "rpm", key: "k-rpm", limits: { requestsPerMinute: 2 } },
    { user: "conc", key: "k-conc", limits: { maxConcurrent: 1 } },
    { user: "tpm", key: "k-tpm", limits: { tokensPerMinute: 20 } },
  ];
  before(async () => {
    app = buildApp({ router: new Router([fakeEngine(gate)]), keys });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => app.close());

  const chat = (key: string, model: string) => raw(url, "POST", "/v1/chat/completions", { "content-type": "application/json", authorization: `Bearer ${key}` }, chatBody(model));

  it("403s a model the key may not use, and lists only the allowed ones", async () => {
    assert.equal((await chat("k-m1", "m1")).status, 200);
    const denied = await chat("k-m1", "m2");
    assert.equal(denied.status, 403);
    assert.equal((JSON.parse(denied.body) as { error: { code: string } }).error.code, "model_not_allowed");
    assert.equal((await chat("k-m1", "no-such-model")).status, 403, "existence is not revealed");
    const list = JSON.parse((await raw(url, "GET", "/v1/models", { authorization: "Bearer k-m1" })).body) as { data: { id: string }[] };
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["m1"],
    );
    assert.equal((await raw(url, "GET", "/v1/models/m2", { authorization: "Bearer k-m1" })).status, 404);
    assert.equal((await raw(url, "GET", "/v1/models/m1", { authorization: "Bearer k-m1" })).status, 200);
    const all = JSON.parse((await raw(url, "GET", "/v1/models", { authorization: "Bearer k-rpm" })).body) as { data: { id: string }[] };
    assert.deepEqual(
      all.data.map((m) => m.id),
      ["m1", "m2"],
    );
  });

  const assert429 = (res: RawResponse, what: string) => {
    assert.equal(res.status, 429, `${what}: ${res.body}`);
    assert.match(String(res.headers["retry-after"]), /^[1-9]\d*$/, what);
    assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, "rate_limit_exceeded");
  };

  it("429s over requests per minute, with Retry-After", async () => {
    assert.equal((await chat("k-rpm", "m1")).status, 200);
    assert.equal((await chat("k-rpm", "m2")).status, 200);
    const res = await chat("k-rpm", "m1");
    assert429(res, "rpm");
    assert.ok(Number(res.headers["retry-after"]) <= 60);
    assert.equal((await chat("k-m1", "m1")).status, 200, "other keys are unaffected");
  });

  it("429s over tokens per minute (charged from usage when a request ends)", async () => {
    assert.equal((await chat("k-tpm", "m1")).status, 200); // 15 tokens
    assert.equal((await chat("k-tpm", "m1")).status, 200); // 15 < 20 at start: admitted, 30 charged
    assert429(await chat("k-tpm", "m1"), "tpm");
  });

  it("429s over max concurrent requests, and admits again once one ends", async () => {
    gated = true;
    const first = chat("k-conc", "m1");
    await new Promise((r) => setTimeout(r, 100));
    assert429(await chat("k-conc", "m1"), "concurrent");
    gated = false;
    release();
    assert.equal((await first).status, 200);
    assert.equal((await chat("k-conc", "m1")).status, 200);
  });
});

describe("without keys", () => {
  it("is open, has no admin route without an admin key, and its admin route needs the admin key", async () => {
    const app = buildApp({ router: new Router([fakeEngine(() => Promise.resolve())]) });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      assert.equal((await raw(url, "GET", "/v1/models")).status, 200);
      assert.equal((await raw(url, "GET", "/admin/usage")).status, 404);
    } finally {
      await app.close();
    }
    const withAdmin = buildApp({ router: new Router([fakeEngine(() => Promise.resolve())]), adminKey: { sha256: sha("adm") } });
    const url2 = await withAdmin.listen({ host: "127.0.0.1", port: 0 });
    try {
      assert.equal((await raw(url2, "POST", "/v1/chat/completions", { "content-type": "application/json" }, chatBody("m1"))).status, 200);
      assert401(await raw(url2, "GET", "/admin/usage"), "admin without key");
      const usage = JSON.parse((await raw(url2, "GET", "/admin/usage", { authorization: "Bearer adm" })).body) as { data: unknown[] };
      assert.deepEqual(usage.data, [{ user: "anonymous", model: "m1", requests: 1, prompt_tokens: 10, completion_tokens: 5 }]);
    } finally {
      await withAdmin.close();
    }
  });
});
