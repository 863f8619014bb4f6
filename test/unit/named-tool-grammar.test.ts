/**
 * tool_choice grammars for the named-JSON families (names outside the JSON arguments), checked
 * with llama.cpp's own grammar engine: each family's layout is what `required` writes, the parser
 * reads what the grammar accepts back as the calls, and none/auto/named/parallel hold.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { accepts, toolGrammarChecks } from "../support/grammar.ts";
import { createToolCallParser } from "../../src/chat/tools/call-parser.ts";
import { deepseekV3Family } from "../../src/chat/tools/families/deepseek-v3.ts";
import { deepseekV31Family } from "../../src/chat/tools/families/deepseek-v3-1.ts";
import { functionaryV31Family } from "../../src/chat/tools/families/functionary-v3-1.ts";
import { harmonyFamily } from "../../src/chat/tools/families/harmony.ts";
import { kimiK2Family } from "../../src/chat/tools/families/kimi-k2.ts";
import { mistralV11Family } from "../../src/chat/tools/families/mistral-v11.ts";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import type { ToolsRequest } from "../../src/domain/tools.ts";

const TOOLS: ToolsRequest["definitions"] = [
  {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { enum: ["c", "f"] } }, required: ["city"] },
    strict: false,
  },
  { name: "now", description: undefined, parameters: { type: "object", properties: {} }, strict: false },
];

const { grammarFor } = toolGrammarChecks(TOOLS);

interface Case {
  readonly syntax: ToolCallSyntax;
  /** The section for calls (name, arguments), numbered from 0, as the family's models write it. */
  readonly section: (calls: readonly (readonly [string, string])[]) => string;
}

