/**
 * CORS (`--cors-origins`), `x-request-id` and `openai-processing-ms` over real sockets: preflights
 * answered before auth, allowed and refused origins, `*`, the headers on errors, on 404s and on SSE
 * streams, request ids honoured or replaced (and lined up with the completion id and the request
 * log), and processing time measured to the response head. A fake engine keeps it fast; the flag's
 * way from the command line to a real server is covered by cors-browser.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp, type AppOptions } from "../../src/app.ts";
import { loadConfig } from "../../src/config/config.ts";
import { serverSettingsSchema } from "../../src/config/config-file-schema.ts";
import type { ChatEvent } from "../../src/domain/events.ts";
import { OPENAI_CAPABILITIES } from "../../src/domain/capabilities.ts";
import type { ChatEngine } from "../../src/engines/types.ts";
import { RequestLog, type RequestLogRecord } from "../../src/http/request-log.ts";
import { Router } from "../../src/router/router.ts";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Milliseconds from sending the request to the end of the response. */
  totalMs: number;
}

/** One request over a socket, with exactly the headers given (fetch would add its own `Origin` rules). */
function send(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const { hostname, port } = new URL(url);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, totalMs: performance.now() - start }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fake engine serving `m1`: "hi" then " there", usage 3 + 2. `generate` resolves after
 * `startMs`; the second delta comes `gapMs` after the first.
 */
function fakeEngine(timing: { startMs: number; gapMs: number } = { startMs: 0, gapMs: 0 }): ChatEngine {
  return {
    describe: () => ({ models: [{ id: "m1", created: 0, ownedBy: "test" }], banner: undefined }),
    capabilities: OPENAI_CAPABILITIES,
    load: async () => undefined,
    isReady: () => true,
    fingerprint: "fp_test",
    async generate() {
      await sleep(timing.startMs);
      async function* events(): AsyncIterable<ChatEvent> {
        yield { type: "delta", choice: 0, text: "hi", logprobs: [] };
        await sleep(timing.gapMs);
        yield { type: "delta", choice: 0, text: " there", logprobs: [] };
        yield { type: "finish", choice: 0, reason: "stop" };
        yield { type: "usage", usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 0 } };
      }
      return { events: events(), warnings: [] };
    },
    close: async () => undefined,
  };
}

async function listen(options: Omit<AppOptions, "router">, engine: ChatEngine = fakeEngine()): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildApp({ router: new Router([engine]), ...options });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, url };
}

const ALLOWED = "http://localhost:5173";
const OTHER = "https://evil.example";
const KEY = "sk-cors-test";
const json = { "content-type": "application/json" };
const chatBody = (extra: object = {}) => JSON.stringify({ model: "m1", messages: [{ role: "user", content: "hi" }], ...extra });
const header = (reply: Reply, name: string) => {
  const value = reply.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
};
const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");

/** The headers every cross-origin response from an allowed origin carries. */
function assertCorsHeaders(reply: Reply, origin: string, what: string): void {
  assert.equal(header(reply, "access-control-allow-origin"), origin, `${what}: allow-origin`);
  const exposed = list(header(reply, "access-control-expose-headers"));
  for (const name of ["x-request-id", "openai-processing-ms", "retry-after", "x-parley-warnings"]) {
    assert.ok(exposed.includes(name), `${what}: ${name} exposed (got ${exposed.join(",")})`);
  }
  if (origin !== "*") assert.ok(list(header(reply, "vary")).includes("origin"), `${what}: Vary: Origin`);
  assertTraced(reply, what);
}

/** `x-request-id` and a whole-millisecond `openai-processing-ms`, on every response. */
function assertTraced(reply: Reply, what: string): void {
  assert.match(header(reply, "x-request-id") ?? "", /^[A-Za-z0-9._:-]{1,128}$/, `${what}: x-request-id`);
  assert.match(header(reply, "openai-processing-ms") ?? "", /^\d+$/, `${what}: openai-processing-ms`);
}

