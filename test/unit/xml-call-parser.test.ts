/**
 * The per-parameter ("xml-params") tool-call parser: each hand-written family's layout, values
 * converted to JSON by the tool's schema (parameter-types.ts), lenient whitespace, malformed and
 * truncated sections, family detection, and fast-check properties (any split gives the same
 * parts; arguments are always a valid JSON object; well-formed messages read back as their calls).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { detectToolFamily } from "../../src/chat/tools/detect.ts";
import { glm45Family } from "../../src/chat/tools/families/glm-4-5.ts";
import { glm47Family } from "../../src/chat/tools/families/glm-4-7.ts";
import { minimaxM2Family } from "../../src/chat/tools/families/minimax-m2.ts";
import { qwen3CoderFamily } from "../../src/chat/tools/families/qwen3-coder.ts";
import { seedOssFamily } from "../../src/chat/tools/families/seed-oss.ts";
import type { ToolFamilyDefinition } from "../../src/chat/tools/family.ts";
import { parameterKind, parameterTypesOf, type ParameterTypes } from "../../src/chat/tools/parameter-types.ts";
import type { XmlParamsSyntax } from "../../src/chat/tools/syntax.ts";
import type { ParsedPart } from "../../src/chat/tools/tool-call-parser.ts";
import { ToolCallStream } from "../../src/chat/tools/tool-call-stream.ts";
import { closingTag } from "../../src/chat/tools/xml-value.ts";
import type { ToolDefinition } from "../../src/domain/tools.ts";
import { assertCutInvariant, assertSplitInvariant, call, collectParts, cut, merge, parse, partsOf } from "../support/parsed-parts.ts";

function xml(family: ToolFamilyDefinition): XmlParamsSyntax {
  if (family.syntax.shape !== "xml-params") throw new Error(`${family.syntax.family} is not xml-params`);
  return family.syntax;
}

const qwen = xml(qwen3CoderFamily);
const seed = xml(seedOssFamily);
const glm45 = xml(glm45Family);
const glm47 = xml(glm47Family);
const minimax = xml(minimaxM2Family);
const FAMILIES: readonly XmlParamsSyntax[] = [qwen, seed, glm45, glm47, minimax];

const TOOLS: ToolDefinition[] = [
  {
    name: "get_weather",
    description: undefined,
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        days: { type: "integer" },
        unit: { enum: ["c", "f"] },
        options: { type: "object", properties: { hourly: { type: "boolean" } } },
        code: { $ref: "#/$defs/code" },
      },
      $defs: { code: { type: "string", pattern: "^[A-Z]{3}$" } },
      required: ["city"],
    },
    strict: false,
  },
  { name: "now", description: undefined, parameters: { type: "object", properties: {} }, strict: false },
];
const parameterTypes = parameterTypesOf(TOOLS);
const typed = { parameterTypes };

/** Qwen3-Coder's layout for one call. */
function qwenCall(name: string, params: readonly (readonly [string, string])[]): string {
  return `<tool_call>\n<function=${name}>\n${params.map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join("")}</function>\n</tool_call>`;
}

describe("XmlCallParser: qwen3-coder", () => {
  test("calls with typed values, text before kept, one block per call", () => {
    const text = `Let me check.\n${qwenCall("get_weather", [
      ["city", "Oslo"],
      ["days", "3"],
      ["options", '{"hourly": true}'],
    ])}\n${qwenCall("now", [])}`;
    const parts = assertSplitInvariant(qwen, text, typed);
    assert.deepEqual(collectParts(parts), {
      content: "Let me check.\n",
      calls: [call("get_weather", '{"city": "Oslo", "days": 3, "options": {"hourly": true}}'), call("now", "{}")],
    });
    assert.deepEqual(
      parts.filter((p) => p.kind === "call").map((p) => p.index),
      [0, 1],
    );
  });

  test("a string value is the raw text, escaped, over several lines, markup-looking text included", () => {
    const value = 'line "one"\n  <b>two</b> \\ </parameter\n🙂';
    const text = qwenCall("get_weather", [["city", value]]);
    assertSplitInvariant(qwen, text, typed);
    assert.deepEqual(parse(qwen, text, typed).calls, [call("get_weather", `{"city": ${JSON.stringify(value)}}`)]);
    assert.deepEqual(JSON.parse(parse(qwen, qwenCall("get_weather", [["city", "\nindented\n"]]), typed).calls[0]!.arguments), { city: "\nindented\n" }, "only the markup's own newlines are dropped");
  });

  test("the newlines around a value may be left out", () => {
    const text = "<tool_call><function=get_weather><parameter=city>Oslo</parameter><parameter=days>3</parameter></function></tool_call>";
    assertSplitInvariant(qwen, text, typed);
    assert.deepEqual(parse(qwen, text, typed).calls, [call("get_weather", '{"city": "Oslo", "days": 3}')]);
  });

  test("a missing </tool_call> is tolerated; text after the section is content", () => {
    assert.deepEqual(parse(qwen, "<tool_call>\n<function=now>\n</function>\nDone.", typed), { content: "Done.", calls: [call("now", "{}")] });
  });
});

