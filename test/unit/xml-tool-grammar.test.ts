/**
 * tool_choice grammars for the per-parameter ("xml-params") families, checked with llama.cpp's own
 * grammar engine: each family's layout is what `required` writes, the parser reads what the
 * grammar accepts back as schema-typed JSON arguments, values are held to their property schemas
 * (raw strings, enums, patterns, lengths, formats; JSON for other types), and none/auto/named/
 * parallel hold.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { accepts, toolGrammarChecks } from "../support/grammar.ts";
import { createToolCallParser } from "../../src/chat/tools/call-parser.ts";
import { glm45Family } from "../../src/chat/tools/families/glm-4-5.ts";
import { glm47Family } from "../../src/chat/tools/families/glm-4-7.ts";
import { minimaxM2Family } from "../../src/chat/tools/families/minimax-m2.ts";
import { qwen3CoderFamily } from "../../src/chat/tools/families/qwen3-coder.ts";
import { seedOssFamily } from "../../src/chat/tools/families/seed-oss.ts";
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
        options: { type: "object", properties: { hourly: { type: "boolean" } }, required: ["hourly"] },
      },
      required: ["city"],
    },
    strict: false,
  },
  { name: "now", description: undefined, parameters: { type: "object", properties: {} }, strict: false },
];

const { grammarFor, tools } = toolGrammarChecks(TOOLS);

type Params = readonly (readonly [string, string])[];
type Call = readonly [string, Params];

interface Case {
  readonly syntax: ToolCallSyntax;
  /** The section for calls (name, raw parameters) as the family's models write it. */
  readonly section: (calls: readonly Call[]) => string;
}

const CASES: readonly Case[] = [
  {
    syntax: qwen3CoderFamily.syntax,
    section: (calls) => calls.map(([n, ps]) => `<tool_call>\n<function=${n}>\n${ps.map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join("")}</function>\n</tool_call>`).join("\n"),
  },
  {
    syntax: seedOssFamily.syntax,
    section: (calls) => calls.map(([n, ps]) => `<seed:tool_call>\n<function=${n}>\n${ps.map(([k, v]) => `<parameter=${k}>${v}</parameter>\n`).join("")}</function>\n</seed:tool_call>`).join("\n"),
  },
  {
    syntax: glm45Family.syntax,
    section: (calls) => calls.map(([n, ps]) => `<tool_call>${n}\n${ps.map(([k, v]) => `<arg_key>${k}</arg_key>\n<arg_value>${v}</arg_value>\n`).join("")}</tool_call>`).join("\n"),
  },
  {
    syntax: glm47Family.syntax,
    section: (calls) => calls.map(([n, ps]) => `<tool_call>${n}${ps.map(([k, v]) => `<arg_key>${k}</arg_key><arg_value>${v}</arg_value>`).join("")}</tool_call>`).join(""),
  },
  {
    syntax: minimaxM2Family.syntax,
    section: (calls) =>
      `<minimax:tool_call>\n${calls.map(([n, ps]) => `<invoke name="${n}">\n${ps.map(([k, v]) => `<parameter name="${k}">${v}</parameter>\n`).join("")}</invoke>\n`).join("")}</minimax:tool_call>`,
  },
];

const TWO: readonly Call[] = [
  ["now", []],
  [
    "get_weather",
    [
      ["city", "São Paulo <centre>"],
      ["days", "3"],
      ["unit", "c"],
      ["options", '{"hourly": true}'],
    ],
  ],
];

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

