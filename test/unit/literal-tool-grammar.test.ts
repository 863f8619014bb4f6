/**
 * tool_choice grammars for the keyword-argument ("literal-args") families, checked with
 * llama.cpp's own grammar engine: each family's layout is what `required` writes (LFM2: JSON
 * values; Gemma 4: its own literals, arguments sorted by name), the parser reads what the grammar
 * accepts back as JSON, values are held to their property schemas, none/auto/named/parallel hold,
 * and what cannot be enforced is reported.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { accepts, toolGrammarChecks } from "../support/grammar.ts";
import { createToolCallParser } from "../../src/chat/tools/call-parser.ts";
import { gemma4Family } from "../../src/chat/tools/families/gemma-4.ts";
import { lfm2Family } from "../../src/chat/tools/families/lfm2.ts";
import { parameterTypesOf } from "../../src/chat/tools/parameter-types.ts";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import { toolGrammar } from "../../src/chat/tools/tool-grammar.ts";
import type { ToolDefinition } from "../../src/domain/tools.ts";

const TOOLS: ToolDefinition[] = [
  {
    name: "get_weather",
    description: "Weather for a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        days: { type: "integer", minimum: 1, maximum: 14 },
        unit: { enum: ["c", "f"] },
        options: { type: "object", properties: { hourly: { type: "boolean" }, tags: { type: "array", items: { type: "string" }, maxItems: 2 } }, required: ["hourly"] },
      },
      required: ["city"],
    },
    strict: false,
  },
  { name: "now", description: undefined, parameters: { type: "object", properties: {} }, strict: false },
];

const { grammarFor, tools } = toolGrammarChecks(TOOLS);

function readBack(syntax: ToolCallSyntax, text: string, definitions: ToolDefinition[] = TOOLS): { content: string; calls: [string, unknown][] } {
  const parser = createToolCallParser(syntax, { parameterTypes: parameterTypesOf(definitions) });
  const out = { content: "", calls: [] as [string, string][] };
  for (const part of [...parser.push(text), ...parser.finish()]) {
    if (part.kind === "content") out.content += part.text;
    else if (part.kind === "call") out.calls.push([part.name, ""]);
    else out.calls[part.index]![1] += part.text;
  }
  return { content: out.content, calls: out.calls.map(([n, a]) => [n, JSON.parse(a)]) };
}

/** A call: its name and its arguments as the family writes them (`key=value` texts). */
type Call = readonly [string, readonly string[]];

interface Case {
  readonly syntax: ToolCallSyntax;
  readonly section: (calls: readonly Call[]) => string;
  /** The arguments of the two-call sample, in the family's literals and order. */
  readonly weather: readonly string[];
  /** Wrongly typed or invalid arguments, each with why. */
  readonly rejected: readonly [string, readonly string[]][];
}

const CASES: readonly Case[] = [
  {
    syntax: lfm2Family.syntax,
    section: (calls) => `<|tool_call_start|>[${calls.map(([n, a]) => `${n}(${a.join(", ")})`).join(", ")}]<|tool_call_end|>`,
    weather: ['city="São Paulo \\"centre\\""', "days=3", 'unit="c"', 'options={"hourly": true, "tags": ["a"]}'],
    rejected: [
      ["missing required city", ["days=3"]],
      ["a string not quoted", ["city=Oslo"]],
      ["integer as a string", ['city="Oslo"', 'days="3"']],
      ["integer out of range", ['city="Oslo"', "days=15"]],
      ["not in the enum", ['city="Oslo"', 'unit="k"']],
      ["object without its required key", ['city="Oslo"', "options={}"]],
      ["too many items", ['city="Oslo"', 'options={"hourly": true, "tags": ["a", "b", "c"]}']],
      ["undeclared argument", ['city="Oslo"', 'country="NO"']],
      ["declared order", ["days=3", 'city="Oslo"']],
    ],
  },
  {
    syntax: gemma4Family.syntax,
    section: (calls) => calls.map(([n, a]) => `<|tool_call>call:${n}{${a.join(",")}}<tool_call|>`).join(""),
    weather: ['city:<|"|>São Paulo "centre" <b><|"|>', "days:3", 'options:{hourly:true,tags:[<|"|>a<|"|>]}', 'unit:<|"|>c<|"|>'],
    rejected: [
      ["missing required city", ["days:3"]],
      ["a string not delimited", ["city:Oslo"]],
      ["a JSON string", ['city:"Oslo"']],
      ["integer as a string", ['city:<|"|>Oslo<|"|>', 'days:<|"|>3<|"|>']],
      ["integer out of range", ['city:<|"|>Oslo<|"|>', "days:15"]],
      ["not in the enum", ['city:<|"|>Oslo<|"|>', 'unit:<|"|>k<|"|>']],
      ["object without its required key", ['city:<|"|>Oslo<|"|>', "options:{}"]],
      ["a quoted key where keys are bare", ['city:<|"|>Oslo<|"|>', 'options:{<|"|>hourly<|"|>:true}']],
      ["too many items", ['city:<|"|>Oslo<|"|>', 'options:{hourly:true,tags:[<|"|>a<|"|>,<|"|>b<|"|>,<|"|>c<|"|>]}']],
      ["undeclared argument", ['city:<|"|>Oslo<|"|>', 'country:<|"|>NO<|"|>']],
      ["sorted order", ["days:3", 'city:<|"|>Oslo<|"|>']],
      ["the delimiter inside a string", ['city:<|"|>a<|"|>b<|"|>']],
      ["spaces the family does not write", ['city: <|"|>Oslo<|"|>']],
    ],
  },
];