describe("XmlCallParser: values typed by the schema", () => {
  const value = (param: string, raw: string): unknown => JSON.parse(parse(qwen, qwenCall("get_weather", [[param, raw]]), typed).calls[0]!.arguments)[param];

  test("string parameters keep their text, even when it looks like JSON", () => {
    assert.equal(value("city", "3"), "3");
    assert.equal(value("city", "null"), "null");
    assert.equal(value("city", '{"a": 1}'), '{"a": 1}');
    assert.equal(value("unit", "c"), "c", "an enum of strings is a string");
    assert.equal(value("code", "OSL"), "OSL", "a $ref to a string schema is a string");
  });

  test("other types are JSON; text that is not JSON stays, as a string", () => {
    assert.equal(value("days", "3"), 3);
    assert.equal(value("days", " 14 "), 14);
    assert.deepEqual(value("options", '{\n  "hourly": false\n}'), { hourly: false });
    assert.equal(value("days", "three"), "three", "never dropped");
    assert.equal(value("options", "True"), true, "Python's spelling, as `| string` renders it");
    assert.equal(value("days", "None"), null);
  });

  test("parameters the schema does not type: JSON when it parses, else a string", () => {
    assert.deepEqual(value("extra", "[1, 2]"), [1, 2]);
    assert.equal(value("extra", "Oslo"), "Oslo");
    assert.equal(value("extra", "True"), "True", "Python's spelling only where the schema asks for JSON");
    // Without parameter types at all, the same rule for every parameter.
    assert.equal(JSON.parse(parse(qwen, qwenCall("get_weather", [["city", "3"]])).calls[0]!.arguments).city, 3);
  });

  test("parameterKind", () => {
    const root = { $defs: { s: { type: "string" }, n: { type: "number" } } };
    assert.equal(parameterKind({ type: "string", maxLength: 3 }, root), "string");
    assert.equal(parameterKind({ const: "x" }, root), "string");
    assert.equal(parameterKind({ $ref: "#/$defs/s" }, root), "string");
    assert.equal(parameterKind({ $ref: "#/$defs/n" }, root), "json");
    for (const schema of [{ type: "integer" }, { type: ["number", "null"] }, { enum: [1, 2] }, { type: "array" }, { type: "boolean" }]) assert.equal(parameterKind(schema, root), "json");
    for (const schema of [{}, true, { type: ["string", "null"] }, { type: "string", nullable: true }, { anyOf: [{ type: "string" }] }, { enum: ["a", 1] }, { $ref: "#/nowhere" }]) {
      assert.equal(parameterKind(schema, root), undefined, JSON.stringify(schema));
    }
  });
});

describe("XmlCallParser: the other families", () => {
  test("seed-oss: values right inside their element", () => {
    const text =
      "ok<seed:tool_call>\n<function=get_weather>\n<parameter=city>Oslo\nnorth</parameter>\n<parameter=days>2</parameter>\n</function>\n</seed:tool_call>\n<seed:tool_call>\n<function=now>\n</function>\n</seed:tool_call>";
    const parts = assertSplitInvariant(seed, text, typed);
    assert.deepEqual(collectParts(parts), { content: "ok", calls: [call("get_weather", '{"city": "Oslo\\nnorth", "days": 2}'), call("now", "{}")] });
  });

  test("glm-4.5 and glm-4.7: both read either layout", () => {
    const spaced = "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>\n<tool_call>now\n</tool_call>";
    const tight = "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value><arg_key>days</arg_key><arg_value>3</arg_value></tool_call><tool_call>now</tool_call>";
    const mixed = "<tool_call>get_weather<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value><arg_key>days</arg_key> <arg_value>3</arg_value>\n</tool_call>\n<tool_call>now</tool_call>";
    for (const family of [glm45, glm47]) {
      for (const text of [spaced, tight, mixed]) {
        const parts = assertSplitInvariant(family, text, typed);
        assert.deepEqual(collectParts(parts), { content: "", calls: [call("get_weather", '{"city": "Oslo", "days": 3}'), call("now", "{}")] }, `${family.family}: ${text}`);
      }
    }
  });

  test("minimax-m2: several invokes in one section", () => {
    const text =
      'Sure.\n<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Oslo</parameter>\n<parameter name="unit">c</parameter>\n</invoke>\n<invoke name="now">\n</invoke>\n</minimax:tool_call>\nThanks';
    const parts = assertSplitInvariant(minimax, text, typed);
    assert.deepEqual(collectParts(parts), { content: "Sure.\nThanks", calls: [call("get_weather", '{"city": "Oslo", "unit": "c"}'), call("now", "{}")] });
  });
});

