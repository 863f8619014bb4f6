/**
 * How `POST /v1/chat/completions` fails, on the wire, without a model (a scripted fake engine
 * behind the real app, `app.inject()`): an engine error before the first event is a status code
 * with OpenAI's error envelope; one after it is an error data frame then `[DONE]` when streaming,
 * an error status when not; internal errors say nothing of their cause; unknown models are 404s;
 * API keys give 401s and 403s; every answer carries `x-request-id`. And one case over a real
 * socket (inject cannot hang up): a client that leaves mid-stream aborts the engine's work, and
 * the usage the engine reports as it stops is still charged to the key.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { ParleyError } from "../../src/domain/errors.ts";
import { FAKE_MODEL, FakeEngine, textSteps, usageStep, type FakeScript } from "../support/fake-engine.ts";
import { assertErrorEnvelope, chatBody, fakeApp, injectChat, parseSseBody, type FakeApp } from "../support/inject.ts";

describe("engine failures on the wire (fake engine, app.inject())", () => {
  let t: FakeApp;
  let script: FakeScript = { steps: [] };
  before(async () => {
    t = await fakeApp({ engine: { script: () => script } });
  });
  after(() => t.close());

  const failures: [string, ParleyError, number, { type: string; code: string | null; param: string | null }, Record<string, string>][] = [
    ["busy", new ParleyError("server_busy", "The queue is full.", { retryAfter: 2 }), 429, { type: "rate_limit_error", code: "rate_limit_exceeded", param: null }, { "retry-after": "2" }],
    ["unavailable", new ParleyError("unavailable", "The model is still loading.", { retryAfter: 1 }), 503, { type: "server_error", code: "service_unavailable", param: null }, { "retry-after": "1" }],
    [
      "too long",
      new ParleyError("context_length_exceeded", "The prompt is too long.", { param: "messages" }),
      400,
      { type: "invalid_request_error", code: "context_length_exceeded", param: "messages" },
      {},
    ],
    ["adapter", new ParleyError("not_found", "No such adapter.", { param: "peft", code: "adapter_not_found" }), 404, { type: "invalid_request_error", code: "adapter_not_found", param: "peft" }, {}],
  ];

  it("an error thrown before the first event: its status, headers and the OpenAI envelope, streamed or not", async () => {
    for (const [what, error, status, fields, headers] of failures) {
      for (const stream of [false, true]) {
        script = { reject: error };
        const res = await injectChat(t.app, chatBody({ stream }));
        const label = `${what}, stream ${stream}`;
        assert.equal(res.statusCode, status, `${label}: ${res.body}`);
        assert.match(String(res.headers["content-type"]), /^application\/json/, label);
        const body = assertErrorEnvelope(res.json(), label);
        assert.deepEqual({ type: body.type, code: body.code, param: body.param }, fields, label);
        assert.equal(body.message, error.message, label);
        for (const [name, value] of Object.entries(headers)) assert.equal(res.headers[name], value, `${label}: ${name}`);
      }
    }
  });

  it("an internal error is a 500 that does not reveal its message", async () => {
    for (const stream of [false, true]) {
      script = { reject: new Error("secret path /home/x/model.gguf") };
      const res = await injectChat(t.app, chatBody({ stream }));
      assert.equal(res.statusCode, 500);
      const body = assertErrorEnvelope(res.json());
      assert.equal(body.type, "server_error");
      assert.ok(!res.body.includes("secret"), res.body);
    }
  });

  it("streaming, an error after the first event: the frames sent so far, an error data frame, then [DONE]", async () => {
    script = { steps: [...textSteps(["par", "tial"], { finish: null }), { type: "fail", error: new ParleyError("unavailable", "The server is shutting down.", { retryAfter: 1 }) }] };
    const res = await injectChat(t.app, chatBody({ stream: true }));
    assert.equal(res.statusCode, 200, "the head went out with the first frame");
    const { frames, done } = parseSseBody(res.body);
    assert.ok(done, "the stream still ends with [DONE]");
    const last = frames.at(-1);
    const error = assertErrorEnvelope(last, "the last frame");
    assert.equal(error.message, "The server is shutting down.");
    assert.equal(error.type, "server_error");
    const text = frames
      .slice(0, -1)
      .flatMap((f) => (f as { choices: { delta: { content?: string } }[] }).choices.map((c) => c.delta.content ?? ""))
      .join("");
    assert.equal(text, "partial");
    // An internal error mid-stream does not reveal its message either.
    script = { steps: [...textSteps("x", { finish: null }), { type: "fail", error: new Error("secret detail") }] };
    const internal = await injectChat(t.app, chatBody({ stream: true }));
    const parsed = parseSseBody(internal.body);
    assert.ok(parsed.done);
    assert.equal(assertErrorEnvelope(parsed.frames.at(-1)).type, "server_error");
    assert.ok(!internal.body.includes("secret"));
  });

  it("not streaming, an error after the first event: the error's status and envelope, no partial completion", async () => {
    script = { steps: [...textSteps("par", { finish: null }), { type: "fail", error: new ParleyError("server_busy", "Too slow.", { retryAfter: 3 }) }] };
    const res = await injectChat(t.app, chatBody());
    assert.equal(res.statusCode, 429, res.body);
    assert.equal(res.headers["retry-after"], "3");
    assert.equal(assertErrorEnvelope(res.json()).message, "Too slow.");
  });

  it("an unknown model is a 404 model_not_found naming `model`, and reaches no engine", async () => {
    const calls = t.engine.calls.length;
    for (const stream of [false, true]) {
      const res = await injectChat(t.app, chatBody({ stream }, "no-such-model"));
      assert.equal(res.statusCode, 404);
      const body = assertErrorEnvelope(res.json());
      assert.equal(body.code, "model_not_found");
      assert.equal(body.param, "model");
      assert.equal(body.type, "invalid_request_error");
      assert.match(body.message, /no-such-model/);
    }
    assert.equal(t.engine.calls.length, calls);
  });

  it("an invalid body is a 400 naming the field, and reaches no engine", async () => {
    const calls = t.engine.calls.length;
    const res = await injectChat(t.app, chatBody({ temperature: "hot" }));
    assert.equal(res.statusCode, 400);
    assert.equal(assertErrorEnvelope(res.json()).param, "temperature");
    const bad = await injectChat(t.app, "{not json");
    assert.equal(bad.statusCode, 400);
    assertErrorEnvelope(bad.json());
    assert.equal(t.engine.calls.length, calls);
  });

  it("x-request-id: the client's safe id echoed on every answer (success, error, stream); a new one otherwise", async () => {
    script = { steps: [...textSteps("ok"), usageStep(1, 1)] };
    const ok = await injectChat(t.app, chatBody(), { "x-request-id": "req_abc-123" });
    assert.equal(ok.headers["x-request-id"], "req_abc-123");
    assert.notEqual(ok.json<ChatCompletion>().id, "chatcmpl-req_abc-123", "a client's id may repeat; completion ids may not");
    const streamed = await injectChat(t.app, chatBody({ stream: true }), { "x-request-id": "trace.42" });
    assert.equal(streamed.headers["x-request-id"], "trace.42");
    const missing = await injectChat(t.app, chatBody({}, "nope"), { "x-request-id": "err-1" });
    assert.equal(missing.headers["x-request-id"], "err-1");
    // Unsafe ids are replaced; the completion id then carries the new one.
    const replaced = await injectChat(t.app, chatBody(), { "x-request-id": "bad id\twith spaces" });
    const id = String(replaced.headers["x-request-id"]);
    assert.match(id, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(replaced.json<ChatCompletion>().id, `chatcmpl-${id}`);
    const none = await injectChat(t.app, chatBody());
    assert.match(String(none.headers["x-request-id"]), /^[A-Za-z0-9_-]{16}$/);
  });
});

describe("API keys on the chat route (fake engine, app.inject())", () => {
  let t: FakeApp;
  before(async () => {
    const engine = new FakeEngine({ models: [FAKE_MODEL, "other-model"] });
    t = await fakeApp({
      engines: [engine],
      keys: [
        { user: "alice", key: "sk-alice" },
        { user: "bob", key: "sk-bob", models: ["other-model"] },
      ],
      adminKey: { key: "sk-admin" },
    });
  });
  after(() => t.close());

  it("no key, an unknown key, a malformed header: 401 invalid_api_key with WWW-Authenticate, before the engine", async () => {
    const calls = t.engine.calls.length;
    for (const headers of [{}, { authorization: "Bearer sk-nobody" }, { authorization: "sk-alice" }, { authorization: "Basic c2stYWxpY2U=" }]) {
      const res = await injectChat(t.app, chatBody(), headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.headers["www-authenticate"], "Bearer");
      const body = assertErrorEnvelope(res.json());
      assert.equal(body.code, "invalid_api_key");
      assert.ok(!res.body.includes("sk-alice"), "the key is not echoed");
    }
    assert.equal(t.engine.calls.length, calls);
  });

  it("a key may use its models only: 403 for another (streamed or not), 200 for its own", async () => {
    const calls = t.engine.calls.length;
    for (const stream of [false, true]) {
      const res = await injectChat(t.app, chatBody({ stream }), { authorization: "Bearer sk-bob" });
      assert.equal(res.statusCode, 403, res.body);
      const body = assertErrorEnvelope(res.json());
      assert.equal(body.type, "invalid_request_error");
      assert.equal(body.param, "model");
    }
    assert.equal(t.engine.calls.length, calls, "a refused request reaches no engine");
    assert.equal((await injectChat(t.app, chatBody({}, "other-model"), { authorization: "Bearer sk-bob" })).statusCode, 200);
    assert.equal((await injectChat(t.app, chatBody(), { authorization: "Bearer sk-alice" })).statusCode, 200);
  });

  it("a 404 for an unknown model needs a valid key first (no model probing without one)", async () => {
    assert.equal((await injectChat(t.app, chatBody({}, "nope"))).statusCode, 401);
    assert.equal((await injectChat(t.app, chatBody({}, "nope"), { authorization: "Bearer sk-alice" })).statusCode, 404);
  });
});

describe("a client that leaves mid-stream (fake engine, real socket)", () => {
  it("aborts the engine's work, and the usage it reports as it stops is charged to the key", async () => {
    // 200 slow steps: the stream would take 10 s; the client reads two deltas and leaves.
    const steps = Array.from({ length: 200 }, (_, i) => ({ type: "delta" as const, choice: 0, text: `t${i} `, logprobs: [] }));
    const engine = new FakeEngine({ script: { steps: [...steps, { type: "finish", choice: 0, reason: "stop" }, usageStep(11, 200)], stepDelayMs: 50 } });
    const t = await fakeApp({ engines: [engine], keys: [{ user: "carol", key: "sk-carol" }], adminKey: { key: "sk-admin" } });
    try {
      const url = new URL(await t.app.listen({ host: "127.0.0.1", port: 0 }));
      // node:http, not fetch: destroying the request closes the socket at once (undici's abort may keep it).
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: "Bearer sk-carol" } },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              text += chunk;
              if (!text.includes("t1 ")) return;
              req.destroy();
              resolve(res.statusCode ?? 0);
            });
            res.on("end", () => reject(new Error("the stream ended before the client left")));
          },
        );
        req.on("error", () => undefined);
        req.end(JSON.stringify(chatBody({ stream: true })));
      });
      assert.equal(status, 200);
      const call = engine.calls[0];
      assert.ok(call !== undefined);
      const outcome = await Promise.race([call.ended, new Promise((resolve) => setTimeout(resolve, 5_000, "still running").unref())]);
      assert.equal(outcome, "aborted", "the engine's work stopped when the client left");
      assert.ok(call.signal.aborted);
      // The usage event the engine emitted as it stopped reaches the key's tally.
      let row: { requests: number; prompt_tokens: number; completion_tokens: number } | undefined;
      for (let i = 0; i < 100 && (row?.prompt_tokens ?? 0) === 0; i++) {
        const usage = await t.app.inject({ method: "GET", url: "/admin/usage", headers: { authorization: "Bearer sk-admin" } });
        row = (usage.json() as { data: { user: string; model: string; requests: number; prompt_tokens: number; completion_tokens: number }[] }).data.find((r) => r.user === "carol");
        if ((row?.prompt_tokens ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(row?.requests, 1);
      assert.equal(row?.prompt_tokens, 11);
      const generated = row?.completion_tokens ?? 0;
      assert.ok(generated >= 2 && generated < 200, `charged ${generated} completion tokens: those generated before the client left`);
    } finally {
      await t.close();
    }
  });
});
