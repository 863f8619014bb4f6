/**
 * Anthropic's thinking blocks over HTTP, on a tiny random-weight model with Qwen3's real tokenizer
 * and template (src/testing/real-tokenizer-model.ts), driven by `@anthropic-ai/sdk`. The random
 * model never thinks on its own: a client template (Parley's `chat_template` extension) opens the
 * think block in the generation prompt, and `thinking.budget_tokens` closes it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import type { Message, MessageCreateParamsNonStreaming, MessageParam } from "@anthropic-ai/sdk/resources/messages/messages";
import { ensureRealTokenizerTestModel } from "../../src/testing/real-tokenizer-model.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const MODEL = "qwen3-test";
/** A client template that opens the think block in the generation prompt, as DeepSeek-R1's does. */
const OPENS_THOUGHTS = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";
const USER: MessageParam[] = [{ role: "user", content: "What is 2 + 2?" }];

describe("Anthropic thinking blocks (Qwen3 tokenizer and template)", () => {
  let t: TestServer;
  let client: Anthropic;
  let endTokens: Record<string, number>;
  before(async () => {
    t = await startTestServer(["--model", await ensureRealTokenizerTestModel("qwen3"), "--model-alias", MODEL, "--ctx-size", "1024"]);
    client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
    const res = await fetch(`${t.url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: "<|im_end|><|endoftext|>" }) });
    endTokens = Object.fromEntries(((await res.json()) as { tokens: number[] }).tokens.map((id) => [String(id), -100]));
  });
  after(() => t?.close());

  const body = (extra: Record<string, unknown>) =>
    ({ model: MODEL, max_tokens: 24, messages: USER, chat_template: OPENS_THOUGHTS, seed: 11, temperature: 1, logit_bias: endTokens, ...extra }) as unknown as MessageCreateParamsNonStreaming;

  it("puts the thoughts in a signed thinking block before the text, the same streamed or not", async () => {
    const request = body({ thinking: { type: "enabled", budget_tokens: 6 } });
    const message = await client.messages.create(request);
    const [thinking, answer] = message.content;
    assert.equal(thinking?.type, "thinking");
    assert.equal(answer?.type, "text");
    assert.ok(thinking.thinking !== "" && !thinking.thinking.includes("</think>"));
    assert.match(thinking.signature, /^parley:/);
    assert.ok(answer.text !== "");
    assert.equal(message.stop_reason, "max_tokens");
    assert.equal(message.usage.output_tokens, 24);
    const thoughtTokens = message.usage.output_tokens_details?.thinking_tokens ?? 0;
    assert.ok(thoughtTokens >= 6, `thinking_tokens ${thoughtTokens}`);

    const streamed: Message = await client.messages.stream(request).finalMessage();
    assert.deepEqual(streamed.content, message.content);
    assert.equal(streamed.usage.output_tokens_details?.thinking_tokens, thoughtTokens);

    const omitted = await client.messages.create(body({ thinking: { type: "enabled", budget_tokens: 6, display: "omitted" } }));
    assert.deepEqual(omitted.content[0], { ...thinking, thinking: "" }, "display omitted: no text, the same signature");
  });

  it("turns thinking off with thinking disabled", async () => {
    const message = await client.messages.create({ model: MODEL, max_tokens: 8, messages: USER, thinking: { type: "disabled" } });
    assert.ok(message.content.every((b) => b.type === "text"));
    assert.equal(message.usage.output_tokens_details?.thinking_tokens ?? 0, 0);
  });

  it("shows earlier thoughts to the template, and drops redacted ones", async () => {
    const count = (content: MessageParam["content"]) => client.messages.countTokens({ model: MODEL, messages: [...USER, { role: "assistant", content }] }).then((c) => c.input_tokens);
    const plain = await count([{ type: "text", text: "Four." }]);
    const thought = await count([
      { type: "thinking", thinking: "Adding two and two gives four.", signature: "anything" },
      { type: "text", text: "Four." },
    ]);
    const redacted = await count([
      { type: "redacted_thinking", data: "opaque" },
      { type: "text", text: "Four." },
    ]);
    assert.ok(thought > plain, `${thought} > ${plain}`);
    assert.equal(redacted, plain);
  });
});