describe("XmlCallParser: malformed and truncated", () => {
  test("markup that breaks before a call is content", () => {
    for (const text of ["<tool_call>\nhello", "<tool_call>\n<function=get weather>\n</function>", "<tool_call>\n<function=f> text", "<tool_call>\n<function=>", "a <tool_call> b"]) {
      assertSplitInvariant(qwen, text, typed);
      assert.deepEqual(parse(qwen, text, typed), { content: text, calls: [] }, text);
    }
    assert.deepEqual(parse(glm47, "<tool_call>hello world", typed), { content: "<tool_call>hello world", calls: [] });
  });

  test("markup that breaks inside a call ends it, its arguments closed", () => {
    const text = "<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n<parameter=a b>\n</function>";
    assertSplitInvariant(qwen, text, typed);
    assert.deepEqual(parse(qwen, text, typed), { content: "<parameter=a b>\n</function>", calls: [call("get_weather", '{"city": "Oslo"}')] });
    assert.deepEqual(parse(qwen, `${qwenCall("now", [])}\n<tool_call>\noops`, typed), { content: "<tool_call>\noops", calls: [call("now", "{}")] });
  });

  test("finish: a call cut off keeps what was read, as a valid JSON object", () => {
    const cases: [string, string][] = [
      ["<tool_call>\n<function=get_weather>\n<parameter=city>\nOs", '{"city": "Os"}'],
      ["<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</para", '{"city": "Oslo"}'],
      ["<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n<parameter=days>\n1", '{"city": "Oslo", "days": 1}'],
      ["<tool_call>\n<function=get_weather>\n<parameter=days>\n", '{"days": ""}'],
      ["<tool_call>\n<function=get_weather>\n<parameter=ci", "{}"],
      ["<tool_call>\n<function=get_weather>\n", "{}"],
      ["<tool_call>\n<function=get_weather>\n<parameter=city>\n🙂", '{"city": "🙂"}'],
    ];
    for (const [text, args] of cases) {
      assertSplitInvariant(qwen, text, typed);
      assert.deepEqual(parse(qwen, text, typed), { content: "", calls: [call("get_weather", args)] }, text);
    }
    assert.deepEqual(parse(qwen, "Hi <tool_call>\n<function=get_wea", typed), { content: "Hi ", calls: [] }, "a name cut off is dropped markup");
    assert.deepEqual(parse(qwen, "Hi <tool_ca", typed), { content: "Hi <tool_ca", calls: [] });
  });

  test("anchored: only a section at the start counts", () => {
    const text = `Hi ${qwenCall("now", [])}`;
    assert.deepEqual(parse(qwen, text, { anchored: true }), { content: text, calls: [] });
    assert.deepEqual(parse(qwen, ` \n${qwenCall("now", [])}\n${qwenCall("now", [])}`, { anchored: true }), { content: "", calls: [call("now", "{}"), call("now", "{}")] });
  });
});

describe("family detection", () => {
  test("per-parameter templates get their family, not Hermes", () => {
    const family = (source: string): string => detectToolFamily(source).syntax.family;
    assert.equal(family("<tool_call>\n<function={{ n }}>\n<parameter={{ k }}>\n{{ v }}\n</parameter>\n</function>\n</tool_call>"), "qwen3-coder");
    assert.equal(family("{{ '<seed:tool_call>\\n<function=' + n + '>' }}<parameter={{ k }}>"), "seed-oss");
    assert.equal(family("<tool_call>{{ n }}\n<arg_key>{{ k }}</arg_key>\n<arg_value>{{ v }}</arg_value>\n</tool_call>"), "glm-4.5");
    assert.equal(family("<tool_call>{{ n }}{% for k, v in a.items() %}<arg_key>{{ k }}</arg_key><arg_value>{{ v }}</arg_value>{% endfor %}</tool_call>"), "glm-4.7");
    assert.equal(family('<minimax:tool_call>\n<invoke name="{{ n }}">'), "minimax-m2");
    assert.equal(family("<tool_call>\n{{ call | tojson }}\n</tool_call>"), "hermes");
    assert.equal(family("<function={{ n }}>{{ a }}</function>"), "functionary-v3.1");
  });
});

