import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { getLlama, type Llama } from "node-llama-cpp";
import { accepts } from "../support/grammar.ts";
import { avoidingText } from "../../src/chat/grammar/avoid-text.ts";
import { GrammarBuilder } from "../../src/chat/grammar/gbnf.ts";
import { genericFamily } from "../../src/chat/tools/families/generic.ts";
import { hermesFamily } from "../../src/chat/tools/families/hermes.ts";
import { llama3Family } from "../../src/chat/tools/families/llama3.ts";
import { mistralFamily } from "../../src/chat/tools/families/mistral.ts";
import { graniteFamily } from "../../src/chat/tools/families/granite.ts";
import { commandR7bFamily } from "../../src/chat/tools/families/command-r7b.ts";
import { toolGrammar } from "../../src/chat/tools/tool-grammar.ts";
import type { ToolChoice, ToolsRequest } from "../../src/domain/tools.ts";
import { ParleyError } from "../../src/domain/errors.ts";

let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false });
});
after(async () => {
  await llama.dispose();
});

const TOOLS: ToolsRequest["definitions"] = [
  {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { enum: ["c", "f"] } }, required: ["city"] },
    strict: false,
  },
  { name: "now", description: undefined, parameters: { type: "object", properties: {} }, strict: false },
];

function tools(choice: ToolChoice, parallel = true): ToolsRequest {
  return { definitions: TOOLS, choice, parallel, legacy: false };
}

describe("avoidingText", () => {
  test("accepts exactly the texts that contain no forbidden string", async () => {
    const forbidden = ["<tool_call>", "[TOOL_CALLS]", "aab"];
    const builder = new GrammarBuilder();
    const grammar = await llama.createGrammar({ grammar: builder.toString(avoidingText(builder, forbidden)) });
    const alphabet = fc.constantFrom("<", "tool_call>", "<tool", "_call>", "[TOOL", "_CALLS]", "a", "b", "x", " ", "é", "\n", "🙂");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }), (pieces) => {
        const text = pieces.join("");
        assert.equal(accepts(grammar, text), !forbidden.some((f) => text.includes(f)), JSON.stringify(text));
      }),
      { numRuns: 400 },
    );
    assert.equal(accepts(grammar, ""), true);
  });
});

describe("toolGrammar", () => {
  const call = (name: string, args: string): string => `<tool_call>\n{"name": "${name}", "arguments": ${args}}\n</tool_call>`;

  test("auto (hermes): free content, or content then calls with schema-valid arguments", async () => {
    const grammar = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "auto" }) }).gbnf });
    assert.equal(accepts(grammar, "Just an answer, with < and { in it."), true);
    assert.equal(accepts(grammar, call("get_weather", '{"city": "Paris"}')), true);
    assert.equal(accepts(grammar, `Let me check.${call("get_weather", '{"city":"Paris","unit":"c"}')}\n${call("now", "{}")}`), true);
    assert.equal(accepts(grammar, call("get_weather", '{"unit": "c"}')), false, "missing required city");
    assert.equal(accepts(grammar, call("get_weather", '{"city": 3}')), false, "wrong type");
    assert.equal(accepts(grammar, call("unknown", "{}")), false, "unknown tool");
    assert.equal(accepts(grammar, "text <tool_call> more text"), false, "markup inside content");
    assert.equal(accepts(grammar, `${call("now", "{}")} trailing`), false, "nothing after the calls");
  });

  test("required forces a call from the first character; parallel false allows one", async () => {
    const required = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "required" }) }).gbnf });
    assert.equal(accepts(required, "Sure"), false);
    assert.equal(accepts(required, ""), false);
    assert.equal(accepts(required, `${call("now", "{}")}\n${call("now", "{}")}`), true);
    const single = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "required" }, false) }).gbnf });
    assert.equal(accepts(single, call("now", "{}")), true);
    assert.equal(accepts(single, `${call("now", "{}")}\n${call("now", "{}")}`), false);
  });

  test("a named function allows exactly one call of it", async () => {
    const grammar = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "function", name: "get_weather" }) }).gbnf });
    assert.equal(accepts(grammar, call("get_weather", '{"city": "Oslo"}')), true);
    assert.equal(accepts(grammar, call("now", "{}")), false);
    assert.equal(accepts(grammar, `${call("get_weather", '{"city": "Oslo"}')}\n${call("get_weather", '{"city": "Rome"}')}`), false);
  });

  test("none forbids the family's marker tokens, and only those", async () => {
    const llama3 = await llama.createGrammar({ grammar: toolGrammar({ syntax: llama3Family.syntax, tools: tools({ kind: "none" }) }).gbnf });
    assert.equal(accepts(llama3, 'plain text {"name": "Bob"}'), true, "plain JSON is fine: nothing is parsed");
    assert.equal(accepts(llama3, 'x <|python_tag|>{"name": "now", "parameters": {}}'), false);
    const hermes = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "none" }) }).gbnf });
    assert.equal(accepts(hermes, "a < b"), true);
    assert.equal(accepts(hermes, "x <tool_call>"), false);
    assert.equal(accepts(hermes, "x </tool_call>"), false);
  });

  test("auto keeps closing markup out of content too", async () => {
    const grammar = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "auto" }) }).gbnf });
    assert.equal(accepts(grammar, "stray </tool_call> text"), false);
  });

  test("each family's own section layout", async () => {
    const cases = [
      { syntax: llama3Family.syntax, text: '{"name": "get_weather", "parameters": {"city": "Lima"}}' },
      { syntax: mistralFamily.syntax, text: '[TOOL_CALLS][{"name": "now", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Lima"}}]' },
      { syntax: genericFamily.syntax, text: '{"tool_calls": [{"name": "now", "arguments": {}}]}' },
      { syntax: graniteFamily.syntax, text: '<|tool_call|>[{"name": "now", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Lima"}}]' },
      {
        syntax: commandR7bFamily.syntax,
        text: '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "now", "parameters": {}}, {"tool_call_id": "1", "tool_name": "get_weather", "parameters": {"city": "Lima"}}]<|END_ACTION|>',
      },
    ];
    for (const { syntax, text } of cases) {
      const grammar = await llama.createGrammar({ grammar: toolGrammar({ syntax, tools: tools({ kind: "required" }) }).gbnf });
      assert.equal(accepts(grammar, text), true, `${syntax.family}: ${text}`);
    }
    const llama3Two = await llama.createGrammar({ grammar: toolGrammar({ syntax: llama3Family.syntax, tools: tools({ kind: "required" }) }).gbnf });
    assert.equal(accepts(llama3Two, '{"name": "now", "parameters": {}}{"name": "now", "parameters": {}}'), false, "llama3 allows one call");
  });

  test("auto with an output constraint: the constraint or calls, anchored", async () => {
    const constraint = { kind: "json", schema: { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] }, strict: false, field: "response_format" } as const;
    const result = toolGrammar({ syntax: hermesFamily.syntax, tools: tools({ kind: "auto" }), constraint });
    assert.equal(result.anchored, true);
    const grammar = await llama.createGrammar({ grammar: result.gbnf });
    assert.equal(accepts(grammar, '{"answer":"yes"}'), true);
    assert.equal(accepts(grammar, call("now", "{}")), true);
    assert.equal(accepts(grammar, "free text"), false);
  });

  test("strict tools with unsupported keywords are 400s naming the parameters", () => {
    const strictTools: ToolsRequest = {
      definitions: [{ name: "f", description: undefined, parameters: { type: "object", properties: { a: { type: "array", uniqueItems: true } } }, strict: true }],
      choice: { kind: "auto" },
      parallel: true,
      legacy: false,
    };
    assert.throws(
      () => toolGrammar({ syntax: hermesFamily.syntax, tools: strictTools }),
      (error: unknown) => error instanceof ParleyError && error.param === "tools[0].function.parameters",
    );
  });
});

