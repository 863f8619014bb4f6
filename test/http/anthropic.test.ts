/**
 * Anthropic's Messages API over HTTP with the random test model, driven by the official
 * `@anthropic-ai/sdk` client (and raw HTTP where the event stream or the error envelope is the
 * point): the message shape, stop reasons and stop sequences, streaming equal to the whole message
 * under a seed, tool use round trips, token counting, `x-api-key` auth and Anthropic's errors.
 * The properties hold whatever the model writes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import type { Message, MessageCreateParamsNonStreaming, MessageParam, Tool } from "@anthropic-ai/sdk/resources/messages/messages";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";
import { callValidator, TEST_TOOLS } from "../support/tools.ts";

/** Parley's extensions (seed, logit_bias) on top of Anthropic's fields: the SDK sends them as they are. */
type Body = Omit<MessageCreateParamsNonStreaming, "model" | "max_tokens" | "messages"> & {
  max_tokens?: number;
  messages?: MessageParam[];
  seed?: number;
  temperature?: number;
  logit_bias?: Record<string, number>;
};

const USER: MessageParam[] = [{ role: "user", content: "Tell me about the weather in Paris." }];
const TOOLS: Tool[] = TEST_TOOLS.map((t) => ({
  name: t.function.name,
  description: t.function.description ?? "",
  input_schema: (t.function.parameters ?? { type: "object", properties: {} }) as Tool["input_schema"],
}));
const validCall = callValidator(TEST_TOOLS);

function text(message: Message): string {
  return message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
}