describe("ToolCallStream with an xml-params family", () => {
  test("the parameter types reach the parser; arguments stream as JSON", () => {
    const stream = new ToolCallStream({ syntax: qwen, choice: 0, parameterTypes });
    const text = `Hi\n${qwenCall("get_weather", [
      ["city", "42"],
      ["days", "2"],
    ])}`;
    const events = [...[...text].flatMap((c) => stream.push(c, []).events), ...stream.finish()];
    assert.equal(events.filter((e) => e.type === "tool_call").length, 1);
    assert.equal(events.map((e) => (e.type === "tool_arguments" ? e.text : "")).join(""), '{"city": "42", "days": 2}');
    const streamed = events.filter((e) => e.type === "tool_arguments").length;
    assert.ok(streamed > 5, `the string value streams (${streamed} argument events)`);
    assert.equal(events.map((e) => (e.type === "delta" ? e.text : "")).join(""), "Hi\n");
    assert.equal(stream.finishReason("stop"), "tool_calls");
  });
});

// ---- Properties ----

/** Keys say how the property test types them: `s_` string, `j_` JSON, `u_` untyped. */
const keyTypes: ParameterTypes = (_tool, param) => (param.startsWith("s_") ? "string" : param.startsWith("j_") ? "json" : undefined);

interface GenParam {
  readonly key: string;
  readonly raw: string;
  readonly json: string;
}

const VALUE_PIECES = ["a", "B", " ", "\n", "<", ">", "/", "=", '"', "\\", "{", "}", "param", "eter", "arg_", "value", "</", "invoke", "tool_call", "é", "🙂", "\t"];
const rawText = fc.array(fc.constantFrom(...VALUE_PIECES), { maxLength: 10 }).map((a) => a.join(""));
const word = fc.stringMatching(/^[a-zA-Z][a-zA-Z ]{0,8}[a-zA-Z]$/).filter((w) => !["true", "false", "null"].includes(w));
const jsonText = fc
  .tuple(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(0, 0, 2))
  .map(([v, indent]) => JSON.stringify(v, null, indent))
  .filter((t) => t !== undefined);
const genKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);

const genParam: fc.Arbitrary<GenParam> = fc.oneof(
  fc.record({ k: genKey, raw: rawText }).map(({ k, raw }) => ({ key: `s_${k}`, raw, json: JSON.stringify(raw) })),
  fc.record({ k: genKey, raw: jsonText }).map(({ k, raw }) => ({ key: `j_${k}`, raw, json: raw })),
  fc
    .record({ k: genKey, raw: fc.oneof(jsonText, word) })
    .map(({ k, raw }) => ({ key: `u_${k}`, raw, json: /^[a-zA-Z ]+$/.test(raw) && !["true", "false", "null"].includes(raw) ? JSON.stringify(raw) : raw })),
);

interface GenCall {
  readonly name: string;
  readonly params: readonly GenParam[];
}

const genCall: fc.Arbitrary<GenCall> = fc.record({
  name: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_-]{0,14}$/),
  params: fc.uniqueArray(genParam, { maxLength: 3, selector: (p) => p.key }),
});

/** A section in the family's layout; `ws` adds optional whitespace before markup pieces. */
function renderSection(s: XmlParamsSyntax, calls: readonly GenCall[], ws: () => string): string {
  const rendered = calls.map((c) => {
    const params = c.params.map((p) => `${ws()}${s.paramOpen}${p.key}${ws()}${s.paramNameClose}${p.raw}${s.paramClose}`).join("");
    return `${s.callOpen}${ws()}${c.name}${s.nameClose}${params}${ws()}${s.callClose}`;
  });
  return s.sectionOpen + rendered.join(ws() + s.separator) + ws() + s.sectionClose;
}

const PIECES = ["a", "b", " ", "\n", "<", ">", "=", '"', "/", "tool", "_call", "function", "parameter", "arg_key", "minimax:", "seed:", "invoke", "é", "🙂"];
const CONTENT = fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((a) => a.join(""));

interface Sample {
  readonly family: XmlParamsSyntax;
  readonly text: string;
  readonly expected: ParsedPart[];
}