for (const { syntax, section } of CASES) {
  describe(`toolGrammar: ${syntax.family}`, () => {
    test("required: the family's own layout, which the parser reads back as typed JSON", async () => {
      const grammar = await grammarFor(syntax, { kind: "required" });
      const text = section(TWO);
      assert.equal(accepts(grammar, text), true, text);
      assert.deepEqual(readBack(syntax, text), {
        content: "",
        calls: [
          ["now", {}],
          ["get_weather", { city: "São Paulo <centre>", days: 3, unit: "c", options: { hourly: true } }],
        ],
      });
      assert.equal(accepts(grammar, section([["get_weather", [["city", "3"]]]])), true, "a string may look like a number");
      assert.equal(accepts(grammar, section([["get_weather", [["city", ""]]]])), true, "or be empty");
      assert.equal(accepts(grammar, ""), false);
      assert.equal(accepts(grammar, "Sure"), false);
      const rejected: [string, Call][] = [
        ["missing required city", ["get_weather", [["days", "3"]]]],
        [
          "integer as words",
          [
            "get_weather",
            [
              ["city", "Oslo"],
              ["days", "three"],
            ],
          ],
        ],
        [
          "integer out of range",
          [
            "get_weather",
            [
              ["city", "Oslo"],
              ["days", "15"],
            ],
          ],
        ],
        [
          "not in the enum",
          [
            "get_weather",
            [
              ["city", "Oslo"],
              ["unit", "k"],
            ],
          ],
        ],
        [
          "object without its required key",
          [
            "get_weather",
            [
              ["city", "Oslo"],
              ["options", "{}"],
            ],
          ],
        ],
        [
          "undeclared parameter",
          [
            "get_weather",
            [
              ["city", "Oslo"],
              ["country", "NO"],
            ],
          ],
        ],
        [
          "declared order",
          [
            "get_weather",
            [
              ["days", "3"],
              ["city", "Oslo"],
            ],
          ],
        ],
        ["the closing tag inside a string", ["get_weather", [["city", `a${syntax.family.startsWith("glm") ? "</arg_value>" : "</parameter>"}b`]]]],
        ["unknown tool", ["unknown", []]],
      ];
      for (const [why, call] of rejected) assert.equal(accepts(grammar, section([call])), false, why);
      assert.equal(accepts(grammar, `${section([["now", []]])} trailing`), false, "nothing after the section");
    });

    test("a named function or parallel_tool_calls false: exactly one call", async () => {
      const named = await grammarFor(syntax, { kind: "function", name: "get_weather" });
      assert.equal(accepts(named, section([["get_weather", [["city", "Oslo"]]]])), true);
      assert.equal(accepts(named, section([["now", []]])), false);
      assert.equal(
        accepts(
          named,
          section([
            ["get_weather", [["city", "Oslo"]]],
            ["get_weather", [["city", "Rome"]]],
          ]),
        ),
        false,
      );
      const single = await grammarFor(syntax, { kind: "required" }, false);
      assert.equal(accepts(single, section([["now", []]])), true);
      assert.equal(accepts(single, section(TWO)), false);
    });

    test("auto: free content, or content then a section; content may not hold a trigger", async () => {
      const grammar = await grammarFor(syntax, { kind: "auto" });
      assert.equal(accepts(grammar, "Just an answer, with < and { and [ in it."), true);
      assert.equal(accepts(grammar, `Let me check.${section(TWO)}`), true);
      for (const trigger of syntax.triggers) assert.equal(accepts(grammar, `text ${trigger} more`), false, trigger);
      assert.equal(readBack(syntax, `Let me check.${section(TWO)}`).content, "Let me check.");
    });

    test("none: the family's marker tokens are never written", async () => {
      const grammar = await grammarFor(syntax, { kind: "none" });
      assert.equal(accepts(grammar, "plain text <b> [x] {}"), true);
      for (const marker of syntax.markerTokens) assert.equal(accepts(grammar, `a ${marker} b`), false, marker);
    });
  });
}

