/** Realistic tool definitions for tests, and helpers to check the calls a server returns. */
import assert from "node:assert/strict";
import type { ChatCompletionChunk, ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import { validatorFor } from "./validate-json.ts";

export const TEST_TOOLS: ChatCompletionFunctionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", maxLength: 20 }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
        required: ["city"],
        additionalProperties: false,
      },
    },
  },
  {
    type: "function",
    function: {
      name: "search_flights",
      description: "Find flights between two airports",
      parameters: {
        type: "object",
        properties: {
          from: { type: "string", pattern: "^[A-Z]{3}$" },
          to: { type: "string", pattern: "^[A-Z]{3}$" },
          passengers: { type: "integer", minimum: 1, maximum: 9 },
          date: { type: "string", format: "date" },
        },
        required: ["from", "to", "date"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "create_event",
      description: "Add a calendar event",
      parameters: {
        type: "object",
        properties: {
          title: { type: "string", maxLength: 24 },
          attendees: { type: "array", items: { type: "string", format: "email" }, maxItems: 2 },
          reminder: { type: "object", properties: { minutes: { type: "integer", minimum: 0, maximum: 120 } }, required: ["minutes"] },
          private: { type: "boolean" },
        },
        required: ["title", "attendees"],
      },
    },
  },
  { type: "function", function: { name: "get_time", description: "The current time (no parameters)" } },
];

/** An assertion that a call names one of `tools` and its arguments are JSON valid against that tool's schema. */
export function callValidator(tools: readonly ChatCompletionFunctionTool[]): (call: { name: string; arguments: string }, context?: string) => void {
  const validators = new Map(tools.map((t) => [t.function.name, validatorFor(t.function.parameters ?? { type: "object", properties: {}, additionalProperties: false })]));
  return (call, context = "") => {
    const validate = validators.get(call.name);
    assert.ok(validate !== undefined, `unknown tool ${call.name} ${context}`);
    let args: unknown;
    assert.doesNotThrow(() => (args = JSON.parse(call.arguments)), `arguments are not JSON: ${call.arguments} ${context}`);
    assert.ok(validate(args), `arguments of ${call.name} do not validate: ${call.arguments} ${context}`);
  };
}

/** Asserts a call names one of TEST_TOOLS and its arguments are JSON valid against that tool's schema. */
export const assertValidCall = callValidator(TEST_TOOLS);

export interface StreamedChoice {
  content: string;
  calls: { id: string; name: string; arguments: string }[];
  finish: string | null;
}

/** Folds raw SSE chunks, checking OpenAI's tool-call delta layout on the way. */
export function foldStream(payloads: readonly string[]): StreamedChoice {
  const out: StreamedChoice = { content: "", calls: [], finish: null };
  assert.equal(payloads.at(-1), "[DONE]");
  for (const payload of payloads.slice(0, -1)) {
    const chunk = JSON.parse(payload) as ChatCompletionChunk;
    const choice = chunk.choices[0];
    if (choice === undefined) continue;
    out.content += choice.delta.content ?? "";
    for (const delta of choice.delta.tool_calls ?? []) {
      const existing = out.calls[delta.index];
      if (existing === undefined) {
        assert.equal(delta.index, out.calls.length, "calls start in index order");
        assert.match(delta.id ?? "", /^call_/);
        assert.equal(delta.type, "function");
        assert.equal(delta.function?.arguments, "", "the first delta of a call has empty arguments");
        out.calls.push({ id: delta.id ?? "", name: delta.function?.name ?? "", arguments: "" });
      } else {
        assert.equal(delta.id, undefined, "later deltas carry no id");
        assert.equal(delta.function?.name, undefined, "later deltas carry no name");
        existing.arguments += delta.function?.arguments ?? "";
      }
    }
    if (choice.finish_reason !== null) out.finish = choice.finish_reason;
  }
  return out;
}
