/**
 * The Responses API and Anthropic Messages through upstream engines, over real HTTP on 127.0.0.1,
 * with the `openai` and `@anthropic-ai/sdk` clients. Each request becomes domain chat requests that
 * the upstream engine forwards as chat completions. Against a real upstream Parley serving the test
 * model: the same text, finish/stop reasons and usage as the upstream answers directly at
 * temperature 0, and forced tool calls round trip. Against a fake vLLM upstream (recording each
 * body, answering canned streams): the exact chat body it receives, vLLM's string `stop_reason`
 * as Anthropic's `stop_sequence`, and what an upstream cannot serve refused by name.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import type { Message, MessageCreateParamsNonStreaming, Tool } from "@anthropic-ai/sdk/resources/messages/messages";
import type { FunctionTool, Response as OpenAIResponse, ResponseCreateParamsNonStreaming } from "openai/resources/responses/responses";
import type { UpstreamDialect } from "../../src/engines/upstream/dialect.ts";
import { MODEL, startTestServer, type TestServer } from "../support/server.ts";
import { callValidator, TEST_TOOLS } from "../support/tools.ts";
import { chunk, FakeUpstream, FRONT, type Front, startFront, usage } from "../support/upstream-fakes.ts";

const RESPONSES_TOOLS: FunctionTool[] = TEST_TOOLS.map((t) => ({
  type: "function",
  name: t.function.name,
  description: t.function.description ?? null,
  parameters: t.function.parameters ?? null,
  strict: false,
}));
const ANTHROPIC_TOOLS: Tool[] = TEST_TOOLS.map((t) => ({
  name: t.function.name,
  description: t.function.description ?? "",
  input_schema: (t.function.parameters ?? { type: "object", properties: {} }) as Tool["input_schema"],
}));
const validCall = callValidator(TEST_TOOLS);

/** A Messages body less `model`; this SDK's types no longer list the sampling fields Parley (and Anthropic) accept. */
type MessagesBody = Omit<MessageCreateParamsNonStreaming, "model"> & { temperature?: number; top_k?: number };
const params = (body: MessagesBody & { model: string }) => body as MessageCreateParamsNonStreaming;

/** What a Responses answer says, less what differs between servers (ids, times, model names, cached tokens). */
function responseGist(r: OpenAIResponse) {
  return {
    status: r.status,
    incomplete: r.incomplete_details?.reason ?? null,
    text: r.output_text,
    calls: r.output.flatMap((o) => (o.type === "function_call" ? [{ name: o.name, arguments: o.arguments }] : [])),
    input_tokens: r.usage?.input_tokens,
    output_tokens: r.usage?.output_tokens,
  };
}

function messageGist(m: Message) {
  return {
    stop_reason: m.stop_reason,
    stop_sequence: m.stop_sequence,
    content: m.content.map((b) => (b.type === "text" ? { text: b.text } : b.type === "tool_use" ? { name: b.name, input: b.input } : { type: b.type })),
    // Anthropic counts cache reads apart, and the two servers' prefix caches differ: the sum is the prompt.
    input_tokens: m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0) + (m.usage.cache_creation_input_tokens ?? 0),
    output_tokens: m.usage.output_tokens,
  };
}