describe("toolGrammar: string constraints on raw values", () => {
  const qwen = CASES[0]!;
  const tool = (properties: Record<string, unknown>, strict = false): ToolDefinition[] => [
    { name: "f", description: undefined, parameters: { type: "object", properties, required: Object.keys(properties) }, strict },
  ];
  const check = async (definitions: ToolDefinition[], value: string): Promise<boolean> =>
    accepts(await grammarFor(qwen.syntax, { kind: "required" }, true, definitions), qwen.section([["f", [["s", value]]]]));

  test("pattern, format, maxLength and const are enforced", async () => {
    const pattern = tool({ s: { type: "string", pattern: "^[A-Z]{3}$" } });
    assert.equal(await check(pattern, "OSL"), true);
    assert.equal(await check(pattern, "Oslo"), false);
    const date = tool({ s: { type: "string", format: "date" } });
    assert.equal(await check(date, "2026-02-28"), true);
    assert.equal(await check(date, "tomorrow"), false);
    const short = tool({ s: { type: "string", minLength: 2, maxLength: 4 } });
    assert.equal(await check(short, "ab"), true);
    assert.equal(await check(short, "abcd"), true);
    assert.equal(await check(short, "a"), false);
    assert.equal(await check(short, "abcde"), false);
    const constant = tool({ s: { const: "yes" } });
    assert.equal(await check(constant, "yes"), true);
    assert.equal(await check(constant, "no"), false);
    assert.deepEqual(toolGrammar({ syntax: qwen.syntax, tools: tools({ kind: "required" }, true, pattern) }).warnings, []);
  });

  test("what a raw value cannot enforce is reported, and is an error for strict tools", () => {
    const warnings = (properties: Record<string, unknown>): readonly string[] => toolGrammar({ syntax: qwen.syntax, tools: tools({ kind: "required" }, true, tool(properties)) }).warnings;
    assert.ok(
      warnings({ s: { type: "string", pattern: "^<.*>$" } }).some((w) => w.includes("pattern")),
      "a pattern that may write the closing tag's `<`",
    );
    assert.deepEqual(warnings({ s: { type: "string", format: "date", pattern: "^2.*", maxLength: 10 } }), [], "a format, a pattern and a length are enforced together");
    assert.throws(() => warnings({ s: { type: "string", format: "date", maxLength: 3 } }), /format \+ maxLength/, "and a contradiction is a 400");
    assert.ok(warnings({ s: { type: "string", format: "color" } }).some((w) => w.includes("format")));
    assert.ok(
      warnings({ s: { type: "integer", multipleOf: 5 } }).some((w) => w.includes("multipleOf")),
      "JSON values warn as the converter does",
    );
    assert.throws(() => toolGrammar({ syntax: qwen.syntax, tools: tools({ kind: "required" }, true, tool({ s: { type: "string", pattern: "^<.*>$" } }, true)) }), /pattern/);
  });

  test("a schema that is not plain properties at the top cannot be written per parameter: 400", () => {
    const definitions: ToolDefinition[] = [{ name: "f", description: undefined, parameters: { type: "object", anyOf: [{ properties: { a: { type: "string" } } }] }, strict: false }];
    assert.throws(() => toolGrammar({ syntax: qwen.syntax, tools: tools({ kind: "required" }, true, definitions) }), /anyOf/);
  });

  test("$refs to the schema's $defs resolve; a schema without properties takes any parameters", async () => {
    const refs: ToolDefinition[] = [
      {
        name: "f",
        description: undefined,
        parameters: {
          type: "object",
          properties: { s: { $ref: "#/$defs/code" }, n: { $ref: "#/$defs/n" } },
          required: ["s", "n"],
          $defs: { code: { type: "string", enum: ["a", "b"] }, n: { type: "integer" } },
        },
        strict: false,
      },
    ];
    const grammar = await grammarFor(qwen.syntax, { kind: "required" }, true, refs);
    assert.equal(
      accepts(
        grammar,
        qwen.section([
          [
            "f",
            [
              ["s", "a"],
              ["n", "7"],
            ],
          ],
        ]),
      ),
      true,
    );
    assert.equal(
      accepts(
        grammar,
        qwen.section([
          [
            "f",
            [
              ["s", "c"],
              ["n", "7"],
            ],
          ],
        ]),
      ),
      false,
    );
    assert.equal(
      accepts(
        grammar,
        qwen.section([
          [
            "f",
            [
              ["s", "a"],
              ["n", "x"],
            ],
          ],
        ]),
      ),
      false,
    );
    const open: ToolDefinition[] = [{ name: "f", description: undefined, parameters: { type: "object" }, strict: false }];
    const any = await grammarFor(qwen.syntax, { kind: "required" }, true, open);
    const text = qwen.section([
      [
        "f",
        [
          ["x", '"text"'],
          ["y", "[1, 2]"],
        ],
      ],
    ]);
    assert.equal(accepts(any, text), true);
    assert.deepEqual(readBack(qwen.syntax, text, open).calls, [["f", { x: "text", y: [1, 2] }]]);
  });
});

describe("toolGrammar: values marked by kind (jsonParamNameClose)", () => {
  // DeepSeek V3.2's layout, with markers of our own.
  const marked: ToolCallSyntax = {
    shape: "xml-params",
    family: "derived",
    triggers: ["<calls>"],
    sectionOpen: "<calls>\n",
    sectionClose: "</calls>",
    callOpen: '<invoke name="',
    nameClose: '">\n',
    paramOpen: '<param name="',
    paramNameClose: '" string="true">',
    jsonParamNameClose: '" string="false">',
    paramClose: "</param>\n",
    callClose: "</invoke>\n",
    separator: "",
    maxCalls: Infinity,
    markerTokens: [],
    alternativeTriggers: [],
  };

  test("strings are written with the string marker, other values as JSON with the other; the parser reads the marker", async () => {
    const grammar = await grammarFor(marked, { kind: "function", name: "get_weather" });
    const text = '<calls>\n<invoke name="get_weather">\n<param name="city" string="true">Oslo</param>\n<param name="days" string="false">3</param>\n</invoke>\n</calls>';
    assert.equal(accepts(grammar, text), true);
    assert.equal(accepts(grammar, text.replace('"days" string="false"', '"days" string="true"')), false);
    assert.equal(accepts(grammar, text.replace('"city" string="true"', '"city" string="false"')), false);
    const parser = createToolCallParser(marked);
    const parts = [...parser.push(text.replace(">Oslo<", ">12<")), ...parser.finish()];
    assert.equal(parts.flatMap((p) => (p.kind === "arguments" ? [p.text] : [])).join(""), '{"city": "12", "days": 3}');
  });
});