const WEATHER = { city: 'São Paulo "centre"', days: 3, unit: "c", options: { hourly: true, tags: ["a"] } };

for (const { syntax, section, weather, rejected } of CASES) {
  describe(`toolGrammar: ${syntax.family}`, () => {
    test("required: the family's own layout, which the parser reads back as JSON", async () => {
      const grammar = await grammarFor(syntax, { kind: "required" });
      const text = section([
        ["now", []],
        ["get_weather", weather],
      ]);
      assert.equal(accepts(grammar, text), true, text);
      const back = readBack(syntax, text);
      assert.equal(back.content, "");
      assert.deepEqual(back.calls[0], ["now", {}]);
      assert.deepEqual(back.calls[1]![0], "get_weather");
      const args = back.calls[1]![1] as Record<string, unknown>;
      assert.deepEqual({ ...args, city: String(args.city).replace(" <b>", "") }, WEATHER);
      assert.equal(accepts(grammar, section([["get_weather", [weather[0]!]]])), true, "optional arguments left out");
      assert.equal(accepts(grammar, ""), false);
      assert.equal(accepts(grammar, "Sure"), false);
      for (const [why, args] of rejected) assert.equal(accepts(grammar, section([["get_weather", args]])), false, why);
      assert.equal(accepts(grammar, section([["unknown", []]])), false, "unknown tool");
      assert.equal(accepts(grammar, `${section([["now", []]])} trailing`), false, "nothing after the section");
    });

    test("a named function or parallel_tool_calls false: exactly one call", async () => {
      const named = await grammarFor(syntax, { kind: "function", name: "get_weather" });
      assert.equal(accepts(named, section([["get_weather", [weather[0]!]]])), true);
      assert.equal(accepts(named, section([["now", []]])), false);
      assert.equal(
        accepts(
          named,
          section([
            ["get_weather", [weather[0]!]],
            ["get_weather", [weather[0]!]],
          ]),
        ),
        false,
      );
      const single = await grammarFor(syntax, { kind: "required" }, false);
      assert.equal(accepts(single, section([["now", []]])), true);
      assert.equal(
        accepts(
          single,
          section([
            ["now", []],
            ["now", []],
          ]),
        ),
        false,
      );
    });

    test("auto: free content, or content then a section; none: no marker token", async () => {
      const auto = await grammarFor(syntax, { kind: "auto" });
      assert.equal(accepts(auto, "Just an answer, with < and { and ( in it."), true);
      assert.equal(accepts(auto, `Let me check.${section([["now", []]])}`), true);
      for (const trigger of syntax.triggers) assert.equal(accepts(auto, `text ${trigger} more`), false, trigger);
      const none = await grammarFor(syntax, { kind: "none" });
      assert.equal(accepts(none, "plain text <b> [x] {}"), true);
      for (const marker of syntax.markerTokens) assert.equal(accepts(none, `a ${marker} b`), false, marker);
    });
  });
}

