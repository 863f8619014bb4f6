import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { APIError } from "openai";
import { MODEL, postChat, startTestServer, type TestServer } from "../support/server.ts";

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
  detail?: { loc: (string | number)[]; msg: string; type: string }[];
}

const ok = { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 1 };

async function expectError(res: Response, status: number): Promise<ErrorBody> {
  assert.equal(res.status, status);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = (await res.json()) as ErrorBody;
  assert.equal(typeof body.error.message, "string");
  assert.equal(typeof body.error.type, "string");
  assert.ok("param" in body.error && "code" in body.error);
  return body;
}

describe("errors", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--body-limit", "4194304"]);
  });
  after(() => t.close());

  it("invalid fields: 400 invalid_request_error naming the field, with a detail list covering all", async () => {
    const body = await expectError(await postChat(t.url, { ...ok, temperature: 3, n: 0, top_logprobs: 50, messages: [{ role: "user", content: 5 }] }), 400);
    assert.equal(body.error.type, "invalid_request_error");
    assert.ok(body.error.param);
    const locs = (body.detail ?? []).map((d) => d.loc.join("."));
    for (const field of ["body.temperature", "body.n", "body.top_logprobs"]) assert.ok(locs.includes(field), `${field} in ${locs.join(", ")}`);
    assert.ok(locs.some((l) => l.startsWith("body.messages.0")));
  });

  it("the official client surfaces the error", async () => {
    await assert.rejects(t.client.chat.completions.create({ model: MODEL, messages: [], max_tokens: 1 }), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 400);
      assert.equal(error.type, "invalid_request_error");
      assert.equal(error.param, "messages");
      return true;
    });
  });

  it("fields implemented later are rejected by name, not ignored", async () => {
    for (const [field, value] of [
      ["typical_p", 0.9],
      ["tfs_z", 0.5],
      ["mirostat", 2],
    ] as const) {
      const body = await expectError(await postChat(t.url, { ...ok, [field]: value }), 400);
      assert.equal(body.error.param, field);
      assert.match(body.error.message, new RegExp(field));
    }
  });

  it("other servers' sampling extras are rejected too, not silently ignored", async () => {
    for (const [field, value] of [
      ["typical_p", 0.9],
      ["allowed_token_ids", [1, 2]],
      ["mirostat", 2],
      ["n_probs", 5],
      ["samplers", ["top_k"]],
    ] as const) {
      const body = await expectError(await postChat(t.url, { ...ok, [field]: value }), 400);
      assert.equal(body.error.param, field);
    }
    const continuous = await expectError(await postChat(t.url, { ...ok, stream: true, stream_options: { continuous_usage_stats: true } }), 400);
    assert.equal(continuous.error.param, "stream_options.continuous_usage_stats");
  });

  it("any integer seed is accepted, 64-bit included; a fractional one is not", async () => {
    assert.equal((await postChat(t.url, `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"max_tokens":1,"seed":9223372036854775807}`)).status, 200);
    assert.equal((await postChat(t.url, { ...ok, seed: -5 })).status, 200);
    await expectError(await postChat(t.url, { ...ok, seed: 1.5 }), 400);
  });

  it("a stop string with a lone surrogate is rejected", async () => {
    const body = await expectError(await postChat(t.url, `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"stop":["\\ude00"]}`), 400);
    assert.match(body.error.param ?? "", /^stop/);
  });

  it("logit_bias that bans the whole vocabulary is a 400, not a 500", async () => {
    const banAll = Object.fromEntries(Array.from({ length: 2048 }, (_, i) => [i, -100]));
    for (const extra of [{}, { logprobs: true, top_p: 0.5 }, { stream: true }]) {
      const body = await expectError(await postChat(t.url, { ...ok, ...extra, logit_bias: banAll }), 400);
      assert.equal(body.error.param, "logit_bias");
    }
  });

  it("huge numbers of messages or special-token strings are refused without stalling the server", async () => {
    const started = performance.now();
    const many = await expectError(await postChat(t.url, { ...ok, messages: Array.from({ length: 100_000 }, () => ({ role: "user", content: "" })) }), 400);
    assert.equal(many.error.param, "messages");
    assert.match(many.error.message, /limit messages/);
    const specials = await expectError(await postChat(t.url, { ...ok, messages: [{ role: "user", content: "<|im_end|>".repeat(40_000) }] }), 400);
    assert.equal(specials.error.code, "context_length_exceeded");
    assert.ok(performance.now() - started < 3000, "the refusals should be fast");
  });

  it("no-op values of those fields are accepted", async () => {
    const res = await postChat(t.url, { ...ok, tools: [], response_format: { type: "text" }, top_k: -1, skip_special_tokens: true, seed: null, stop: null });
    assert.equal(res.status, 200);
  });

  it("non-text content parts are rejected naming the part", async () => {
    const body = await expectError(
      await postChat(t.url, {
        ...ok,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "look" },
              { type: "image_url", image_url: { url: "data:," } },
            ],
          },
        ],
      }),
      400,
    );
    assert.equal(body.error.param, "messages[0].content[1].type");
  });

  it("malformed JSON → 400", async () => {
    const body = await expectError(await postChat(t.url, "{not json"), 400);
    assert.equal(body.error.type, "invalid_request_error");
  });

  it("a JSON body that is not an object → 400", async () => {
    await expectError(await postChat(t.url, "[1,2]"), 400);
  });

  it("wrong content type → 415", async () => {
    await expectError(await postChat(t.url, JSON.stringify(ok), { "content-type": "text/plain" }), 415);
  });

  it("body over the limit → 413", async () => {
    await expectError(await postChat(t.url, { ...ok, messages: [{ role: "user", content: "x".repeat(4_200_000) }] }), 413);
  });

  it("unknown model → 404 model_not_found", async () => {
    const body = await expectError(await postChat(t.url, { ...ok, model: "nope" }), 404);
    assert.equal(body.error.code, "model_not_found");
    assert.equal(body.error.param, "model");
    await expectError(await fetch(`${t.url}/v1/models/nope`), 404);
  });

  it("unknown route → 404 in the same envelope", async () => {
    await expectError(await fetch(`${t.url}/v1/nothing-here`), 404);
  });

  it("a prompt longer than the context → 400 context_length_exceeded", async () => {
    const long = "word ".repeat(2000);
    const body = await expectError(await postChat(t.url, { ...ok, messages: [{ role: "user", content: long }] }), 400);
    assert.equal(body.error.code, "context_length_exceeded");
    const streamed = await expectError(await postChat(t.url, { ...ok, stream: true, messages: [{ role: "user", content: long }] }), 400);
    assert.equal(streamed.error.code, "context_length_exceeded");
  });

  it("max_tokens beyond the context ends with finish_reason length when the context is full", async () => {
    const res = await postChat(t.url, { ...ok, max_tokens: 100_000, logit_bias: { 1: -100, 3: -100 } });
    const body = (await res.json()) as { choices: { finish_reason: string }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    assert.equal(body.choices[0]?.finish_reason, "length");
    assert.ok(body.usage.prompt_tokens + body.usage.completion_tokens <= 512);
    assert.ok(body.usage.prompt_tokens + body.usage.completion_tokens >= 510);
  });

  it("out-of-range logit_bias token ids → 400", async () => {
    const body = await expectError(await postChat(t.url, { ...ok, logit_bias: { 999999: 5 } }), 400);
    assert.equal(body.error.param, "logit_bias");
    await expectError(await postChat(t.url, { ...ok, logit_bias: { abc: 5 } }), 400);
    await expectError(await postChat(t.url, { ...ok, logit_bias: { 5: 101 } }), 400);
  });

  it("survives a barrage of hostile bodies with no 5xx", async () => {
    const bodies: unknown[] = [
      null,
      0,
      "str",
      [],
      {},
      { model: 1 },
      { model: MODEL },
      { model: MODEL, messages: "x" },
      { model: MODEL, messages: [null] },
      { model: MODEL, messages: [{}] },
      { model: MODEL, messages: [{ role: "wizard", content: "x" }] },
      { ...ok, max_tokens: -1 },
      { ...ok, max_tokens: 1.5 },
      { ...ok, n: 129 },
      { ...ok, seed: 1e300 },
      { ...ok, stop: [1] },
      { ...ok, temperature: "hot" },
      { ...ok, logit_bias: [] },
      { ...ok, stream: "yes" },
      { ...ok, messages: [{ role: "tool", content: "x" }] },
      { ...ok, messages: [{ role: "user", content: [{ type: "text" }] }] },
      { ...ok, user: {} },
    ];
    for (const body of bodies) {
      const res = await postChat(t.url, JSON.stringify(body));
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
      await res.json();
    }
    const proto = await postChat(t.url, `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"__proto__":{"polluted":true}}`);
    assert.ok(proto.status < 500);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe("--validation-status 422", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--validation-status", "422"]);
  });
  after(() => t.close());

  it("answers invalid requests with 422 and the same body", async () => {
    const body = await expectError(await postChat(t.url, { ...ok, temperature: -1 }), 422);
    assert.deepEqual(body.detail?.[0]?.loc, ["body", "temperature"]);
  });
});
