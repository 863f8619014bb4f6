/**
 * The Vercel AI SDK's Anthropic provider (`@ai-sdk/anthropic`) against Parley's `/v1/messages`,
 * unmodified: `generateText` and `streamText` give the same text and usage under a seed (passed
 * as a Parley extension through the provider's request body), and a tool call comes back typed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createAnthropic } from "@ai-sdk/anthropic";
import { generateText, jsonSchema, streamText, tool } from "ai";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

describe("AI SDK Anthropic provider", () => {
  let t: TestServer;
  let provider: ReturnType<typeof createAnthropic>;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
    // Parley's seed (and, without tools, logit_bias) ride along in the body, so the two calls can be compared.
    const seeded: typeof fetch = async (input, init) => {
      const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
      return fetch(input, { ...init, body: JSON.stringify({ ...body, seed: 9, ...(body.tools === undefined ? { logit_bias: NO_EOS } : {}) }) });
    };
    provider = createAnthropic({ baseURL: `${t.url}/v1`, apiKey: "unused", fetch: seeded });
  });
  after(() => t?.close());

  it("generateText and streamText give the same text and usage", async () => {
    const options = { model: provider(MODEL), prompt: "Say something.", maxOutputTokens: 10, temperature: 1, maxRetries: 0 };
    const whole = await generateText(options);
    assert.ok(whole.text !== "");
    assert.equal(whole.finishReason, "length");
    assert.equal(whole.usage.outputTokens, 10);
    const stream = streamText(options);
    assert.equal(await stream.text, whole.text);
    assert.equal((await stream.usage).outputTokens, 10);
    assert.equal((await stream.usage).inputTokens, whole.usage.inputTokens);
    assert.equal(await stream.finishReason, "length");
  });

  it("returns a tool call with typed input when one is required", async () => {
    const schema = { type: "object" as const, properties: { city: { type: "string" as const, maxLength: 12 } }, required: ["city"], additionalProperties: false };
    const result = await generateText({
      model: provider(MODEL),
      prompt: "What is the weather in Paris?",
      tools: { get_weather: tool({ description: "Current weather", inputSchema: jsonSchema<{ city: string }>(schema) }) },
      toolChoice: "required",
      providerOptions: { anthropic: { disableParallelToolUse: true } },
      maxOutputTokens: 200,
      maxRetries: 0,
    });
    assert.equal(result.finishReason, "tool-calls");
    const [call] = result.toolCalls;
    assert.ok(call !== undefined);
    assert.equal(call.toolName, "get_weather");
    assert.equal(typeof (call.input as { city: unknown }).city, "string");
  });
});
