import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

describe("non-streaming chat completions", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it("returns the OpenAI shape with exact usage", async () => {
    const res = await t.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Hello there" }],
      max_tokens: 7,
      logit_bias: NO_EOS,
    });
    assert.match(res.id, /^chatcmpl-/);
    assert.equal(res.object, "chat.completion");
    assert.equal(res.model, MODEL);
    assert.ok(Number.isInteger(res.created) && Math.abs(res.created - Date.now() / 1000) < 60);
    assert.match(res.system_fingerprint ?? "", /^fp_/);
    assert.equal(res.choices.length, 1);
    const [choice] = res.choices;
    assert.ok(choice);
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, "assistant");
    assert.equal(typeof choice.message.content, "string");
    assert.equal(choice.message.refusal, null);
    assert.equal(choice.logprobs, null);
    assert.equal(choice.finish_reason, "length");
    assert.equal(res.usage?.completion_tokens, 7);
    assert.equal(res.usage?.total_tokens, (res.usage?.prompt_tokens ?? 0) + 7);
  });

  it("counts prompt tokens exactly: one more word, one more token", async () => {
    const usage = async (content: string) => (await t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], max_tokens: 1 })).usage;
    const a = await usage("Tell me a story about");
    const b = await usage("Tell me a story about the");
    assert.ok(a && b);
    // " the" is a single token of the test vocabulary, and the pre-tokenizer splits it off.
    assert.equal(b.prompt_tokens - a.prompt_tokens, 1);
  });

  it("max_completion_tokens works like max_tokens", async () => {
    const res = await t.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Count" }],
      max_completion_tokens: 3,
      logit_bias: NO_EOS,
    });
    assert.equal(res.usage?.completion_tokens, 3);
    assert.equal(res.choices[0]?.finish_reason, "length");
  });

  it("+100 on EOS ends at once with finish_reason stop", async () => {
    const res = await t.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 20,
      logit_bias: { "1": 100 },
    });
    assert.equal(res.choices[0]?.finish_reason, "stop");
    assert.equal(res.choices[0]?.message.content, "");
    assert.equal(res.usage?.completion_tokens, 0);
  });

  it("accepts array-of-text content, names, developer and tool roles", async () => {
    const res = await t.client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: "developer", content: "Be brief." },
        {
          role: "system",
          content: [
            { type: "text", text: "You are " },
            { type: "text", text: "helpful." },
          ],
          name: "sys",
        },
        { role: "user", content: [{ type: "text", text: "Hi" }], name: "alice" },
        { role: "assistant", content: "Hello" },
        { role: "tool", content: "42", tool_call_id: "call_1" },
        { role: "user", content: "Go on" },
      ],
      max_tokens: 2,
    });
    assert.equal(res.choices.length, 1);
  });

  it("refuses an unknown top-level field by name rather than ignore it", async () => {
    await assert.rejects(
      t.client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 1,
        // @ts-expect-error a field no API Parley speaks defines
        some_vendor_extra: { anything: true },
      }),
      (error: unknown) => error instanceof Error && "status" in error && error.status === 400 && /some_vendor_extra/.test(error.message),
    );
  });

  it("lists models and health", async () => {
    const models = await t.client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL],
    );
    const model = await t.client.models.retrieve(MODEL);
    assert.equal(model.id, MODEL);
    assert.equal(model.object, "model");
    const health = await fetch(`${t.url}/health`);
    assert.equal(health.status, 200);
  });
});

describe("while the model loads", () => {
  const chat = (url: string) =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    });

  it("health answers 503 until loaded; a request waits for the load", async () => {
    const { loadConfig } = await import("../../src/config/config.ts");
    const { startServer } = await import("../../src/server.ts");
    const server = await startServer(loadConfig(["--port", "0", "--threads", "1", "--ctx-size", "256", "--log-level", "warn"], {}));
    try {
      const early = await fetch(`${server.url}/health`);
      const answer = await chat(server.url);
      await server.ready;
      const late = await fetch(`${server.url}/health`);
      assert.equal(early.status, 503);
      assert.equal(answer.status, 200);
      assert.equal(late.status, 200);
    } finally {
      await server.close();
    }
  });

  it("a request that waits longer than --queue-timeout for the load gets 503 with Retry-After", async () => {
    const { loadConfig } = await import("../../src/config/config.ts");
    const { startServer } = await import("../../src/server.ts");
    const server = await startServer(loadConfig(["--port", "0", "--threads", "1", "--ctx-size", "256", "--log-level", "error", "--queue-timeout", "0.001"], {}));
    try {
      const answer = await chat(server.url);
      await server.ready;
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get("retry-after"), "1");
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, "model_loading");
    } finally {
      await server.close();
    }
  });
});
