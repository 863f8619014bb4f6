/**
 * The Responses API's reasoning items, on a tiny random-weight model with Qwen3's real tokenizer
 * and template (made to think as test/http/reasoning.test.ts does: a template that opens the think
 * block, and a thinking budget that closes it), and its routes behind API keys.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { Response, ResponseStreamEvent } from "openai/resources/responses/responses";
import { ensureRealTokenizerTestModel } from "../../src/testing/real-tokenizer-model.ts";
import { MODEL as TEST_MODEL, startTestServer, type TestServer } from "../support/server.ts";

const MODEL = "qwen3-test";
const OPENS_THOUGHTS = ["{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}", "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"].join(
  "",
);

describe("Responses API: reasoning items (Qwen3 tokenizer and template)", () => {
  let t: TestServer;
  let endTokens: Record<string, number>;
  before(async () => {
    const model = await ensureRealTokenizerTestModel("qwen3");
    t = await startTestServer(["--model", model, "--model-alias", MODEL, "--ctx-size", "1024"]);
    const res = await fetch(`${t.url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: "<|im_end|><|endoftext|>" }) });
    endTokens = Object.fromEntries(((await res.json()) as { tokens: number[] }).tokens.map((id) => [String(id), -100]));
  });
  after(() => t?.close());

  const body = () => ({ model: MODEL, input: "What is 2 + 2?", chat_template: OPENS_THOUGHTS, max_output_tokens: 24, thinking_token_budget: 6, seed: 11, temperature: 1, logit_bias: endTokens });

  it("puts the thoughts in a reasoning item before the message, counted in usage, the same streamed", async () => {
    const r = (await t.client.responses.create({ ...body(), reasoning: { summary: "auto" } } as never)) as Response;
    assert.deepEqual(
      r.output.map((o) => o.type),
      ["reasoning", "message"],
    );
    const reasoning = r.output[0];
    assert.ok(reasoning?.type === "reasoning");
    assert.match(reasoning.id, /^rs_/);
    const thoughts = reasoning.content?.[0]?.text ?? "";
    assert.ok(thoughts !== "" && !thoughts.includes("</think>"), "thoughts without their markers");
    assert.deepEqual(reasoning.summary, [{ type: "summary_text", text: thoughts }], "reasoning.summary asked: the summary carries the thoughts");
    assert.ok(!r.output_text.includes("<think>") && !r.output_text.includes("</think>"));
    assert.equal(r.usage?.output_tokens, 24);
    assert.ok((r.usage?.output_tokens_details.reasoning_tokens ?? 0) >= 6);
    assert.deepEqual(r.reasoning, { effort: null, summary: "auto" });

    const stream = t.client.responses.stream({ ...body(), reasoning: { summary: "auto" } } as never);
    const events: ResponseStreamEvent[] = [];
    stream.on("event", (e) => events.push(e));
    const final = await stream.finalResponse();
    const deltas = events.flatMap((e) => (e.type === "response.reasoning_text.delta" ? [e.delta] : []));
    const summaryDeltas = events.flatMap((e) => (e.type === "response.reasoning_summary_text.delta" ? [e.delta] : []));
    assert.equal(deltas.join(""), thoughts);
    assert.equal(summaryDeltas.join(""), thoughts);
    assert.equal(final.output_text, r.output_text);
    assert.equal(final.usage?.output_tokens_details.reasoning_tokens, r.usage?.output_tokens_details.reasoning_tokens);
  });

  it("without reasoning.summary, the thoughts are the item's content only", async () => {
    const r = (await t.client.responses.create(body() as never)) as Response;
    const reasoning = r.output[0];
    assert.ok(reasoning?.type === "reasoning");
    assert.deepEqual(reasoning.summary, []);
    assert.ok((reasoning.content?.[0]?.text ?? "") !== "");
  });

  it("takes reasoning items back as the assistant's earlier thoughts", async () => {
    const first = (await t.client.responses.create(body() as never)) as Response;
    const res = await fetch(`${t.url}/v1/responses/input_tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: [{ role: "user", content: "What is 2 + 2?" }, ...first.output, { role: "user", content: "And 3 + 3?" }] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const withThoughts = ((await res.json()) as { input_tokens: number }).input_tokens;
    const plain = first.output.filter((o) => o.type !== "reasoning");
    const res2 = await fetch(`${t.url}/v1/responses/input_tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: [{ role: "user", content: "What is 2 + 2?" }, ...plain, { role: "user", content: "And 3 + 3?" }] }),
    });
    assert.equal(res2.status, 200);
    // Qwen3's template drops thoughts of turns before the last user message: both count the same.
    assert.equal(withThoughts, ((await res2.json()) as { input_tokens: number }).input_tokens);
  });
});

describe("Responses API behind API keys", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--api-key", "alice=sk-alice"]);
  });
  after(() => t?.close());

  it("needs a key (401), and works with one", async () => {
    for (const path of ["/v1/responses", "/v1/responses/input_tokens"]) {
      const res = await fetch(`${t.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: TEST_MODEL, input: "Hi", max_output_tokens: 2 }) });
      assert.equal(res.status, 401, path);
    }
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "sk-alice", maxRetries: 0 });
    const r = await client.responses.create({ model: TEST_MODEL, input: "Hi", max_output_tokens: 2 });
    assert.equal(r.object, "response");
  });
});