describe("toolGrammar: functions without arguments", () => {
  test("`properties: {}` allows only `{}`", async () => {
    const grammar = await llama.createGrammar({ grammar: toolGrammar({ syntax: hermesFamily.syntax, tools: { ...tools({ kind: "function", name: "now" }) } }).gbnf });
    assert.equal(accepts(grammar, '<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>'), true);
    assert.equal(accepts(grammar, '<tool_call>\n{"name": "now", "arguments": {"x": 1}}\n</tool_call>'), false);
  });
});

describe("ToolCallStream", () => {
  test("stop strings end content but are part of a call's arguments", async () => {
    const { ToolCallStream } = await import("../../src/chat/tools/tool-call-stream.ts");
    const inArgs = new ToolCallStream({ syntax: hermesFamily.syntax, choice: 0, stop: ["STOP"] });
    const text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "STOP"}}\n</tool_call>';
    const events = [...text].flatMap((c) => {
      const step = inArgs.push(c, []);
      assert.equal(step.stopped, false);
      return step.events;
    });
    events.push(...inArgs.finish());
    const args = events.flatMap((e) => (e.type === "tool_arguments" ? [e.text] : [])).join("");
    assert.equal(args, '{"city": "STOP"}');
    assert.equal(inArgs.finishReason("stop"), "tool_calls");

    const inContent = new ToolCallStream({ syntax: hermesFamily.syntax, choice: 0, stop: ["STOP"] });
    let stopped = false;
    const content: string[] = [];
    for (const piece of ["Hello S", "TO", "P and more"]) {
      const step = inContent.push(piece, []);
      for (const e of step.events) if (e.type === "delta") content.push(e.text);
      stopped ||= step.stopped;
    }
    for (const e of inContent.finish()) if (e.type === "delta") content.push(e.text);
    assert.equal(stopped, true);
    assert.equal(content.join(""), "Hello ");
    assert.equal(inContent.finishReason("stop"), "stop");
  });
});

describe("tools request: arguments schemas", () => {
  test("parameters are always an object schema", async () => {
    const { parseChatRequest } = await import("../../src/http/dialects/chat-completions/normalize.ts");
    const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
    const fn = (parameters: unknown) => ({ ...base, tools: [{ type: "function", function: { name: "f", parameters } }] });
    assert.deepEqual(parseChatRequest(fn({})).request.tools?.definitions[0]?.parameters, { type: "object" });
    assert.deepEqual(parseChatRequest(fn({ properties: { a: { type: "string" } } })).request.tools?.definitions[0]?.parameters, { type: "object", properties: { a: { type: "string" } } });
    assert.throws(
      () => parseChatRequest(fn({ type: "string" })),
      (e: unknown) => e instanceof ParleyError && e.param === "tools[0].function.parameters.type",
    );
  });
});
