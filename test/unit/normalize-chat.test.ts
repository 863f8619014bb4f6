import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { parseChatRequest } from "../../src/http/dialects/chat-completions/normalize.ts";

const base = { model: "m", messages: [{ role: "user", content: "hi" }] };

function issuesOf(body: unknown): string[] {
  try {
    parseChatRequest(body);
  } catch (error) {
    assert.ok(error instanceof ParleyError);
    return error.issues.map((i) => i.path.join("."));
  }
  throw new Error("expected a validation error");
}

describe("parseChatRequest", () => {
  it("applies OpenAI's defaults", () => {
    const { request, stream, includeUsage } = parseChatRequest(base);
    assert.equal(stream, false);
    assert.equal(includeUsage, false);
    assert.equal(request.n, 1);
    assert.equal(request.maxTokens, undefined);
    assert.deepEqual(request.stop, []);
    assert.equal(request.sampling.temperature, 1);
    assert.equal(request.sampling.topP, 1);
    assert.equal(request.sampling.seedFromClient, false);
    assert.ok(Number.isInteger(request.sampling.seed) && request.sampling.seed >= 0 && request.sampling.seed < 2 ** 32);
    assert.equal(request.logprobs, false);
  });

  it("draws a different seed for each unseeded request", () => {
    const seeds = new Set(Array.from({ length: 20 }, () => parseChatRequest(base).request.sampling.seed));
    assert.ok(seeds.size > 15);
  });

  it("maps any integer seed to uint32 deterministically", () => {
    const a = parseChatRequest({ ...base, seed: -1 }).request.sampling;
    assert.equal(a.seed, 2 ** 32 - 1);
    assert.equal(a.seedFromClient, true);
    assert.equal(parseChatRequest({ ...base, seed: 2 ** 40 + 5 }).request.sampling.seed, 5);
  });

  it("prefers max_completion_tokens, accepts a single stop string, reads logit_bias", () => {
    const { request } = parseChatRequest({ ...base, max_tokens: 9, max_completion_tokens: 4, stop: "x", logit_bias: { "12": -100 } });
    assert.equal(request.maxTokens, 4);
    assert.deepEqual(request.stop, ["x"]);
    assert.deepEqual([...request.sampling.logitBias], [[12, -100]]);
  });

  it("joins text parts with newlines (as vLLM and llama.cpp) and keeps names, tool call ids and earlier thoughts", () => {
    const { request } = parseChatRequest({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
          name: "ann",
        },
        { role: "assistant", content: null },
        { role: "assistant", content: "x", reasoning_content: "thought" },
        { role: "assistant", content: "y", reasoning: "other name" },
        { role: "tool", content: "r", tool_call_id: "call_1" },
      ],
    });
    assert.deepEqual(request.messages, [
      { role: "user", content: "a\nb", name: "ann" },
      { role: "assistant", content: "" },
      { role: "assistant", content: "x", reasoning: "thought" },
      { role: "assistant", content: "y", reasoning: "other name" },
      { role: "tool", content: "r", toolCallId: "call_1" },
    ]);
  });

  it("treats null as unset", () => {
    const { request } = parseChatRequest({ ...base, temperature: null, n: null, stop: null, seed: null, tools: null, response_format: null });
    assert.equal(request.sampling.temperature, 1);
  });

  it("reports every invalid field at once", () => {
    assert.deepEqual(issuesOf({ ...base, temperature: 5, top_p: 2, n: 500 }).sort(), ["n", "temperature", "top_p"]);
  });

  it("rejects unsupported fields by name and image parts by path", () => {
    assert.deepEqual(issuesOf({ ...base, tools: [{}], prediction: { type: "content", content: 1 } }), ["tools.0.type", "tools.0.function", "prediction.content"]);
    // Other servers' fields reach the domain request (the chosen engine forwards or refuses them), their types checked here.
    assert.deepEqual(parseChatRequest({ ...base, typical_p: 0.5, mirostat: 0 }).request.extensions, { typical_p: 0.5 });
    assert.deepEqual(issuesOf({ ...base, typical_p: "high" }), ["typical_p"]);
    assert.deepEqual(issuesOf({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }), ["messages.0.content.0.type"]);
    assert.deepEqual(issuesOf({ model: "m", messages: [{ role: "assistant", content: "", tool_calls: [{}] }] }), [
      "messages.0.tool_calls.0.id",
      "messages.0.tool_calls.0.type",
      "messages.0.tool_calls.0.function",
    ]);
  });

  it("reads tools, tool_choice and parallel_tool_calls", () => {
    const tools = [
      { type: "function", function: { name: "a", description: "A", parameters: { type: "object", properties: { x: { type: "integer" } } }, strict: true } },
      { type: "function", function: { name: "b" } },
    ];
    const { request } = parseChatRequest({ ...base, tools, tool_choice: { type: "function", function: { name: "b" } }, parallel_tool_calls: false });
    assert.deepEqual(request.tools, {
      definitions: [
        { name: "a", description: "A", parameters: { type: "object", properties: { x: { type: "integer" } } }, strict: true },
        { name: "b", description: undefined, parameters: { type: "object", properties: {}, additionalProperties: false }, strict: false },
      ],
      choice: { kind: "function", name: "b" },
      parallel: false,
      legacy: false,
    });
    assert.deepEqual(parseChatRequest({ ...base, tools }).request.tools?.choice, { kind: "auto" });
    assert.equal(parseChatRequest({ ...base, tools: [], tool_choice: "none" }).request.tools, undefined);
    assert.deepEqual(issuesOf({ ...base, tools: [...tools, tools[1]] }), ["tools.2.function.name"]);
    assert.deepEqual(issuesOf({ ...base, tools, tool_choice: { type: "function", function: { name: "c" } } }), ["tool_choice"]);
    assert.deepEqual(issuesOf({ ...base, tool_choice: "required" }), ["tool_choice"]);
  });

  it("maps legacy functions, function_call and function messages onto tools", () => {
    const { request } = parseChatRequest({
      model: "m",
      functions: [{ name: "f", parameters: { type: "object" } }],
      function_call: { name: "f" },
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } },
        { role: "function", name: "f", content: "done" },
      ],
    });
    assert.deepEqual(request.tools?.choice, { kind: "function", name: "f" });
    assert.equal(request.tools?.legacy, true);
    assert.equal(request.tools?.parallel, false);
    assert.deepEqual(request.messages.slice(1), [
      { role: "assistant", content: "", toolCalls: [{ id: "call_fc_1", name: "f", arguments: "{}" }] },
      { role: "tool", content: "done", name: "f", toolCallId: "call_fc_1" },
    ]);
    assert.deepEqual(issuesOf({ ...base, functions: [{ name: "f" }], tools: [{ type: "function", function: { name: "f" } }] }), ["functions"]);
  });

  it("reads one structured-output constraint from any of its spellings, and refuses two", () => {
    const schema = { type: "object" };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ response_format: { type: "json_schema", json_schema: { name: "x", schema, strict: true } } }, "json", "response_format"],
      [{ response_format: { type: "json_object" } }, "json", "response_format"],
      [{ guided_json: JSON.stringify(schema) }, "json", "guided_json"],
      [{ guided_regex: "a+" }, "regex", "guided_regex"],
      [{ guided_choice: ["a", "b"] }, "choice", "guided_choice"],
      [{ guided_grammar: 'root ::= "a"' }, "grammar", "guided_grammar"],
      [{ structured_outputs: { choice: ["a"] } }, "choice", "structured_outputs.choice"],
    ];
    for (const [extra, kind, field] of cases) {
      const constraint = parseChatRequest({ ...base, ...extra }).request.constraint;
      assert.equal(constraint?.kind, kind);
      assert.equal(constraint?.field, field);
    }
    assert.equal(parseChatRequest({ ...base, response_format: { type: "text" } }).request.constraint, undefined);
    assert.deepEqual(issuesOf({ ...base, guided_regex: "a", structured_outputs: { regex: "b" } }), ["structured_outputs.regex"]);
    assert.deepEqual(issuesOf({ ...base, guided_decoding_backend: "magic" }), ["guided_decoding_backend"]);
  });

  it("top_logprobs needs logprobs; stream_options needs stream", () => {
    assert.deepEqual(issuesOf({ ...base, top_logprobs: 3 }), ["top_logprobs"]);
    assert.deepEqual(issuesOf({ ...base, stream_options: { include_usage: true } }), ["stream_options"]);
  });
});
