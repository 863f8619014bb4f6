/**
 * Tool calling over HTTP with the random test model (Hermes-style template): tool_choice is
 * enforced by grammar whatever the model "wants", streamed calls equal non-streamed ones, legacy
 * functions are answered in kind, and a conversation with tool results round-trips through the
 * official client.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { TEST_MODEL_SPECIAL_TOKENS } from "../../src/testing/test-model.ts";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, foldStream, TEST_TOOLS, type StreamedChoice } from "../support/tools.ts";

type Body = Omit<ChatCompletionCreateParamsNonStreaming, "model" | "messages"> & { messages?: ChatCompletionMessageParam[] };

describe("tool calling", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Plan my trip to Paris next week." }];
  const create = (body: Body): Promise<ChatCompletion> => t.client.chat.completions.create({ model: MODEL, messages, max_tokens: 300, tools: TEST_TOOLS, ...body });
  const stream = async (body: Body): Promise<StreamedChoice> => {
    const res = await postChat(t.url, { model: MODEL, messages, max_tokens: 300, tools: TEST_TOOLS, ...body, stream: true });
    assert.equal(res.status, 200);
    return foldStream(parseSse(await res.text()));
  };

  it("required: every call is schema-valid, streamed equals non-streamed", async () => {
    let complete = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const body: Body = { tool_choice: "required", temperature: 1, seed };
      const result = await create(body);
      const choice = result.choices[0];
      assert.ok(choice !== undefined);
      const calls = choice.message.tool_calls ?? [];
      assert.ok(calls.length >= 1, `seed ${seed}: no call`);
      if (choice.finish_reason === "length") continue;
      complete++;
      assert.equal(choice.finish_reason, "tool_calls");
      assert.equal(choice.message.content, null);
      for (const call of calls) {
        assert.equal(call.type, "function");
        if (call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
      }
      assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, "ids are unique");
      const streamed = await stream(body);
      assert.equal(streamed.finish, "tool_calls");
      assert.equal(streamed.content, "");
      assert.deepEqual(
        streamed.calls.map((c) => [c.name, c.arguments]),
        calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
        `seed ${seed}: streamed calls differ`,
      );
    }
    assert.ok(complete >= 8, `only ${complete} of 12 outputs completed within max_tokens`);
  });

  it("a named function: exactly one call of it, schema-valid", async () => {
    for (const name of ["search_flights", "create_event", "get_time"]) {
      for (const seed of [3, 4]) {
        const result = await create({ tool_choice: { type: "function", function: { name } }, temperature: 1, seed });
        const choice = result.choices[0];
        assert.ok(choice !== undefined);
        const calls = choice.message.tool_calls ?? [];
        assert.equal(calls.length, 1);
        const call = calls[0];
        assert.ok(call?.type === "function");
        assert.equal(call.function.name, name);
        if (choice.finish_reason === "length") continue;
        assert.equal(choice.finish_reason, "tool_calls");
        assertValidCall(call.function, `(${name}, seed ${seed})`);
      }
    }
  });

  it("parallel_tool_calls false: at most one call", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const result = await create({ tool_choice: "required", parallel_tool_calls: false, temperature: 1, seed });
      assert.equal(result.choices[0]?.message.tool_calls?.length, 1, `seed ${seed}`);
    }
  });

  it("none: never a call, and no markup in content, even with the call marker pushed by logit_bias", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const result = await create({ tool_choice: "none", temperature: 1, seed, max_tokens: 40, logit_bias: { [TEST_MODEL_SPECIAL_TOKENS.toolCallStart.id]: 20 } });
      const choice = result.choices[0];
      assert.equal(choice?.message.tool_calls, undefined);
      assert.ok(!(choice?.message.content ?? "").includes("<tool_call>"));
      assert.notEqual(choice?.finish_reason, "tool_calls");
    }
  });

  it("auto: a call the model starts is completed validly; content never holds markup", async () => {
    let calls = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const body: Body = { tool_choice: "auto", temperature: 1, seed, logit_bias: { [TEST_MODEL_SPECIAL_TOKENS.toolCallStart.id]: 8 } };
      const result = await create(body);
      const choice = result.choices[0];
      assert.ok(choice !== undefined);
      assert.ok(!(choice.message.content ?? "").includes("<tool_call>"));
      for (const call of choice.message.tool_calls ?? []) {
        calls++;
        if (choice.finish_reason !== "length" && call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
      }
      if ((choice.message.tool_calls ?? []).length > 0 && choice.finish_reason !== "length") assert.equal(choice.finish_reason, "tool_calls");
      const streamed = await stream(body);
      assert.equal(streamed.content, choice.message.content ?? "");
      assert.deepEqual(
        streamed.calls.map((c) => c.arguments),
        (choice.message.tool_calls ?? []).map((c) => (c.type === "function" ? c.function.arguments : "")),
      );
    }
    assert.ok(calls > 0, "the biased marker should have started at least one call");
  });

  it("stop strings never cut a call: they apply to content only", async () => {
    // With tool_choice "required" the whole answer is calls, so stop strings (which would cut
    // JSON at its first `"`) must change nothing: the same calls and finish as without them, for
    // every seed. And most answers must complete, so their calls are checked whole.
    let complete = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const body: Body = { tool_choice: "required", temperature: 1, seed };
      const result = await create({ ...body, stop: ['"', ",", "\n"] });
      const choice = result.choices[0];
      const calls = choice?.message.tool_calls ?? [];
      assert.ok(calls.length >= 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
      const unstopped = (await create(body)).choices[0];
      const named = (list: typeof calls) => list.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [c.type]));
      assert.deepEqual(named(calls), named(unstopped?.message.tool_calls ?? []), `seed ${seed}: the stop strings changed the calls`);
      assert.equal(choice?.finish_reason, unstopped?.finish_reason, `seed ${seed}`);
      if (choice?.finish_reason === "length") continue;
      complete++;
      assert.equal(choice?.finish_reason, "tool_calls");
      for (const call of calls) if (call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
    }
    // 4 of 4 complete within max_tokens today (30-190 tokens each); one may run long after a change.
    assert.ok(complete >= 3, `only ${complete} of 4 outputs completed within max_tokens`);
  });

  it("auto: closing markup pushed by logit_bias never reaches content", async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const result = await create({ tool_choice: "auto", temperature: 1.5, seed, max_tokens: 60, logit_bias: { [TEST_MODEL_SPECIAL_TOKENS.toolCallEnd.id]: 15 } });
      const content = result.choices[0]?.message.content ?? "";
      assert.ok(!content.includes("</tool_call>") && !content.includes("<tool_call>"), JSON.stringify(content));
    }
  });

  it("legacy functions: function_call in, function_call out", async () => {
    const functions = TEST_TOOLS.map((tool) => tool.function);
    const res = await postChat(t.url, { model: MODEL, messages, max_tokens: 200, functions, function_call: { name: "get_weather" }, seed: 5 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as ChatCompletion;
    const choice = body.choices[0];
    assert.ok(choice?.message.function_call !== undefined && choice.message.function_call !== null);
    assert.equal(choice.message.tool_calls, undefined);
    assert.equal(choice.message.function_call.name, "get_weather");
    if (choice.finish_reason !== "length") {
      assert.equal(choice.finish_reason, "function_call");
      assertValidCall(choice.message.function_call);
    }
    const streamed = await postChat(t.url, { model: MODEL, messages, max_tokens: 200, functions, function_call: { name: "get_weather" }, seed: 5, stream: true });
    const chunks = parseSse(await streamed.text())
      .slice(0, -1)
      .map((p) => JSON.parse(p) as ChatCompletionChunk);
    const deltas = chunks.flatMap((c) => (c.choices[0]?.delta.function_call ? [c.choices[0].delta.function_call] : []));
    assert.equal(deltas[0]?.name, "get_weather");
    assert.equal(deltas.map((d) => d.arguments ?? "").join(""), choice.message.function_call.arguments);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, choice.finish_reason);
  });

  it("a conversation with tool results round-trips through the official client", async () => {
    const first = await create({ tool_choice: { type: "function", function: { name: "get_weather" } }, seed: 2, temperature: 0 });
    const message = first.choices[0]?.message;
    assert.ok(message?.tool_calls?.[0] !== undefined);
    const followUp: ChatCompletionMessageParam[] = [
      ...messages,
      message,
      ...message.tool_calls.map((call) => ({ role: "tool" as const, tool_call_id: call.id, content: '{"temperature": 21, "sky": "clear"}' })),
    ];
    const second = await t.client.chat.completions.create({ model: MODEL, messages: followUp, tools: TEST_TOOLS, max_tokens: 20, seed: 1 });
    assert.ok((second.usage?.prompt_tokens ?? 0) > (first.usage?.prompt_tokens ?? 0));
    assert.ok(["stop", "length", "tool_calls"].includes(second.choices[0]?.finish_reason ?? ""));
    // Legacy history too: an assistant function_call answered by a `function` message.
    const legacy = await postChat(t.url, {
      model: MODEL,
      max_tokens: 5,
      messages: [...messages, { role: "assistant", content: null, function_call: { name: "get_time", arguments: "{}" } }, { role: "function", name: "get_time", content: "12:00" }],
    });
    assert.equal(legacy.status, 200);
  });

  it("rejects invalid tool requests with 400s naming the field", async () => {
    const fn = (name: string) => ({ type: "function", function: { name } });
    const cases: [Record<string, unknown>, string][] = [
      [{ tools: [fn("a"), fn("a")] }, "tools[1].function.name"],
      [{ tools: [fn("bad name!")] }, "tools[0].function.name"],
      [{ tools: Array.from({ length: 129 }, (_, i) => fn(`f${i}`)) }, "tools"],
      [{ tools: [fn("a")], tool_choice: { type: "function", function: { name: "b" } } }, "tool_choice"],
      [{ tool_choice: "required" }, "tool_choice"],
      [{ tools: [fn("a")], functions: [{ name: "a" }] }, "functions"],
      [{ tools: [{ type: "custom", custom: { name: "a" } }] }, "tools[0].type"],
      [{ tools: [fn("a")], tool_choice: "sometimes" }, "tool_choice"],
    ];
    for (const [extra, param] of cases) {
      const res = await postChat(t.url, { model: MODEL, messages, ...extra });
      assert.equal(res.status, 400, JSON.stringify(extra).slice(0, 80));
      const body = (await res.json()) as { error: { param: string } };
      assert.equal(body.error.param, param, JSON.stringify(extra).slice(0, 80));
    }
  });
});
