/**
 * The Responses API (`POST /v1/responses`) over HTTP with the random test model, driven by the
 * official clients: openai's `responses.create`/`stream`/`parse` (with `zodTextFormat`) and the
 * AI SDK's default OpenAI provider, plus raw SSE where the wire is the point. The properties hold
 * whatever the model writes: shapes, exact usage, stream = non-stream under a seed, schema-valid
 * structured output, finish statuses.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, streamText, tool } from "ai";
import { zodTextFormat } from "openai/helpers/zod";
import type { FunctionTool, Response, ResponseInputItem, ResponseStreamEvent } from "openai/resources/responses/responses";
import { z } from "zod";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, TEST_TOOLS } from "../support/tools.ts";

/** The chat test tools in the Responses API's flat shape (not strict: the schemas use optional fields). */
const TOOLS: FunctionTool[] = TEST_TOOLS.map((t) => ({
  type: "function",
  name: t.function.name,
  description: t.function.description ?? null,
  parameters: t.function.parameters ?? null,
  strict: false,
}));

async function post(url: string, path: string, body: unknown): Promise<globalThis.Response> {
  return fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** Named SSE frames: each `event:` line with its JSON `data:`. */
function parseNamedSse(body: string): { event: string; data: Record<string, unknown> }[] {
  assert.ok(body.endsWith("\n\n"), "the stream ends with a blank line");
  return body
    .slice(0, -2)
    .split("\n\n")
    .map((frame) => {
      const match = /^event: ([^\n]+)\ndata: ([^\n]+)$/.exec(frame);
      assert.ok(match !== null, `bad SSE frame: ${JSON.stringify(frame)}`);
      return { event: match[1] ?? "", data: JSON.parse(match[2] ?? "") as Record<string, unknown> };
    });
}

/** `responses.create` with Parley's extra fields (`seed`, `logit_bias`), which the SDK's type does not know. */
async function createWith(t: TestServer, body: Record<string, unknown>): Promise<Response> {
  return (await t.client.responses.create(body as never)) as Response;
}

describe("Responses API", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());
  const create = (body: Record<string, unknown>) => createWith(t, body);

  it("answers a string input with a completed response whose usage is exact", async () => {
    const response = await t.client.responses.create({ model: MODEL, input: "Say hello.", instructions: "Be brief.", max_output_tokens: 12, temperature: 0.7, seed: 3 } as never);
    const r = response as Response;
    assert.match(r.id, /^resp_/);
    assert.equal(r.object, "response");
    assert.equal(r.model, MODEL);
    assert.equal(r.instructions, "Be brief.");
    assert.equal(r.temperature, 0.7);
    assert.ok(r.status === "completed" || r.status === "incomplete");
    const message = r.output.find((o) => o.type === "message");
    assert.ok(message !== undefined && message.type === "message");
    assert.match(message.id, /^msg_/);
    assert.equal(message.role, "assistant");
    const part = message.content[0];
    assert.ok(part?.type === "output_text");
    assert.deepEqual(part.annotations, []);
    assert.equal(r.output_text, part.text, "the SDK computes output_text from the message");
    // Exact input count: the same request counted without generating.
    const counted = await post(t.url, "/v1/responses/input_tokens", { model: MODEL, input: "Say hello.", instructions: "Be brief." });
    assert.equal(counted.status, 200);
    const count = (await counted.json()) as { object: string; input_tokens: number };
    assert.equal(count.object, "response.input_tokens");
    assert.equal(r.usage?.input_tokens, count.input_tokens);
    assert.equal(r.usage?.total_tokens, (r.usage?.input_tokens ?? 0) + (r.usage?.output_tokens ?? 0));
    assert.equal(r.usage?.output_tokens_details.reasoning_tokens, 0);
  });

  it("is incomplete with reason max_output_tokens when the output runs to the limit", async () => {
    const res = await post(t.url, "/v1/responses", { model: MODEL, input: "Tell me a story.", max_output_tokens: 9, seed: 5, logit_bias: NO_EOS });
    assert.equal(res.status, 200, await res.clone().text());
    const r = (await res.json()) as Response;
    assert.equal(r.status, "incomplete");
    assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(r.usage?.output_tokens, 9);
    const last = r.output.at(-1);
    assert.equal(last?.type === "message" ? last.status : undefined, "incomplete");
    assert.equal((r as unknown as Record<string, unknown>).output_text, undefined, "output_text is the SDKs' own, not on the wire");
  });

  it("streams typed events whose final response equals the non-streamed one under a seed", async () => {
    const body = { model: MODEL, input: [{ role: "user" as const, content: "Count to five." }], max_output_tokens: 16, temperature: 1, seed: 42 };
    const plain = await t.client.responses.create(body);
    const stream = t.client.responses.stream(body);
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, plain.output_text);
    assert.equal(deltas.join(""), plain.output_text);
    // The second run may read more of its prompt from the cache: only `cached_tokens` may differ.
    assert.equal(final.usage?.input_tokens, plain.usage?.input_tokens);
    assert.equal(final.usage?.output_tokens, plain.usage?.output_tokens);
    assert.equal(final.status, plain.status);
    assert.deepEqual(
      final.output.map((o) => o.type),
      plain.output.map((o) => o.type),
    );
  });

  it("sends named SSE frames numbered from 0, opened and closed as OpenAI does, with no [DONE]", async () => {
    const res = await post(t.url, "/v1/responses", { model: MODEL, input: "Hi", max_output_tokens: 6, seed: 1, stream: true, logit_bias: NO_EOS });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const text = await res.text();
    assert.ok(!text.includes("[DONE]"));
    const frames = parseNamedSse(text);
    frames.forEach((f, i) => {
      assert.equal(f.data.type, f.event, "the event name is the data's type");
      assert.equal(f.data.sequence_number, i, "sequence numbers count from 0 without gaps");
    });
    const types = frames.map((f) => f.event);
    assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    assert.deepEqual(types.slice(-4), ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"]);
    const created = frames[0]?.data.response as Response;
    assert.equal(created.status, "in_progress");
    assert.deepEqual(created.output, []);
    const last = frames.at(-1)?.data.response as Response;
    assert.equal(last.usage?.output_tokens, 6);
    const deltas = frames.filter((f) => f.event === "response.output_text.delta").map((f) => f.data.delta as string);
    const done = frames.find((f) => f.event === "response.output_text.done");
    assert.equal(done?.data.text, deltas.join(""));
  });

  it("makes schema-valid calls and takes their results back (function_call_output)", async () => {
    const input: ResponseInputItem[] = [{ role: "user", content: "What's the weather in Paris?" }];
    const first = await create({ model: MODEL, input, tools: TOOLS, tool_choice: { type: "function", name: "get_weather" }, max_output_tokens: 200, temperature: 0, seed: 2 });
    const calls = first.output.filter((o) => o.type === "function_call");
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.ok(call?.type === "function_call");
    assert.match(call.id ?? "", /^fc_/);
    assert.equal(call.name, "get_weather");
    assertValidCall({ name: call.name, arguments: call.arguments });
    const second = await create({
      model: MODEL,
      input: [...input, ...first.output, { type: "function_call_output", call_id: call.call_id, output: '{"temperature": 21}' }] as ResponseInputItem[],
      tools: TOOLS,
      tool_choice: "none",
      max_output_tokens: 8,
      seed: 2,
    });
    assert.ok(
      second.output.every((o) => o.type === "message"),
      "tool_choice none: no call",
    );
    // The call and its result reached the prompt: more input than the first turn plus the call.
    assert.ok((second.usage?.input_tokens ?? 0) > (first.usage?.input_tokens ?? 0));
  });

  it("streams a call's arguments as deltas that add up to the done event", async () => {
    const body = { model: MODEL, input: "Book a flight", tools: TOOLS, tool_choice: "required" as const, parallel_tool_calls: false, max_output_tokens: 200, temperature: 1, seed: 7 };
    const plain = await t.client.responses.create(body);
    const stream = t.client.responses.stream(body);
    const events: ResponseStreamEvent[] = [];
    stream.on("event", (e) => events.push(e));
    const final = await stream.finalResponse();
    const done = events.filter((e) => e.type === "response.function_call_arguments.done");
    const deltas = events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => (e.type === "response.function_call_arguments.delta" ? e.delta : ""));
    assert.equal(done.length, 1);
    assert.equal(deltas.join(""), done[0]?.type === "response.function_call_arguments.done" ? done[0].arguments : undefined);
    const strip = (r: Response) => r.output.map((o) => (o.type === "function_call" ? [o.name, o.arguments] : o.type));
    assert.deepEqual(strip(final), strip(plain));
  });

  it("gives JSON valid against text.format (responses.parse with zodTextFormat)", async () => {
    const City = z.object({ name: z.string().max(12), population: z.number().int() });
    const parsed = await t.client.responses.parse({ model: MODEL, input: "A city, as JSON.", text: { format: zodTextFormat(City, "city") }, max_output_tokens: 80, seed: 4 });
    assert.equal(parsed.status, "completed");
    const value = City.parse(parsed.output_parsed);
    assert.equal(typeof value.name, "string");
    assert.equal(parsed.text?.format?.type, "json_schema");
  });

  it("refuses built-in tools, unknown fields and unsupported items with a 400 naming them", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ tools: [{ type: "web_search" }] }, /tools\[0\]\.type.*web_search/],
      [{ tools: [{ type: "code_interpreter", container: { type: "auto" } }] }, /code_interpreter/],
      [{ frobnicate: 1 }, /frobnicate/],
      [{ input: [{ role: "user", content: [{ type: "input_image", image_url: "https://x/y.png" }] }] }, /input\[0\]\.content\[0\]\.type.*input_image/],
      [{ input: [{ type: "item_reference", id: "msg_1" }] }, /input\[0\]\.id/],
      [{ include: ["file_search_call.results"] }, /include/],
      [{ tool_choice: { type: "web_search_preview" } }, /tool_choice/],
    ];
    for (const [extra, pattern] of cases) {
      const res = await post(t.url, "/v1/responses", { model: MODEL, input: "Hi", ...extra });
      assert.equal(res.status, 400, JSON.stringify(extra));
      const error = ((await res.json()) as { error: { message: string; param: string } }).error;
      assert.match(`${error.param} ${error.message}`, pattern);
    }
  });

  it("truncation auto drops the oldest turns until the input fits; disabled refuses it", async () => {
    const long = "lorem ipsum dolor sit amet ".repeat(120);
    const input = [
      { role: "user", content: long },
      { role: "assistant", content: long },
      { role: "user", content: long },
      { role: "assistant", content: "ok" },
      { role: "user", content: "Now answer briefly." },
    ];
    const base = { model: MODEL, input, instructions: "Be brief.", max_output_tokens: 4, seed: 1 };
    const refused = await post(t.url, "/v1/responses", base);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "context_length_exceeded");
    const res = await post(t.url, "/v1/responses", { ...base, truncation: "auto" });
    assert.equal(res.status, 200, await res.clone().text());
    const r = (await res.json()) as Response;
    assert.equal(r.truncation, "auto");
    assert.ok((r.usage?.input_tokens ?? 0) < 2047);
    const counted = (await (await post(t.url, "/v1/responses/input_tokens", { ...base, truncation: "auto" })).json()) as { input_tokens: number };
    assert.equal(counted.input_tokens, r.usage?.input_tokens);
  });

  it("returns the output's log-probabilities when include asks for them", async () => {
    const r = await t.client.responses.create({ model: MODEL, input: "Hi", max_output_tokens: 5, seed: 9, top_logprobs: 2, include: ["message.output_text.logprobs"], logit_bias: NO_EOS } as never);
    const message = (r as Response).output.find((o) => o.type === "message");
    const part = message?.type === "message" ? message.content[0] : undefined;
    assert.ok(part?.type === "output_text");
    assert.equal(part.logprobs?.length, 5);
    assert.equal(part.logprobs?.map((l) => l.token).join(""), part.text);
    for (const l of part.logprobs ?? []) assert.equal(l.top_logprobs.length, 2);
  });

  describe("the AI SDK's default OpenAI provider (which speaks the Responses API)", () => {
    const model = () => createOpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused" })(MODEL);

    it("generateText and streamText agree (greedy), with exact usage", async () => {
      // The provider sends no `seed` (the Responses API has none): greedy decoding makes the two runs comparable.
      const options = { model: model(), prompt: "Say something.", maxOutputTokens: 10, temperature: 0 };
      const plain = await generateText(options);
      const streamed = streamText(options);
      assert.equal(await streamed.text, plain.text);
      assert.equal((await streamed.usage).outputTokens, plain.usage.outputTokens);
      assert.ok((plain.usage.inputTokens ?? 0) > 0);
      assert.ok(plain.text.length > 0 || plain.finishReason === "length");
    });

    it("calls a tool and continues with its result (store: false)", async () => {
      const result = await generateText({
        model: model(),
        prompt: "Weather in Paris?",
        tools: {
          // An enum keeps the call short: a free string could run past maxOutputTokens, and a cut-off call has no result.
          get_weather: tool({
            description: "Current weather",
            inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } }, required: ["city"], additionalProperties: false }),
            execute: async ({ city }) => ({ city, celsius: 21 }),
          }),
        },
        toolChoice: "required",
        maxOutputTokens: 120,
        providerOptions: { openai: { store: false } },
      });
      const calls = result.steps[0]?.toolCalls ?? [];
      assert.ok(calls.length >= 1);
      assert.equal(calls[0]?.toolName, "get_weather");
      assert.equal(result.steps[0]?.toolResults[0]?.output && typeof result.steps[0].toolResults[0].output, "object");
    });
  });
});
