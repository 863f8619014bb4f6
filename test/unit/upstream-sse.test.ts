/** The upstream engine's SSE parser and chunk → event mapping, on arbitrary chunk splits. */
import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import fc from "fast-check";
import { ParleyError } from "../../src/domain/errors.ts";
import { chunkEvents, errorFromEnvelope } from "../../src/engines/upstream/chunk-events.ts";
import { SseEventTooLarge, SseParser } from "../../src/engines/upstream/sse-parser.ts";

const STREAM =
  ": keep-alive comment\n\n" +
  'data: {"text":"héllo 🌍"}\n\n' +
  'event: message\r\nid: 7\r\ndata: {"a":1}\r\n\r\n' +
  "data:line one\ndata: line two\n\n" +
  "retry: 100\n\n" +
  'data: {"cr":true}\r\r' +
  "data: [DONE]\n\n";
const EXPECTED = ['{"text":"héllo 🌍"}', '{"a":1}', "line one\nline two", '{"cr":true}', "[DONE]"];

function parseSplit(bytes: Uint8Array, cuts: readonly number[]): string[] {
  const parser = new SseParser();
  const out: string[] = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  out.push(...parser.push(bytes.subarray(start)));
  out.push(...parser.end());
  return out;
}

describe("SseParser", () => {
  const bytes = new TextEncoder().encode(STREAM);

  it("parses a whole stream: comments, other fields, multi-line data, CRLF and CR", () => {
    assert.deepEqual(parseSplit(bytes, []), EXPECTED);
  });

  it("gives the same events whatever the chunk boundaries (inside lines, CRLF pairs and UTF-8 characters)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 20 }), (cuts) => {
        assert.deepEqual(parseSplit(bytes, cuts), EXPECTED);
      }),
      { numRuns: 500 },
    );
  });

  it("byte by byte", () => {
    assert.deepEqual(
      parseSplit(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      ),
      EXPECTED,
    );
  });

  it("reports a stream cut inside an event, and dispatches an unterminated last event at end()", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('data: {"a":1}\n\ndata: {"b"'), ['{"a":1}']);
    assert.equal(parser.incomplete, true);
    assert.deepEqual(parser.end(), ['{"b"']);
  });
});

describe("chunkEvents", () => {
  it("maps content with logprobs, tool calls, finish and usage", () => {
    const logprobs = { content: [{ token: "Hi", logprob: -0.5, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.5, bytes: null }] }] };
    assert.deepEqual(chunkEvents({ choices: [{ index: 0, delta: { content: "Hi" }, logprobs, finish_reason: null }] }), [
      { type: "delta", choice: 0, text: "Hi", logprobs: [{ token: "Hi", logprob: -0.5, bytes: [72, 105], topLogprobs: [{ token: "Hi", logprob: -0.5, bytes: [72, 105] }] }] },
    ]);
    assert.deepEqual(chunkEvents({ choices: [{ index: 1, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] }), []);
    assert.deepEqual(chunkEvents({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"x"' } }] } }] }), [
      { type: "tool_call", choice: 0, index: 0, id: "call_1", name: "f", logprobs: [] },
      { type: "tool_arguments", choice: 0, index: 0, text: '{"x"', logprobs: [] },
    ]);
    assert.deepEqual(chunkEvents({ choices: [{ index: 0, delta: {}, finish_reason: "function_call" }], usage: null }), [{ type: "finish", choice: 0, reason: "tool_calls" }]);
    assert.deepEqual(chunkEvents({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 3 } } }), [
      { type: "usage", usage: { promptTokens: 5, completionTokens: 2, cachedTokens: 3 } },
    ]);
  });

  it("throws a ParleyError for error frames and malformed chunks", () => {
    assert.throws(
      () => chunkEvents({ error: { message: "boom", type: "server_error" } }),
      (e: unknown) => e instanceof ParleyError && e.message === "boom" && e.kind === "internal",
    );
    assert.throws(
      () => chunkEvents([1]),
      (e: unknown) => e instanceof ParleyError && /malformed/.test(e.message),
    );
    assert.throws(
      () => chunkEvents({ nope: 1 }),
      (e: unknown) => e instanceof ParleyError && /malformed/.test(e.message),
    );
  });

  it("maps upstream statuses to error kinds", () => {
    assert.equal(errorFromEnvelope(400, { error: { message: "bad", param: "temperature" } }).kind, "invalid_request");
    assert.equal(errorFromEnvelope(400, { error: { message: "bad", param: "temperature" } }).param, "temperature");
    assert.equal(errorFromEnvelope(404, { error: { message: "no", code: "model_not_found" } }).kind, "model_not_found");
    assert.equal(errorFromEnvelope(429, {}).kind, "server_busy");
    assert.equal(errorFromEnvelope(401, {}).kind, "internal");
  });
});

test("an event or line beyond the limit throws, and long lines are scanned in linear time", () => {
  const small = new SseParser(100);
  assert.throws(() => small.push("data: " + "x".repeat(200)), SseEventTooLarge);
  const lines = new SseParser(100);
  assert.throws(() => {
    for (let i = 0; i < 30; i++) lines.push("data: xxxx\n"); // one event, never ended by a blank line
  }, SseEventTooLarge);
  const big = new SseParser(64 * 1024 * 1024);
  const chunk = "y".repeat(1024 * 1024);
  const started = performance.now();
  for (let i = 0; i < 40; i++) big.push(i === 0 ? `data: ${chunk}` : chunk);
  assert.deepEqual(
    big.push("\n\n").map((d) => d.length),
    [40 * 1024 * 1024],
  );
  assert.ok(performance.now() - started < 5000, "40 MiB in one line must not take quadratic time");
});