/** The content blocks with their tool-use ids blanked (new ones are drawn for every response). */
function withoutIds(message: Message): unknown[] {
  return message.content.map((b) => (b.type === "tool_use" ? { ...b, id: "" } : b));
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

describe("Anthropic Messages API", () => {
  let t: TestServer;
  let client: Anthropic;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
    client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
  });
  after(() => t?.close());

  const create = (body: Body): Promise<Message> => client.messages.create({ model: MODEL, max_tokens: 16, messages: USER, ...body } as MessageCreateParamsNonStreaming);
  const streamed = (body: Body): Promise<Message> => client.messages.stream({ model: MODEL, max_tokens: 16, messages: USER, ...body } as MessageCreateParamsNonStreaming).finalMessage();

  it("answers with a message: one text block, max_tokens, exact usage", async () => {
    const message = await create({ max_tokens: 12, seed: 1, temperature: 1, logit_bias: NO_EOS });
    assert.match(message.id, /^msg_/);
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.equal(message.model, MODEL);
    assert.equal(message.content.length, 1);
    assert.equal(message.content[0]?.type, "text");
    assert.ok(text(message) !== "");
    assert.equal(message.stop_reason, "max_tokens");
    assert.equal(message.stop_sequence, null);
    assert.equal(message.usage.output_tokens, 12);
    assert.equal(message.usage.cache_creation_input_tokens, 0);
    const counted = await client.messages.countTokens({ model: MODEL, messages: USER });
    assert.equal(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0), counted.input_tokens);
    assert.ok(counted.input_tokens > 0);
  });

  it("ends at a stop sequence and says which, streamed or not", async () => {
    const body: Body = { max_tokens: 24, seed: 7, temperature: 1, logit_bias: NO_EOS };
    const full = text(await create(body));
    const stop = full.slice(8, 11);
    assert.equal(stop.length, 3, `output long enough: ${JSON.stringify(full)}`);
    const otherStop = "\u{1F600}never"; // listed first, never found: the one that matched is named
    for (const message of [await create({ ...body, stop_sequences: [otherStop, stop] }), await streamed({ ...body, stop_sequences: [otherStop, stop] })]) {
      assert.equal(message.stop_reason, "stop_sequence");
      assert.equal(message.stop_sequence, stop);
      assert.equal(text(message), full.slice(0, full.indexOf(stop)));
    }
  });

  it("streams the same message it answers whole, under a seed", async () => {
    for (const seed of [3, 4]) {
      const body: Body = { max_tokens: 20, seed, temperature: 1 };
      const whole = await create(body);
      const stream = await streamed(body);
      assert.deepEqual(stream.content, whole.content);
      assert.equal(stream.stop_reason, whole.stop_reason);
      assert.equal(stream.stop_sequence, whole.stop_sequence);
      assert.equal(stream.usage.output_tokens, whole.usage.output_tokens);
      assert.equal(stream.usage.input_tokens + (stream.usage.cache_read_input_tokens ?? 0), whole.usage.input_tokens + (whole.usage.cache_read_input_tokens ?? 0));
    }
  });

  it("sends Anthropic's event sequence, with named SSE events", async () => {
    const res = await post(t.url, "/v1/messages", { model: MODEL, max_tokens: 6, messages: USER, stream: true, seed: 2, logit_bias: NO_EOS });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const frames = (await res.text())
      .split("\n\n")
      .filter((f) => f !== "")
      .map((f) => {
        const match = /^event: ([a-z_]+)\ndata: (.*)$/s.exec(f);
        assert.ok(match, `a named event: ${JSON.stringify(f)}`);
        const data = JSON.parse(match[2] ?? "") as { type: string };
        assert.equal(data.type, match[1]);
        return data as { type: string } & Record<string, unknown>;
      });
    const names = frames.map((f) => f.type);
    assert.deepEqual(names.slice(0, 3), ["message_start", "ping", "content_block_start"]);
    assert.deepEqual(names.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
    assert.ok(names.slice(3, -3).every((n) => n === "content_block_delta"));
    const delta = frames.at(-2) as unknown as { delta: { stop_reason: string }; usage: { output_tokens: number } };
    assert.equal(delta.delta.stop_reason, "max_tokens");
    assert.equal(delta.usage.output_tokens, 6);
  });

  it("tool use: any → schema-valid tool_use blocks, streamed equal to whole; the result goes back", async () => {
    let complete = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const body: Body = { max_tokens: 300, tools: TOOLS, tool_choice: { type: "any" }, seed, temperature: 1 };
      const message = await create(body);
      assert.deepEqual(withoutIds(await streamed(body)), withoutIds(message), "call ids are random; the rest is equal");
      if (message.stop_reason !== "tool_use") {
        assert.equal(message.stop_reason, "max_tokens");
        continue;
      }
      complete++;
      const calls = message.content.filter((b) => b.type === "tool_use");
      assert.ok(calls.length >= 1);
      for (const call of calls) {
        assert.match(call.id, /^toolu_/);
        assert.equal(typeof call.input, "object");
        validCall({ name: call.name, arguments: JSON.stringify(call.input) }, `seed ${seed}`);
      }
      const [first] = calls;
      if (complete > 1 || first === undefined) continue;
      // The round trip: the calls and their results go back; an error result is accepted too.
      const results = calls.map((c, i) => ({
        type: "tool_result" as const,
        tool_use_id: c.id,
        content: i === 0 ? "18 degrees, sunny" : [{ type: "text" as const, text: "no data" }],
        is_error: i > 0,
      }));
      const next = await create({ messages: [...USER, { role: "assistant", content: message.content }, { role: "user", content: results }], tools: TOOLS, max_tokens: 8, seed });
      assert.ok(next.stop_reason === "end_turn" || next.stop_reason === "max_tokens" || next.stop_reason === "tool_use");
    }
    assert.ok(complete >= 2, `${complete} of 6 requests ended with complete calls`);
  });

  it("tool use: a named tool, one call at most with disable_parallel_tool_use, none with tool_choice none", async () => {
    const named = await create({ max_tokens: 300, tools: TOOLS, tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true }, seed: 5, temperature: 1 });
    const calls = named.content.filter((b) => b.type === "tool_use");
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.name, "get_weather");
    const none = await create({ max_tokens: 20, tools: TOOLS, tool_choice: { type: "none" }, seed: 5, temperature: 1 });
    assert.ok(none.content.every((b) => b.type === "text"));
    assert.notEqual(none.stop_reason, "tool_use");
  });

  it("refuses what it cannot do in Anthropic's envelope, naming the field or block", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ max_tokens: 4, messages: USER, frobnicate: 1 }, /frobnicate/],
      [{ messages: USER }, /max_tokens/],
      [
        { max_tokens: 4, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } }] }] },
        /messages\[0\]\.content\[0\]\.type: .*`image`/,
      ],
      [{ max_tokens: 4, messages: USER, tools: [{ type: "web_search_20250305", name: "web_search" }] }, /tools\[0\]\.type: .*web_search_20250305/],
      [{ max_tokens: 4, messages: USER, tool_choice: { type: "any" } }, /tool_choice/],
      [{ max_tokens: 4, messages: USER, container: "c1" }, /container/],
      [{ max_tokens: 8, messages: USER, thinking: { type: "enabled", budget_tokens: 8 } }, /budget_tokens/],
    ];
    for (const [body, pattern] of cases) {
      const res = await post(t.url, "/v1/messages", { model: MODEL, ...body });
      assert.equal(res.status, 400, JSON.stringify(body));
      const error = (await res.json()) as { type: string; error: { type: string; message: string } };
      assert.equal(error.type, "error");
      assert.equal(error.error.type, "invalid_request_error");
      assert.match(error.error.message, pattern);
    }
    const missing = await post(t.url, "/v1/messages", { model: "no-such-model", max_tokens: 4, messages: USER });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { type: string } }).error.type, "not_found_error");
    await assert.rejects(create({ max_tokens: 4, messages: [{ role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "x" } }] }] }), (error: unknown) => {
      assert.ok(error instanceof Anthropic.BadRequestError);
      assert.match(error.message, /document/);
      return true;
    });
  });

  it("accepts anthropic-version and anthropic-beta headers, and a system prompt in blocks", async () => {
    const res = await post(
      t.url,
      "/v1/messages",
      { model: MODEL, max_tokens: 4, system: [{ type: "text", text: "Be brief." }], messages: USER, metadata: { user_id: "u-1" }, service_tier: "auto" },
      { "anthropic-version": "2023-06-01", "anthropic-beta": "something-2099-01-01" },
    );
    assert.equal(res.status, 200, await res.clone().text());
    const withSystem = await client.messages.countTokens({ model: MODEL, system: "Be brief.", messages: USER });
    const without = await client.messages.countTokens({ model: MODEL, messages: USER });
    assert.ok(withSystem.input_tokens > without.input_tokens, "the system prompt reaches the template");
  });
});