const wellFormed: fc.Arbitrary<Sample> = fc
  .record({
    family: fc.constantFrom(...FAMILIES),
    before: CONTENT,
    calls: fc.array(genCall, { minLength: 1, maxLength: 3 }),
    after: fc.oneof(
      fc.constant(""),
      CONTENT.map((s) => ` x${s}`),
    ),
    wsSeed: fc.array(fc.nat(4), { minLength: 1, maxLength: 20 }),
  })
  .map(({ family, before, calls, after, wsSeed }): Sample | undefined => {
    const close = closingTag(family.paramClose);
    if (calls.some((c) => c.params.some((p) => p.raw.includes(close)))) return undefined;
    let n = 0;
    const ws = (): string => ["", " ", "\n", "", "  \n"][wsSeed[n++ % wsSeed.length] ?? 0] ?? "";
    const section = renderSection(family, calls, ws);
    if (family.triggers.some((t) => (before + section.slice(0, t.length - 1)).includes(t) || after.includes(t))) return undefined;
    const expected: ParsedPart[] = [];
    if (before.trim() !== "") expected.push({ kind: "content", text: before });
    calls.forEach((c, index) => {
      expected.push({ kind: "call", index, name: c.name }, { kind: "arguments", index, text: `{${c.params.map((p) => `${JSON.stringify(p.key)}: ${p.json}`).join(", ")}}` });
    });
    if (after !== "") expected.push({ kind: "content", text: after.trimStart() });
    return { family, text: before + section + after, expected };
  })
  .filter((sample): sample is Sample => sample !== undefined);

const FRAGMENTS = [
  ...new Set(FAMILIES.flatMap((s) => [s.sectionOpen, s.sectionClose, s.callOpen, s.callClose, s.nameClose, s.paramOpen, s.paramNameClose, s.paramClose]).filter((m) => m !== "")),
  "f",
  "s_a",
  "j_b",
  "u_c",
  "get_weather",
  '{"a": 1}',
  "3",
  "True",
  '"',
  "\\",
  " ",
  "\n",
  "<",
  "x",
  "🙂",
];
const noise = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((a) => a.join(""));
const edit = fc.record({ at: fc.nat(), remove: fc.nat(4), insert: fc.oneof(fc.constant(""), fc.constantFrom(...FRAGMENTS)) });
const mutated = fc.tuple(wellFormed, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.option(fc.nat())).map(([sample, edits, end]) => {
  let text = sample.text;
  for (const { at, remove, insert } of edits) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + insert + text.slice(i + remove);
  }
  return { family: sample.family, text: end === null ? text : text.slice(0, end % (text.length + 1)) };
});

describe("XmlCallParser: properties", () => {
  test("well-formed messages parse to their content and calls, however they are cut", () => {
    fc.assert(
      fc.property(wellFormed, fc.array(fc.nat(), { maxLength: 8 }), ({ family, text, expected }, points) => {
        const options = { parameterTypes: keyTypes };
        assert.deepEqual(merge(partsOf(family, [text], options)), expected, JSON.stringify(text));
        assert.deepEqual(merge(partsOf(family, cut(text, points), options)), expected, JSON.stringify(text));
        assert.deepEqual(merge(partsOf(family, [...text], options)), expected, JSON.stringify(text));
      }),
      { numRuns: 500 },
    );
  });

  test("broken and truncated messages give the same parts however they are cut, arguments always a JSON object", () => {
    fc.assert(
      fc.property(mutated, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), ({ family, text }, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored, parameterTypes: keyTypes }, { objectArguments: true });
      }),
      { numRuns: 600 },
    );
  });

  test("any text, however cut, gives the same parts (markup fragments fuzzed)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAMILIES), noise, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (family, text, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored, parameterTypes: keyTypes }, { objectArguments: true });
      }),
      { numRuns: 600 },
    );
  });

  test("text without a trigger is all content, unchanged", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAMILIES), noise, fc.array(fc.nat(), { maxLength: 10 }), (family, text, points) => {
        fc.pre(family.triggers.every((t) => !text.includes(t)));
        assert.deepEqual(collectParts(partsOf(family, cut(text, points))), { content: text, calls: [] });
      }),
      { numRuns: 300 },
    );
  });
});

describe("XmlCallParser: efficiency", () => {
  test("long content full of marker prefixes and long values stay linear", () => {
    const content = "a <tool <tool_ca <function ".repeat(20_000);
    const value = 'x </param <b> \\ "q" \n'.repeat(20_000);
    const json = JSON.stringify(Array.from({ length: 5_000 }, (_, i) => ({ i })));
    const started = performance.now();
    const text = `${content}${qwenCall("get_weather", [
      ["city", value],
      ["options", json],
    ])}`;
    const chunks = cut(
      text,
      Array.from({ length: Math.ceil(text.length / 3) }, (_, i) => i * 3),
    );
    assert.deepEqual(collectParts(partsOf(qwen, chunks, typed)), { content, calls: [call("get_weather", `{"city": ${JSON.stringify(value)}, "options": ${json}}`)] });
    assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