describe("Responses and Messages through a real upstream Parley", () => {
  let back: TestServer;
  let front: Front;
  let backAnthropic: Anthropic;

  before(async () => {
    back = await startTestServer(["--parallel", "2", "--ctx-size", "2048"]);
    front = await startFront({ baseUrls: [`${back.url}/v1`] });
    backAnthropic = new Anthropic({ baseURL: back.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
  });
  after(async () => {
    await front?.close();
    await back?.close();
  });

  const responsesCases: [string, Omit<ResponseCreateParamsNonStreaming, "model" | "stream">][] = [
    ["text, cut by max_output_tokens", { input: "Tell me a story", max_output_tokens: 12, temperature: 0 }],
    ["instructions and a short budget", { instructions: "Be brief.", input: [{ role: "user", content: "Hi" }], max_output_tokens: 40, temperature: 0 }],
  ];
  for (const [name, body] of responsesCases) {
    it(`responses.create and responses.stream: ${name}, as the upstream answers directly`, async () => {
      const direct = responseGist(await back.client.responses.create({ model: MODEL, ...body }));
      const created = responseGist(await front.openai.responses.create({ model: FRONT, ...body }));
      const streamed = responseGist(await front.openai.responses.stream({ model: FRONT, ...body }).finalResponse());
      assert.deepEqual(created, direct);
      assert.deepEqual(streamed, direct);
      assert.ok((direct.output_tokens ?? 0) > 0);
    });
  }

  it("responses: tool_choice required round trips a schema-valid call", async () => {
    const body = { input: "Weather in Paris?", tools: RESPONSES_TOOLS, tool_choice: "required" as const, parallel_tool_calls: false, max_output_tokens: 200, temperature: 0 };
    const direct = responseGist(await back.client.responses.create({ model: MODEL, ...body }));
    const created = responseGist(await front.openai.responses.create({ model: FRONT, ...body }));
    const streamed = responseGist(await front.openai.responses.stream({ model: FRONT, ...body }).finalResponse());
    assert.equal(created.calls.length, 1);
    for (const call of created.calls) validCall(call);
    assert.deepEqual(created, direct);
    assert.deepEqual(streamed, direct);
  });

  const messagesCases: [string, MessagesBody][] = [
    ["text, cut by max_tokens", { max_tokens: 12, messages: [{ role: "user", content: "Tell me a story" }], temperature: 0 }],
    ["a system prompt", { max_tokens: 40, system: "Be brief.", messages: [{ role: "user", content: "Hi" }], temperature: 0 }],
  ];
  for (const [name, body] of messagesCases) {
    it(`messages.create and messages.stream: ${name}, as the upstream answers directly`, async () => {
      const direct = messageGist(await backAnthropic.messages.create(params({ model: MODEL, ...body })));
      const created = messageGist(await front.anthropic.messages.create(params({ model: FRONT, ...body })));
      const streamed = messageGist(await front.anthropic.messages.stream(params({ model: FRONT, ...body })).finalMessage());
      assert.deepEqual(created, direct);
      assert.deepEqual(streamed, direct);
      assert.ok(direct.output_tokens > 0);
    });
  }

  it("messages: tool_choice any round trips a schema-valid tool_use", async () => {
    const body: MessagesBody = {
      max_tokens: 300,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: ANTHROPIC_TOOLS,
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      temperature: 0,
    };
    const direct = messageGist(await backAnthropic.messages.create(params({ model: MODEL, ...body })));
    const created = await front.anthropic.messages.create(params({ model: FRONT, ...body }));
    const streamed = messageGist(await front.anthropic.messages.stream(params({ model: FRONT, ...body })).finalMessage());
    assert.equal(created.stop_reason, "tool_use");
    const uses = created.content.flatMap((b) => (b.type === "tool_use" ? [b] : []));
    assert.equal(uses.length, 1);
    for (const use of uses) validCall({ name: use.name, arguments: JSON.stringify(use.input) });
    assert.deepEqual(messageGist(created), direct);
    assert.deepEqual(streamed, direct);
  });
});

describe("Responses and Messages through a fake vLLM upstream", () => {
  let fake: FakeUpstream;
  let front: Front;

  before(async () => {
    fake = new FakeUpstream();
    front = await startFront({ baseUrls: [await fake.listen()], dialect: "vllm" satisfies UpstreamDialect });
  });
  after(async () => {
    await front?.close();
    await fake?.close();
  });

  const HEAD = { model: MODEL, stream: true, stream_options: { include_usage: true } };

  it("responses: max_output_tokens, sampling and tools become the chat body vLLM receives", async () => {
    fake.bodies.length = 0;
    const r = await front.openai.responses.create({
      model: FRONT,
      instructions: "Be brief.",
      input: "Hi",
      max_output_tokens: 9,
      temperature: 0.5,
      top_p: 0.9,
      tools: [RESPONSES_TOOLS[0] as FunctionTool],
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    assert.equal(r.output_text, "Hello");
    assert.deepEqual(r.usage && { i: r.usage.input_tokens, o: r.usage.output_tokens }, { i: 7, o: 2 });
    assert.equal(fake.bodies.length, 1);
    const body = fake.bodies[0] as Record<string, unknown>;
    assert.deepEqual(body.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    assert.equal(body.max_tokens, 9);
    assert.equal(body.temperature, 0.5);
    assert.equal(body.top_p, 0.9);
    assert.equal(body.tool_choice, "required");
    assert.equal(body.parallel_tool_calls, false);
    assert.deepEqual(body.tools, [TEST_TOOLS[0]]);
    for (const [k, v] of Object.entries(HEAD)) assert.deepEqual(body[k], v, k);
  });

  it("messages: max_tokens, stop_sequences, system and tools become the chat body vLLM receives", async () => {
    fake.bodies.length = 0;
    const m = await front.anthropic.messages.create(
      params({
        model: FRONT,
        max_tokens: 9,
        system: "Be brief.",
        stop_sequences: ["\n\n", "END"],
        messages: [{ role: "user", content: "Hi" }],
        tools: [ANTHROPIC_TOOLS[0] as Tool],
        tool_choice: { type: "any" },
        temperature: 0.5,
        top_k: 4,
      }),
    );
    assert.deepEqual(messageGist(m), { stop_reason: "end_turn", stop_sequence: null, content: [{ text: "Hello" }], input_tokens: 7, output_tokens: 2 });
    const body = fake.bodies[0] as Record<string, unknown>;
    assert.deepEqual(body.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    assert.equal(body.max_tokens, 9);
    assert.deepEqual(body.stop, ["\n\n", "END"]);
    assert.equal(body.temperature, 0.5);
    assert.equal(body.top_k, 4);
    assert.equal(body.tool_choice, "required");
    assert.deepEqual(body.tools, [{ type: "function", function: { name: "get_weather", description: TEST_TOOLS[0]?.function.description, parameters: TEST_TOOLS[0]?.function.parameters } }]);
  });

  it("messages: vLLM's string stop_reason is Anthropic's stop_sequence, create and stream", async () => {
    const saved = fake.behaviour;
    fake.behaviour = (res) =>
      res.writeHead(200, { "content-type": "text/event-stream" }).end(chunk({ role: "assistant", content: "Hello" }) + chunk({}, "stop", { stop_reason: "END" }) + usage(7, 2) + "data: [DONE]\n\n");
    try {
      const body = { model: FRONT, max_tokens: 9, stop_sequences: ["END"], messages: [{ role: "user" as const, content: "Hi" }] };
      for (const m of [await front.anthropic.messages.create(body), await front.anthropic.messages.stream(body).finalMessage()]) {
        assert.equal(m.stop_reason, "stop_sequence");
        assert.equal(m.stop_sequence, "END");
      }
    } finally {
      fake.behaviour = saved;
    }
  });

  it("what an upstream cannot serve is a 400 naming the field, never forwarded", async () => {
    fake.bodies.length = 0;
    const cases: [string, string, Record<string, unknown>, string][] = [
      ["responses truncation auto", "/v1/responses", { model: FRONT, input: "Hi", truncation: "auto" }, "truncation"],
      ["responses input_tokens", "/v1/responses/input_tokens", { model: FRONT, input: "Hi" }, "model"],
      ["messages count_tokens", "/v1/messages/count_tokens", { model: FRONT, messages: [{ role: "user", content: "Hi" }] }, "model"],
    ];
    for (const [name, path, body, param] of cases) {
      const res = await fetch(`${front.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      assert.equal(res.status, 400, name);
      const error = ((await res.json()) as { error: { param?: string | null; message: string } }).error;
      if (path.startsWith("/v1/messages")) assert.match(error.message, /upstream/, name);
      else assert.equal(error.param, param, name);
    }
    assert.equal(fake.bodies.length, 0);
  });
});