describe("--cors-origins parsing (flag, env and config file)", () => {
  it("reads *, exact origins (trimmed, deduplicated) and refuses what no browser sends", () => {
    assert.equal(loadConfig(["--cors-origins", "*"], {}).corsOrigins, "*");
    assert.deepEqual(loadConfig(["--cors-origins", ` ${ALLOWED}, https://chat.example.com,${ALLOWED}`], {}).corsOrigins, [ALLOWED, "https://chat.example.com"]);
    assert.deepEqual(loadConfig([], { PARLEY_CORS_ORIGINS: "https://a.example:8443" }).corsOrigins, ["https://a.example:8443"]);
    assert.equal(loadConfig([], {}).corsOrigins, undefined);
    assert.equal(loadConfig(["--cors-origins", ""], {}).corsOrigins, undefined);
    for (const bad of ["https://a.example/", "https://a.example/app", "a.example", "null", "https://*.example.com", "*,https://a.example", "ftp://a.example", "HTTPS://A.example"]) {
      assert.throws(() => loadConfig(["--cors-origins", bad], {}), /--cors-origins:/, bad);
    }
  });

  it("takes a list in the config file's server: section", () => {
    const parsed = serverSettingsSchema.parse({ corsOrigins: [ALLOWED, "https://b.example"] });
    assert.deepEqual(parsed.corsOrigins, [ALLOWED, "https://b.example"]);
    assert.deepEqual(loadConfig([], {}, { corsOrigins: [ALLOWED] }).corsOrigins, [ALLOWED]);
    assert.equal(loadConfig(["--cors-origins", "*"], {}, { corsOrigins: [ALLOWED] }).corsOrigins, "*", "the flag wins");
  });
});