const CASES: readonly Case[] = [
  { syntax: mistralV11Family.syntax, section: (calls) => calls.map(([n, a]) => `[TOOL_CALLS]${n}[ARGS]${a}`).join("") },
  {
    syntax: deepseekV31Family.syntax,
    section: (calls) => `<｜tool▁calls▁begin｜>${calls.map(([n, a]) => `<｜tool▁call▁begin｜>${n}<｜tool▁sep｜>${a}<｜tool▁call▁end｜>`).join("")}<｜tool▁calls▁end｜>`,
  },
  {
    syntax: deepseekV3Family.syntax,
    section: (calls) => `<｜tool▁calls▁begin｜>${calls.map(([n, a]) => `<｜tool▁call▁begin｜>function<｜tool▁sep｜>${n}\n\`\`\`json\n${a}\n\`\`\`<｜tool▁call▁end｜>`).join("\n")}<｜tool▁calls▁end｜>`,
  },
  {
    syntax: kimiK2Family.syntax,
    section: (calls) =>
      `<|tool_calls_section_begin|>${calls.map(([n, a], i) => `<|tool_call_begin|>functions.${n}:${i}<|tool_call_argument_begin|>${a}<|tool_call_end|>`).join("")}<|tool_calls_section_end|>`,
  },
  { syntax: functionaryV31Family.syntax, section: (calls) => calls.map(([n, a]) => `<function=${n}>${a}</function>`).join("") },
];

const TWO = [
  ["now", "{}"],
  ["get_weather", '{"city": "Lima", "unit": "c"}'],
] as const;

function readBack(syntax: ToolCallSyntax, text: string): { content: string; calls: [string, string][] } {
  const parser = createToolCallParser(syntax);
  const out = { content: "", calls: [] as [string, string][] };
  for (const part of [...parser.push(text), ...parser.finish()]) {
    if (part.kind === "content") out.content += part.text;
    else if (part.kind === "call") out.calls.push([part.name, ""]);
    else out.calls[part.index]![1] += part.text;
  }
  return out;
}

for (const { syntax, section } of CASES) {
  describe(`toolGrammar: ${syntax.family}`, () => {
    test("required: the family's own layout, which the parser reads back", async () => {
      const grammar = await grammarFor(syntax, { kind: "required" });
      const text = section(TWO);
      assert.equal(accepts(grammar, text), true, text);
      assert.deepEqual(readBack(syntax, text), { content: "", calls: TWO.map(([n, a]) => [n, a]) });
      assert.equal(accepts(grammar, ""), false);
      assert.equal(accepts(grammar, "Sure"), false);
      assert.equal(accepts(grammar, section([["get_weather", '{"unit": "c"}']])), false, "missing required city");
      assert.equal(accepts(grammar, section([["get_weather", '{"city": 3}']])), false, "wrong type");
      assert.equal(accepts(grammar, section([["unknown", "{}"]])), false, "unknown tool");
      assert.equal(accepts(grammar, `${section([["now", "{}"]])} trailing`), false, "nothing after the section");
    });

    test("a named function or parallel_tool_calls false: exactly one call", async () => {
      const named = await grammarFor(syntax, { kind: "function", name: "get_weather" });
      assert.equal(accepts(named, section([["get_weather", '{"city": "Oslo"}']])), true);
      assert.equal(accepts(named, section([["now", "{}"]])), false);
      assert.equal(
        accepts(
          named,
          section([
            ["get_weather", '{"city": "Oslo"}'],
            ["get_weather", '{"city": "Rome"}'],
          ]),
        ),
        false,
      );
      const single = await grammarFor(syntax, { kind: "required" }, false);
      assert.equal(accepts(single, section([["now", "{}"]])), true);
      assert.equal(accepts(single, section(TWO)), false);
    });

    test("auto: free content, or content then a section; content may not hold a trigger", async () => {
      const grammar = await grammarFor(syntax, { kind: "auto" });
      assert.equal(accepts(grammar, "Just an answer, with < and { and [ in it."), true);
      assert.equal(accepts(grammar, `Let me check.${section(TWO)}`), true);
      for (const trigger of syntax.triggers) assert.equal(accepts(grammar, `text ${trigger} more`), false, trigger);
      assert.deepEqual(readBack(syntax, `Let me check.${section(TWO)}`).content, "Let me check.");
    });

    test("none: the family's marker tokens are never written", async () => {
      const grammar = await grammarFor(syntax, { kind: "none" });
      assert.equal(accepts(grammar, "plain text <b> [x] {}"), true);
      for (const marker of syntax.markerTokens) assert.equal(accepts(grammar, `a ${marker} b`), false, marker);
    });
  });
}

describe("toolGrammar: kimi-k2 call numbers", () => {
  test("the number after the name is digits", async () => {
    const grammar = await grammarFor(kimiK2Family.syntax, { kind: "required" });
    const call = (id: string): string => `<|tool_calls_section_begin|><|tool_call_begin|>functions.now${id}<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>`;
    assert.equal(accepts(grammar, call(":0")), true);
    assert.equal(accepts(grammar, call(":17")), true);
    assert.equal(accepts(grammar, call(":x")), false);
    assert.equal(accepts(grammar, call("")), false);
  });
});

describe("toolGrammar: harmony (the grammar writes the message header)", () => {
  const call = (name: string, args: string): string => `<|channel|>commentary to=functions.${name} <|constrain|>json<|message|>${args}`;
  const final = (text: string): string => `<|channel|>final<|message|>${text}`;

  test("required and named: one call, with or without the role part first", async () => {
    const grammar = await grammarFor(harmonyFamily.syntax, { kind: "required" });
    assert.equal(accepts(grammar, call("get_weather", '{"city": "Oslo"}')), true);
    assert.equal(accepts(grammar, `<|start|>assistant${call("now", "{}")}`), true);
    assert.deepEqual(readBack(harmonyFamily.syntax, call("get_weather", '{"city": "Oslo"}')), { content: "", calls: [["get_weather", '{"city": "Oslo"}']] });
    assert.equal(accepts(grammar, call("now", "{}") + call("now", "{}")), false, "one call per message");
    assert.equal(accepts(grammar, final("Hi")), false);
    assert.equal(accepts(grammar, call("get_weather", '{"unit": "c"}')), false, "missing required city");
    const named = await grammarFor(harmonyFamily.syntax, { kind: "function", name: "now" });
    assert.equal(accepts(named, call("now", "{}")), true);
    assert.equal(accepts(named, call("get_weather", '{"city": "Oslo"}')), false);
  });

  test("auto: a final answer or a call, not both; none: a final answer without markers", async () => {
    const auto = await grammarFor(harmonyFamily.syntax, { kind: "auto" });
    assert.equal(accepts(auto, final("Just an answer {x}.")), true);
    assert.equal(accepts(auto, call("now", "{}")), true);
    assert.equal(accepts(auto, final("Let me check.") + call("now", "{}")), false);
    assert.equal(accepts(auto, "No header"), false);
    const none = await grammarFor(harmonyFamily.syntax, { kind: "none" });
    assert.equal(accepts(none, final("plain text")), true);
    assert.equal(accepts(none, call("now", "{}")), false);
    assert.equal(accepts(none, final("a <|end|> b")), false);
  });
});