describe("toolGrammar: Gemma 4's literal values", () => {
  const gemma = gemma4Family.syntax;
  const one = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}, strict = false): ToolDefinition[] => [
    { name: "f", description: undefined, parameters: { type: "object", properties, required: Object.keys(properties), ...extra }, strict },
  ];
  const check = async (definitions: ToolDefinition[], args: string): Promise<boolean> =>
    accepts(await grammarFor(gemma, { kind: "required" }, true, definitions), `<|tool_call>call:f{${args}}<tool_call|>`);

  test("string constraints: pattern, format, lengths, const; numbers; null and booleans in Gemma's words", async () => {
    const pattern = one({ s: { type: "string", pattern: "^[A-Z]{3}$" } });
    assert.equal(await check(pattern, 's:<|"|>OSL<|"|>'), true);
    assert.equal(await check(pattern, 's:<|"|>Oslo<|"|>'), false);
    const date = one({ s: { type: "string", format: "date" } });
    assert.equal(await check(date, 's:<|"|>2026-02-28<|"|>'), true);
    assert.equal(await check(date, 's:<|"|>tomorrow<|"|>'), false);
    const short = one({ s: { type: "string", minLength: 2, maxLength: 4 } });
    assert.equal(await check(short, 's:<|"|>ab<|"|>'), true);
    assert.equal(await check(short, 's:<|"|>abcde<|"|>'), false);
    const constant = one({ s: { const: "yes" }, n: { type: ["number", "null"], maximum: 2.5 }, b: { type: "boolean" } });
    assert.equal(await check(constant, 'b:false,n:null,s:<|"|>yes<|"|>'), true, "sorted");
    assert.equal(await check(constant, 'b:false,n:2.5,s:<|"|>yes<|"|>'), true);
    assert.equal(await check(constant, 'b:false,n:2.6,s:<|"|>yes<|"|>'), false);
    assert.equal(await check(constant, 'b:False,n:null,s:<|"|>yes<|"|>'), false);
    assert.equal(await check(constant, 'b:false,n:None,s:<|"|>yes<|"|>'), false);
  });

  test("$refs (recursive too), anyOf, nullable, open objects whose extra keys never reuse a declared name", async () => {
    const tree = one(
      { t: { $ref: "#/$defs/node" } },
      { $defs: { node: { type: "object", properties: { name: { type: "string" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } }, required: ["name"] } } },
    );
    const text = 't:{kids:[{name:<|"|>b<|"|>},{kids:[],name:<|"|>c<|"|>}],name:<|"|>a<|"|>}';
    assert.equal(await check(tree, text), true);
    assert.deepEqual(readBack(gemma, `<|tool_call>call:f{${text}}<tool_call|>`, tree).calls, [["f", { t: { kids: [{ name: "b" }, { kids: [], name: "c" }], name: "a" } }]]);
    const choice = one({ v: { anyOf: [{ type: "integer" }, { type: "string", nullable: true }] } });
    for (const v of ["3", '<|"|>x<|"|>', "null"]) assert.equal(await check(choice, `v:${v}`), true, v);
    assert.equal(await check(choice, "v:true"), false);
    const open = one({ o: { type: "object", properties: { a: { type: "integer" } }, additionalProperties: { type: "string" } } });
    assert.equal(await check(open, 'o:{a:1,b:<|"|>x<|"|>,ab:<|"|>y<|"|>}'), true);
    assert.equal(await check(open, 'o:{a:1,a:<|"|>x<|"|>}'), false, "a declared name is not an extra key");
    const any = one({ x: true });
    assert.equal(await check(any, 'x:{k:[1,<|"|>s<|"|>,{m:null}],z:false}'), true);
  });

  test("what cannot be enforced is reported, and is an error for strict tools", () => {
    const warnings = (properties: Record<string, unknown>, strict = false): readonly string[] =>
      toolGrammar({ syntax: gemma, tools: tools({ kind: "required" }, true, one(properties, {}, strict)) }).warnings;
    assert.ok(
      warnings({ s: { type: "string", pattern: "^<.*>$" } }).some((w) => w.includes("pattern")),
      "a pattern that may write the delimiter's `<`",
    );
    assert.ok(warnings({ s: { type: "string", format: "color" } }).some((w) => w.includes("format")));
    assert.ok(warnings({ s: { type: "integer", multipleOf: 5 } }).some((w) => w.includes("multipleOf")));
    assert.ok(warnings({ s: { type: "array", prefixItems: [{ type: "integer" }] } }).some((w) => w.includes("prefixItems")));
    assert.deepEqual(warnings({ s: { type: "string", pattern: "^[a-z]+$" } }), []);
    assert.throws(() => warnings({ s: { type: "string", pattern: "^<.*>$" } }, true), /pattern/);
  });
});

describe("toolGrammar: keyword arguments", () => {
  test("a schema that is not plain properties at the top, or a name that is no keyword: 400", () => {
    for (const syntax of [lfm2Family.syntax, gemma4Family.syntax]) {
      const anyOf: ToolDefinition[] = [{ name: "f", description: undefined, parameters: { type: "object", anyOf: [{ properties: { a: { type: "string" } } }] }, strict: false }];
      assert.throws(() => toolGrammar({ syntax, tools: tools({ kind: "required" }, true, anyOf) }), /anyOf/);
      const spaced: ToolDefinition[] = [{ name: "f", description: undefined, parameters: { type: "object", properties: { "a b": { type: "string" } } }, strict: false }];
      assert.throws(() => toolGrammar({ syntax, tools: tools({ kind: "required" }, true, spaced) }), /keyword/);
    }
  });

  test("a schema without properties takes any keyword arguments; LFM2's JSON values warn as the converter does", async () => {
    const open: ToolDefinition[] = [{ name: "f", description: undefined, parameters: { type: "object" }, strict: false }];
    const lfm2 = await grammarFor(lfm2Family.syntax, { kind: "required" }, true, open);
    const text = '<|tool_call_start|>[f(x="text", y=[1, 2])]<|tool_call_end|>';
    assert.equal(accepts(lfm2, text), true);
    assert.deepEqual(readBack(lfm2Family.syntax, text, open).calls, [["f", { x: "text", y: [1, 2] }]]);
    const gemma = await grammarFor(gemma4Family.syntax, { kind: "required" }, true, open);
    assert.equal(accepts(gemma, '<|tool_call>call:f{x:<|"|>text<|"|>,y:[1,2]}<tool_call|>'), true);
    const multiple: ToolDefinition[] = [{ name: "f", description: undefined, parameters: { type: "object", properties: { n: { type: "integer", multipleOf: 5 } } }, strict: false }];
    assert.ok(toolGrammar({ syntax: lfm2Family.syntax, tools: tools({ kind: "required" }, true, multiple) }).warnings.some((w) => w.startsWith("f: ") && w.includes("multipleOf")));
  });
});