describe("Anthropic Messages API with API keys", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--api-key", "alice=sk-alice"]);
  });
  after(() => t?.close());

  it("takes the key in x-api-key (the SDK's way) or as a bearer token, and refuses others in Anthropic's envelope", async () => {
    const body = { model: MODEL, max_tokens: 2, messages: USER };
    const withKey = new Anthropic({ baseURL: t.url, apiKey: "sk-alice", maxRetries: 0 });
    assert.equal((await withKey.messages.create(body)).type, "message");
    const withToken = new Anthropic({ baseURL: t.url, apiKey: null, authToken: "sk-alice", maxRetries: 0 });
    assert.equal((await withToken.messages.countTokens({ model: MODEL, messages: USER })).input_tokens > 0, true);
    const wrong = new Anthropic({ baseURL: t.url, apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(wrong.messages.create(body), (error: unknown) => {
      assert.ok(error instanceof Anthropic.AuthenticationError);
      return true;
    });
    const res = await post(t.url, "/v1/messages", body);
    assert.equal(res.status, 401);
    assert.deepEqual(Object.keys((await res.json()) as object), ["type", "error"]);
    // x-api-key is the Messages API's header only.
    assert.equal((await fetch(`${t.url}/v1/models`, { headers: { "x-api-key": "sk-alice" } })).status, 401);
  });
});