describe("CORS with a list of origins and an API key", () => {
  let app: FastifyInstance;
  let url: string;
  before(async () => ({ app, url } = await listen({ corsOrigins: [ALLOWED, "https://chat.example.com"], keys: [{ user: "u", key: KEY }] })));
  after(() => app.close());

  it("answers a preflight before auth, for any route, reflecting the headers the openai SDK asks for", async () => {
    const asked =
      "authorization, content-type, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";
    for (const path of ["/v1/chat/completions", "/v1/models", "/v1/models/m1", "/tokenize", "/no/such/route"]) {
      const reply = await send(url, "OPTIONS", path, { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": asked });
      assert.equal(reply.status, 204, `${path}: ${reply.body}`);
      assert.equal(reply.body, "");
      assert.equal(header(reply, "access-control-allow-origin"), ALLOWED, path);
      assert.deepEqual(list(header(reply, "access-control-allow-methods")), ["get", "head", "post"], path);
      assert.deepEqual(list(header(reply, "access-control-allow-headers")), list(asked), path);
      assert.equal(header(reply, "access-control-max-age"), "7200", path);
      assert.ok(list(header(reply, "vary")).includes("origin"), path);
      assert.equal(header(reply, "access-control-allow-credentials"), undefined, "bearer keys, never cookies");
      assertTraced(reply, path);
    }
  });

  it("still requires the key for the request itself, and its 401 carries the CORS headers", async () => {
    const denied = await send(url, "POST", "/v1/chat/completions", { ...json, origin: ALLOWED }, chatBody());
    assert.equal(denied.status, 401, denied.body);
    assert.equal((JSON.parse(denied.body) as { error: { code: string } }).error.code, "invalid_api_key");
    assertCorsHeaders(denied, ALLOWED, "401");
    const ok = await send(url, "POST", "/v1/chat/completions", { ...json, origin: ALLOWED, authorization: `Bearer ${KEY}` }, chatBody());
    assert.equal(ok.status, 200, ok.body);
    assertCorsHeaders(ok, ALLOWED, "200");
  });

  it("gives a listed origin its own origin back, and an unlisted one no Allow-Origin at all", async () => {
    const second = await send(url, "GET", "/v1/models", { origin: "https://chat.example.com", authorization: `Bearer ${KEY}` });
    assert.equal(second.status, 200);
    assertCorsHeaders(second, "https://chat.example.com", "second origin");
    for (const origin of [OTHER, "http://localhost:5174", `${ALLOWED}/`, "null"]) {
      const preflight = await send(url, "OPTIONS", "/v1/chat/completions", { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" });
      assert.equal(header(preflight, "access-control-allow-origin"), undefined, `${origin} preflight`);
      const real = await send(url, "GET", "/v1/models", { origin, authorization: `Bearer ${KEY}` });
      assert.equal(real.status, 200);
      assert.equal(header(real, "access-control-allow-origin"), undefined, origin);
      assert.ok(list(header(real, "vary")).includes("origin"), `${origin}: Vary: Origin (the answer depends on it)`);
      assertTraced(real, origin);
    }
  });

  it("puts the headers on errors: bad JSON, unknown model, unknown route, wrong content type", async () => {
    const auth = { origin: ALLOWED, authorization: `Bearer ${KEY}` };
    const cases: [string, Promise<Reply>, number][] = [
      ["bad JSON", send(url, "POST", "/v1/chat/completions", { ...json, ...auth }, "{nope"), 400],
      ["unknown model", send(url, "POST", "/v1/chat/completions", { ...json, ...auth }, JSON.stringify({ model: "zz", messages: [{ role: "user", content: "hi" }] })), 404],
      ["unknown route", send(url, "GET", "/v2/nothing", auth), 404],
      ["text/plain", send(url, "POST", "/v1/chat/completions", { ...auth, "content-type": "text/plain" }, "hi"), 415],
      ["gzip body", send(url, "POST", "/v1/chat/completions", { ...json, ...auth, "content-encoding": "gzip" }, "x"), 415],
    ];
    for (const [what, pending, status] of cases) {
      const reply = await pending;
      assert.equal(reply.status, status, `${what}: ${reply.body}`);
      assert.ok((JSON.parse(reply.body) as { error?: unknown }).error !== undefined, `${what}: OpenAI envelope`);
      assertCorsHeaders(reply, ALLOWED, what);
    }
  });

  it("puts the headers on an SSE stream", async () => {
    const reply = await send(url, "POST", "/v1/chat/completions", { ...json, origin: ALLOWED, authorization: `Bearer ${KEY}` }, chatBody({ stream: true }));
    assert.equal(reply.status, 200, reply.body);
    assert.match(header(reply, "content-type") ?? "", /^text\/event-stream/);
    assert.ok(reply.body.endsWith("data: [DONE]\n\n"));
    assertCorsHeaders(reply, ALLOWED, "SSE");
  });
});

describe("CORS with *", () => {
  let app: FastifyInstance;
  let url: string;
  before(async () => ({ app, url } = await listen({ corsOrigins: "*" })));
  after(() => app.close());

  it("allows every origin, on preflights, answers and streams", async () => {
    for (const origin of [OTHER, ALLOWED]) {
      const preflight = await send(url, "OPTIONS", "/v1/chat/completions", { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" });
      assert.equal(preflight.status, 204);
      assert.equal(header(preflight, "access-control-allow-origin"), "*");
      assert.deepEqual(list(header(preflight, "access-control-allow-headers")), ["authorization", "content-type"]);
      assertCorsHeaders(await send(url, "POST", "/v1/chat/completions", { ...json, origin }, chatBody()), "*", `${origin} answer`);
      assertCorsHeaders(await send(url, "POST", "/v1/chat/completions", { ...json, origin }, chatBody({ stream: true })), "*", `${origin} stream`);
    }
  });

  it("answers a bare OPTIONS (no preflight headers) with 204, not a plain-text 400", async () => {
    const reply = await send(url, "OPTIONS", "/v1/models");
    assert.equal(reply.status, 204, reply.body);
  });
});

describe("without --cors-origins", () => {
  let app: FastifyInstance;
  let url: string;
  before(async () => ({ app, url } = await listen({ keys: [{ user: "u", key: KEY }] })));
  after(() => app.close());

  it("sends no CORS header and does not answer preflights, but still traces every response", async () => {
    const preflight = await send(url, "OPTIONS", "/v1/chat/completions", { origin: ALLOWED, "access-control-request-method": "POST" });
    assert.equal(preflight.status, 401, "an ordinary request: auth first");
    const reply = await send(url, "POST", "/v1/chat/completions", { ...json, origin: ALLOWED, authorization: `Bearer ${KEY}` }, chatBody());
    assert.equal(reply.status, 200);
    for (const r of [preflight, reply]) {
      assert.equal(
        Object.keys(r.headers).some((name) => name.startsWith("access-control-")),
        false,
      );
      assertTraced(r, "no CORS");
    }
  });
});

describe("x-request-id", () => {
  let app: FastifyInstance;
  let url: string;
  let dir: string;
  let requestLog: RequestLog;
  const lines: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-request-id-"));
    requestLog = new RequestLog({ path: join(dir, "requests.jsonl") });
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(
          ...chunk
            .toString("utf8")
            .split("\n")
            .filter((line) => line !== ""),
        );
        done();
      },
    });
    ({ app, url } = await listen({ requestLog, logger: { level: "info", stream } }));
  });
  after(async () => {
    await app.close();
    await requestLog.close();
    await rm(dir, { recursive: true, force: true });
  });

  const chat = (headers: Record<string, string> = {}, extra: object = {}) => send(url, "POST", "/v1/chat/completions", { ...json, ...headers }, chatBody(extra));
  const completionIds = (reply: Reply): string[] =>
    reply.body.startsWith("data: ")
      ? [
          ...new Set(
            reply.body
              .split("\n\n")
              .filter((f) => f.startsWith("data: {"))
              .map((f) => (JSON.parse(f.slice(6)) as { id: string }).id),
          ),
        ]
      : [(JSON.parse(reply.body) as { id: string }).id];

  it("honours a safe incoming id, on answers, streams and errors", async () => {
    for (const id of ["abc", "req_0123456789abcdef", "4bf92f3577b34da6a3ce929d0e0e4736", "trace:1.2-3_x", "a".repeat(128)]) {
      for (const reply of [await chat({ "x-request-id": id }), await chat({ "x-request-id": id }, { stream: true }), await send(url, "GET", "/nope", { "x-request-id": id })]) {
        assert.equal(header(reply, "x-request-id"), id);
      }
    }
  });

  it("replaces an unsafe one with a new id, which the completion id then carries", async () => {
    const seen = new Set<string>();
    for (const id of ["", "a b", "a/b", "a".repeat(129), "é", "<script>"]) {
      for (const reply of [await chat({ "x-request-id": id }), await chat({ "x-request-id": "ok a" }, { stream: true })]) {
        const given = header(reply, "x-request-id") ?? "";
        assert.match(given, /^[A-Za-z0-9_-]{16}$/, JSON.stringify(id));
        assert.deepEqual(completionIds(reply), [`chatcmpl-${given}`]);
        assert.equal(seen.has(given), false, "new ids are unique");
        seen.add(given);
      }
    }
  });

  it("keeps a completion id unique when the client reuses its own id", async () => {
    const a = completionIds(await chat({ "x-request-id": "same" }));
    const b = completionIds(await chat({ "x-request-id": "same" }));
    assert.notDeepEqual(a, b);
    assert.doesNotMatch(a[0] ?? "", /same/);
  });

  it("is in Fastify's log lines (reqId) and in the request log (request_id)", async () => {
    const own = await chat({ "x-request-id": "log-me-1" });
    const made = await chat();
    const madeId = header(made, "x-request-id") ?? "";
    await requestLog.flush();
    const records = (await readFile(requestLog.path, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as RequestLogRecord);
    const byRequest = new Map(records.map((r) => [r.request_id, r]));
    assert.equal(byRequest.get("log-me-1")?.id, completionIds(own)[0]);
    assert.equal(byRequest.get(madeId)?.id, `chatcmpl-${madeId}`);
    const logged = lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    assert.ok(
      logged.some((l) => l.reqId === "log-me-1" && l.msg === "chat completion"),
      "the chat completion line carries the client's id",
    );
    assert.ok(
      logged.some((l) => l.reqId === madeId && l.msg === "chat completion"),
      "and a made one",
    );
  });
});

describe("openai-processing-ms", () => {
  let app: FastifyInstance;
  let url: string;
  const startMs = 150;
  const gapMs = 400;
  before(async () => ({ app, url } = await listen({}, fakeEngine({ startMs, gapMs }))));
  after(() => app.close());

  it("counts to the response head: the whole answer when not streamed, the first byte when streamed", async () => {
    const whole = await send(url, "POST", "/v1/chat/completions", json, chatBody());
    const wholeMs = Number(header(whole, "openai-processing-ms"));
    assert.ok(wholeMs >= startMs + gapMs - 5 && wholeMs <= whole.totalMs + 1, `non-streamed: ${wholeMs} ms of ${whole.totalMs.toFixed(0)}`);

    const stream = await send(url, "POST", "/v1/chat/completions", json, chatBody({ stream: true }));
    const streamMs = Number(header(stream, "openai-processing-ms"));
    assert.ok(streamMs >= startMs - 5, `streamed: ${streamMs} ms, at least the engine's start`);
    assert.ok(streamMs <= stream.totalMs - gapMs + 50, `streamed: ${streamMs} ms, before the ${gapMs} ms gap mid-stream (total ${stream.totalMs.toFixed(0)})`);
  });

  it("is small for a request that fails at once", async () => {
    const reply = await send(url, "POST", "/v1/chat/completions", json, "{");
    assert.equal(reply.status, 400);
    assert.ok(Number(header(reply, "openai-processing-ms")) < startMs);
  });
});
