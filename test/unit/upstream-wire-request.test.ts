/**
 * The body Parley sends an upstream (`toWireRequest`, src/engines/upstream/wire-request.ts), for
 * what upstream-dialects.test.ts (the per-dialect field translation) leaves out: a plain request
 * is a plain OpenAI body in every dialect; `stream_options` only when streaming; the seed only when
 * the client chose it; messages (names, thoughts, calls, tool results); legacy functions sent as
 * modern tools; the configured `unsupported` fields in both modes (drop: removed with a warning;
 * reject: a 400 naming the field), never the essential ones; `prompt_cache_key` per dialect.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import type { ToolsRequest } from "../../src/domain/tools.ts";
import { UPSTREAM_DIALECTS } from "../../src/engines/upstream/dialect.ts";
import { toWireRequest, type WireRequestOptions } from "../../src/engines/upstream/wire-request.ts";
import { chatRequest } from "../support/chat-request.ts";

const options = (o: Partial<WireRequestOptions> = {}): WireRequestOptions => ({ model: "up-model", modelId: "front-model", stream: false, dialect: "vllm", ...o });

describe("the upstream wire request", () => {
  it("a plain request is a plain OpenAI body in every dialect; stream_options with include_usage only when streaming", () => {
    for (const dialect of UPSTREAM_DIALECTS) {
      const plain = toWireRequest(chatRequest(), options({ dialect }));
      assert.deepEqual(plain, { body: { model: "up-model", messages: [{ role: "user", content: "Hi" }], stream: false }, warnings: [] }, dialect);
      const streamed = toWireRequest(chatRequest(), options({ dialect, stream: true }));
      assert.deepEqual(streamed.body, { model: "up-model", messages: [{ role: "user", content: "Hi" }], stream: true, stream_options: { include_usage: true } }, dialect);
    }
  });

  it("the seed only when the client chose it (Parley's own draw stays Parley's)", () => {
    assert.equal(toWireRequest(chatRequest({ sampling: { seed: 42, seedFromClient: false } }), options()).body.seed, undefined);
    assert.equal(toWireRequest(chatRequest({ sampling: { seed: 42, seedFromClient: true } }), options()).body.seed, 42);
  });

  it("messages: names, thoughts as reasoning_content, calls (content null when empty), tool results with their call's id", () => {
    const request = chatRequest({
      messages: [
        { role: "system", content: "Be brief.", name: "setup" },
        { role: "user", content: "Weather?" },
        { role: "assistant", content: "", reasoning: "Need the tool.", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
        { role: "tool", content: "-3 °C", toolCallId: "call_1" },
        { role: "assistant", content: "Cold.", toolCalls: [{ id: "call_2", name: "log", arguments: "{}" }] },
        { role: "tool", content: "ok" },
      ],
    });
    assert.deepEqual(toWireRequest(request, options()).body.messages, [
      { role: "system", content: "Be brief.", name: "setup" },
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, reasoning_content: "Need the tool.", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
      { role: "tool", content: "-3 °C", tool_call_id: "call_1" },
      { role: "assistant", content: "Cold.", tool_calls: [{ id: "call_2", type: "function", function: { name: "log", arguments: "{}" } }] },
      { role: "tool", content: "ok", tool_call_id: "" },
    ]);
  });

  it("legacy functions go out as modern tools (the answer is put back in kind by Parley), one call at most", () => {
    const tools: ToolsRequest = {
      definitions: [{ name: "get_weather", description: "Weather now", parameters: { type: "object" }, strict: false }],
      choice: { kind: "function", name: "get_weather" },
      parallel: false,
      legacy: true,
    };
    for (const dialect of ["openai", "vllm", "sglang", "parley"] as const) {
      const { body } = toWireRequest(chatRequest({ tools }), options({ dialect }));
      assert.equal(body.functions, undefined, dialect);
      assert.equal(body.function_call, undefined, dialect);
      assert.deepEqual(body.tools, [{ type: "function", function: { name: "get_weather", description: "Weather now", parameters: { type: "object" } } }], dialect);
      assert.deepEqual(body.tool_choice, { type: "function", function: { name: "get_weather" } }, dialect);
      assert.equal(body.parallel_tool_calls, false, dialect);
    }
  });

  it("prompt_cache_key: forwarded to OpenAI, which reads it; left out elsewhere (Parley places the request itself)", () => {
    assert.equal(toWireRequest(chatRequest(), options({ dialect: "openai", promptCacheKey: "conv-7" })).body.prompt_cache_key, "conv-7");
    for (const dialect of ["vllm", "llama-server", "sglang"] as const) {
      const { body, warnings } = toWireRequest(chatRequest(), options({ dialect, promptCacheKey: "conv-7" }));
      assert.equal(body.prompt_cache_key, undefined, dialect);
      assert.deepEqual(warnings, [], dialect);
    }
  });
});

describe("the upstream's `unsupported` fields", () => {
  const busy = chatRequest({ maxTokens: 7, sampling: { topK: 5, temperature: 0.5 }, user: "u1" });

  it("drop: the fields the body has are removed, each with a warning naming it and the model; absent ones change nothing", () => {
    const { body, warnings } = toWireRequest(busy, options({ unsupported: { fields: ["top_k", "user", "logit_bias"], mode: "drop" } }));
    assert.equal(body.top_k, undefined);
    assert.equal(body.user, undefined);
    assert.equal(body.temperature, 0.5, "other fields stay");
    assert.equal(body.max_tokens, 7);
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(warnings[0] ?? "", /`top_k`.*`front-model`/);
    assert.match(warnings[1] ?? "", /`user`/);
  });

  it("drop: stream_options goes silently (the usage is then estimated); model, messages and stream are never dropped", () => {
    const { body, warnings } = toWireRequest(chatRequest(), options({ stream: true, unsupported: { fields: ["stream_options", "model", "messages", "stream"], mode: "drop" } }));
    assert.deepEqual(body, { model: "up-model", messages: [{ role: "user", content: "Hi" }], stream: true });
    assert.deepEqual(warnings, []);
  });

  it("reject: a field the body has is a 400 naming it (type unsupported); absent and essential ones pass", () => {
    let thrown: unknown;
    try {
      toWireRequest(busy, options({ unsupported: { fields: ["logit_bias", "top_k"], mode: "reject" } }));
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof ParleyError, String(thrown));
    assert.equal(thrown.kind, "invalid_request");
    assert.equal(thrown.param, "top_k");
    assert.equal(thrown.issues[0]?.type, "unsupported");
    assert.match(thrown.message, /`front-model`/);
    const { body } = toWireRequest(chatRequest(), options({ stream: true, unsupported: { fields: ["logit_bias", "model", "messages", "stream"], mode: "reject" } }));
    assert.equal(body.model, "up-model");
  });

  it("names the fields as the upstream's body does, after translation (OpenAI's max_completion_tokens, not max_tokens)", () => {
    const request = chatRequest({ maxTokens: 9 });
    assert.equal(toWireRequest(request, options({ dialect: "openai", unsupported: { fields: ["max_tokens"], mode: "reject" } })).body.max_completion_tokens, 9);
    assert.throws(
      () => toWireRequest(request, options({ dialect: "openai", unsupported: { fields: ["max_completion_tokens"], mode: "reject" } })),
      (e) => e instanceof ParleyError && e.param === "max_completion_tokens",
    );
  });
});
