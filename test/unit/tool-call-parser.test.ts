import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { genericFamily } from "../../src/chat/tools/families/generic.ts";
import { hermesFamily } from "../../src/chat/tools/families/hermes.ts";
import { llama3Family } from "../../src/chat/tools/families/llama3.ts";
import { mistralFamily } from "../../src/chat/tools/families/mistral.ts";
import { graniteFamily } from "../../src/chat/tools/families/granite.ts";
import { commandR7bFamily } from "../../src/chat/tools/families/command-r7b.ts";
import { markerPieces } from "../../src/chat/tools/markup-matcher.ts";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import { ToolCallParser, type ParsedPart } from "../../src/chat/tools/tool-call-parser.ts";
import { assertCutInvariant, assertSplitInvariant, call, collectParts, cut, merge, parse, partsOf, type ParsedMessage } from "../support/parsed-parts.ts";

const hermes = hermesFamily.syntax;
const llama3 = llama3Family.syntax;
const mistral = mistralFamily.syntax;
const generic = genericFamily.syntax;
const granite = graniteFamily.syntax;
const commandR7b = commandR7bFamily.syntax;
const FAMILIES: readonly ToolCallSyntax[] = [hermes, llama3, mistral, granite, commandR7b, generic];

describe("ToolCallParser: hermes", () => {
  test("content only, with < and { that are not triggers", () => {
    const text = 'a < b, x<tool y</tool_call> {"name": 1} <tool_cal';
    assertSplitInvariant(hermes, text);
    assert.deepEqual(parse(hermes, text), { content: text, calls: [] });
  });

  test("text before a call, then several calls; markers inside argument strings", () => {
    const text =
      'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris </tool_call> <tool_call>", "q": "a\\"}{"}}\n</tool_call>\n<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>';
    const parts = assertSplitInvariant(hermes, text);
    assert.deepEqual(parts, [
      { kind: "content", text: "Let me check.\n" },
      { kind: "call", index: 0, name: "get_weather" },
      { kind: "arguments", index: 0, text: '{"city": "Paris </tool_call> <tool_call>", "q": "a\\"}{"}' },
      { kind: "call", index: 1, name: "now" },
      { kind: "arguments", index: 1, text: "{}" },
    ]);
  });

  test("keys reversed, extra keys, compact whitespace, double-encoded and scalar arguments", () => {
    const text =
      '<tool_call>{"arguments":{"a":[1,{"b":null}]},"id":"x","name":"f"}</tool_call><tool_call>{"name":"g","arguments":"{\\"q\\": \\"}\\"}"}</tool_call>  <tool_call> { "name" : "h" , "arguments" : 42 } </tool_call>';
    assertSplitInvariant(hermes, text);
    assert.deepEqual(parse(hermes, text), { content: "", calls: [call("f", '{"a":[1,{"b":null}]}'), call("g", '{"q": "}"}'), call("h", "42")] });
  });

  test("missing arguments mean {}; leading whitespace before a call is dropped; text after the calls is content", () => {
    const text = '\n\n<tool_call>\n{"name": "now"}\n</tool_call>\n\nDone.';
    assertSplitInvariant(hermes, text);
    assert.deepEqual(parse(hermes, text), { content: "Done.", calls: [call("now", "{}")] });
  });

  test("malformed markup is released as content and scanning goes on", () => {
    const cases: [string, ParsedMessage][] = [
      ["<tool_call>hello</tool_call>", { content: "<tool_call>hello</tool_call>", calls: [] }],
      ['<tool_call>{"foo": 1}</tool_call> ok', { content: '<tool_call>{"foo": 1}</tool_call> ok', calls: [] }],
      ['<tool_call>{"name": ""}', { content: '<tool_call>{"name": ""}', calls: [] }],
      ['<tool_call>{"name": 3}', { content: '<tool_call>{"name": 3}', calls: [] }],
      ['<tool_call>x <tool_call>{"name": "f"}</tool_call>', { content: "<tool_call>x ", calls: [call("f", "{}")] }],
      ['<tool_call><tool_call>{"name": "f"}', { content: "<tool_call>", calls: [call("f", "{}")] }],
      ['<tool_call>{"name": "f"}</tool_call>\n<tool_call>{"a": 1}', { content: '<tool_call>{"a": 1}', calls: [call("f", "{}")] }],
      ['<tool_call>{"name": "f"}<tool_call>{"name": "g"}', { content: "", calls: [call("f", "{}"), call("g", "{}")] }],
      ['<tool_call>{"name": "f", "arguments": {"a": 1} oops', { content: "oops", calls: [call("f", '{"a": 1}')] }],
    ];
    for (const [text, expected] of cases) {
      assertSplitInvariant(hermes, text);
      assert.deepEqual(parse(hermes, text), expected, JSON.stringify(text));
    }
  });

  test("finish: a trigger prefix is content, held markup is dropped, a started call stays", () => {
    assert.deepEqual(parse(hermes, "a <too"), { content: "a <too", calls: [] });
    assert.deepEqual(parse(hermes, "a <tool_call>"), { content: "a ", calls: [] });
    assert.deepEqual(parse(hermes, 'a <tool_call>{"na'), { content: "a ", calls: [] });
    assert.deepEqual(parse(hermes, '<tool_call>{"name": "f", "ar'), { content: "", calls: [call("f", "{}")] });
    assert.deepEqual(parse(hermes, '<tool_call>{"name": "f", "arguments": {"a": "x\\'), { content: "", calls: [call("f", '{"a": "x\\')] });
    assert.deepEqual(parse(hermes, '<tool_call>{"name": "f", "arguments": "{\\"a\\": \\u00e9\\u00'), { content: "", calls: [call("f", '{"a": é')] });
    assert.deepEqual(parse(hermes, '<tool_call>{"name": "f", "arguments": {}}\n</tool_'), { content: "", calls: [call("f", "{}")] });
  });

  test("anchored: only a section at the start counts", () => {
    const text = '<tool_call>{"name": "f"}</tool_call> then <tool_call>{"name": "g"}</tool_call>';
    assertSplitInvariant(hermes, text, { anchored: true });
    assert.deepEqual(parse(hermes, text, { anchored: true }), { content: 'then <tool_call>{"name": "g"}</tool_call>', calls: [call("f", "{}")] });
    assert.deepEqual(parse(hermes, text), { content: "then ", calls: [call("f", "{}"), call("g", "{}")] });
    assert.deepEqual(parse(hermes, ' \n<tool_call>{"name": "f"}', { anchored: true }), { content: "", calls: [call("f", "{}")] });
    assert.deepEqual(parse(hermes, 'Hi <tool_call>{"name": "f"}', { anchored: true }), { content: 'Hi <tool_call>{"name": "f"}', calls: [] });
    assert.deepEqual(parse(hermes, '<<tool_call>{"name": "f"}', { anchored: true }), { content: '<<tool_call>{"name": "f"}', calls: [] });
  });

  test("streams a call's arguments as they arrive", () => {
    const parser = new ToolCallParser(hermes);
    assert.deepEqual(parser.push("Hi <tool"), [{ kind: "content", text: "Hi " }]);
    assert.deepEqual(parser.push('_call>\n{"name": "f", "argu'), []);
    assert.deepEqual(parser.push('ments": {"a": "</tool_'), [
      { kind: "call", index: 0, name: "f" },
      { kind: "arguments", index: 0, text: '{"a": "</tool_' },
    ]);
    assert.deepEqual(parser.push('call>"}}\n</tool_call>'), [{ kind: "arguments", index: 0, text: 'call>"}' }]);
    assert.deepEqual(parser.finish(), []);
  });
});

describe("ToolCallParser: llama3", () => {
  test("Llama 3.2's variant with a leading type key", () => {
    const text = '{"type": "function", "name": "get_weather", "parameters": {"city": "Oslo"}}';
    assert.deepEqual(collectParts(assertSplitInvariant(llama3, text)), { content: "", calls: [call("get_weather", '{"city": "Oslo"}')] });
    assert.deepEqual(parse(llama3, 'A schema: {"type": "object"}'), { content: 'A schema: {"type": "object"}', calls: [] });
  });

  test('a call, with or without <|python_tag|>, "parameters" or "arguments"', () => {
    for (const text of [
      '{"name": "f", "parameters": {"x": "{\\"name\\""}}',
      '<|python_tag|>{"name": "f", "parameters": {"x": "{\\"name\\""}}',
      ' <|python_tag|> {"parameters": {"x": "{\\"name\\""}, "name": "f"}',
    ]) {
      assertSplitInvariant(llama3, text);
      assert.deepEqual(parse(llama3, text), { content: "", calls: [call("f", '{"x": "{\\"name\\""}')] });
    }
    assert.deepEqual(parse(llama3, '{"name": "f", "arguments": [1, 2]}'), { content: "", calls: [call("f", "[1, 2]")] });
  });

  test("content with braces; text before a call; python_tag followed by code is content", () => {
    assert.deepEqual(parse(llama3, 'Use {x} and {"a": 1}, ok'), { content: 'Use {x} and {"a": 1}, ok', calls: [] });
    assert.deepEqual(parse(llama3, 'Sure: {"name": "f", "parameters": {}}'), { content: "Sure: ", calls: [call("f", "{}")] });
    assert.deepEqual(parse(llama3, 'Sure: {"name": "f", "parameters": {}}', { anchored: true }), { content: 'Sure: {"name": "f", "parameters": {}}', calls: [] });
    assert.deepEqual(parse(llama3, '<|python_tag|>print("hi")'), { content: '<|python_tag|>print("hi")', calls: [] });
    assert.deepEqual(parse(llama3, '{"name": {"name": "f"}}'), { content: '{"name": }', calls: [call("f", "{}")] });
  });

  test("several juxtaposed calls", () => {
    const text = '{"name": "a", "parameters": {}} {"name": "b", "parameters": {"c": true}}';
    assertSplitInvariant(llama3, text);
    assert.deepEqual(parse(llama3, text), { content: "", calls: [call("a", "{}"), call("b", '{"c": true}')] });
  });
});

describe("ToolCallParser: mistral", () => {
  test("an array of several calls, then text", () => {
    const text = 'Ok. [TOOL_CALLS] [{"name": "a", "arguments": {"q": "]}, [TOOL_CALLS]"}},{"arguments": {}, "name": "b"} , {"name": "c", "arguments": [[]]}]\nDone';
    const parts = assertSplitInvariant(mistral, text);
    assert.deepEqual(collectParts(parts), { content: "Ok. Done", calls: [call("a", '{"q": "]}, [TOOL_CALLS]"}'), call("b", "{}"), call("c", "[[]]")] });
    assert.deepEqual(
      parts.filter((p) => p.kind === "call").map((p) => p.index),
      [0, 1, 2],
    );
  });

  test("content only, with brackets", () => {
    const text = "Arrays [1, 2] and [TOOL_CALL] or [TOOL_CALLS";
    assertSplitInvariant(mistral, text);
    assert.deepEqual(parse(mistral, text), { content: text, calls: [] });
  });

  test("malformed or truncated sections", () => {
    assert.deepEqual(parse(mistral, "[TOOL_CALLS] nothing"), { content: "[TOOL_CALLS] nothing", calls: [] });
    assert.deepEqual(parse(mistral, "[TOOL_CALLS][1, 2]"), { content: "[TOOL_CALLS][1, 2]", calls: [] });
    assert.deepEqual(parse(mistral, '[TOOL_CALLS][{"name": "a", "arguments": {"x": 1'), { content: "", calls: [call("a", '{"x": 1')] });
    assert.deepEqual(parse(mistral, '[TOOL_CALLS][{"name": "a"}, {"na'), { content: "", calls: [call("a", "{}")] });
    assert.deepEqual(parse(mistral, '[TOOL_CALLS][{"name": "a"}, x'), { content: ", x", calls: [call("a", "{}")] });
  });
});

describe("ToolCallParser: granite", () => {
  test("a list of calls after <|tool_call|>, text before kept", () => {
    const text = 'Checking. <|tool_call|>[{"name": "a", "arguments": {"q": "]"}}, {"arguments": {}, "name": "b"}]';
    const parts = assertSplitInvariant(granite, text);
    assert.deepEqual(collectParts(parts), { content: "Checking. ", calls: [call("a", '{"q": "]"}'), call("b", "{}")] });
  });
});

describe("ToolCallParser: command-r7b", () => {
  test("numbered calls with tool_name and parameters, laid out as its template writes them", () => {
    const text = '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "a", "parameters": {"x": 1}},\n    {"tool_call_id": "1", "tool_name": "b", "parameters": {}}\n]<|END_ACTION|>';
    const parts = assertSplitInvariant(commandR7b, text);
    assert.deepEqual(collectParts(parts), { content: "", calls: [call("a", '{"x": 1}'), call("b", "{}")] });
  });
});

describe("ToolCallParser: generic", () => {
  test("the envelope with several calls, whitespace variations", () => {
    const text = 'Let me see. {"tool_calls": [{"name": "a", "arguments": {"k": "{\\"tool_calls\\""}}, {"name": "b"}]}';
    assertSplitInvariant(generic, text);
    assert.deepEqual(parse(generic, text), { content: "Let me see. ", calls: [call("a", '{"k": "{\\"tool_calls\\""}'), call("b", "{}")] });
    const loose = '{"tool_calls" :\n[\n  {\n    "arguments": {"x": 1},\n    "name": "a"\n  }\n]\n}';
    assertSplitInvariant(generic, loose);
    assert.deepEqual(parse(generic, loose), { content: "", calls: [call("a", '{"x": 1}')] });
  });

  test("JSON that is not the envelope stays content; a truncated envelope keeps its started call", () => {
    assert.deepEqual(parse(generic, '{"tool_calls": [{"name": "a", "arguments": {"x": [1, 2'), { content: "", calls: [call("a", '{"x": [1, 2')] });
    assert.deepEqual(parse(generic, 'Sure. {"tool_calls": [{"arg'), { content: "Sure. ", calls: [] });
    for (const text of ['{"tool_calls": "none"}', 'Braces {} and {"tool_call": 1}', '{"tool_calls": []}', '{"answer": {"name": "x"}}']) {
      assertSplitInvariant(generic, text);
      assert.deepEqual(parse(generic, text), { content: text, calls: [] });
    }
  });
});

// ---- Properties ----

interface GenCall {
  readonly name: string;
  readonly value: unknown;
  readonly indent: number;
  readonly argsFirst: boolean;
  readonly key: "arguments" | "parameters" | undefined;
  readonly extra: boolean;
}

const genCall: fc.Arbitrary<GenCall> = fc.record({
  name: fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/), fc.string({ minLength: 1, maxLength: 6, unit: "binary" })),
  value: fc.oneof(
    { weight: 3, arbitrary: fc.object() },
    fc.jsonValue(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
  ),
  indent: fc.constantFrom(0, 0, 2),
  argsFirst: fc.boolean(),
  key: fc.constantFrom("arguments" as const, "parameters" as const, undefined),
  extra: fc.boolean(),
});

/** The expected arguments text for a generated call: JSON text, decoded for a string, "{}" when absent. */
function expectedArguments(c: GenCall): string {
  if (c.key === undefined) return "{}";
  return typeof c.value === "string" ? c.value : JSON.stringify(c.value, null, c.indent);
}

/** A call object; with `exactStart` it begins exactly with `{"name"` (Llama 3's trigger). */
function renderCall(c: GenCall, ws: () => string, exactStart = false): string {
  const entries = [`"name"${ws()}:${ws()}${JSON.stringify(c.name)}`];
  if (exactStart) return `{${entries[0]}${c.key === undefined ? "" : `,${ws()}"${c.key}":${ws()}${JSON.stringify(c.value, null, c.indent)}`}${ws()}}`;
  if (c.key !== undefined) entries[c.argsFirst ? "unshift" : "push"](`"${c.key}"${ws()}:${ws()}${JSON.stringify(c.value, null, c.indent)}`);
  if (c.extra) entries.push(`"id": ${JSON.stringify(["x", { y: "}" }])}`);
  return `{${ws()}${entries.join(`${ws()},${ws()}`)}${ws()}}`;
}

/** A section in the family's syntax; the opening (which holds the trigger) is written exactly. */
function renderSection(syntax: ToolCallSyntax, calls: readonly GenCall[], ws: () => string, alternative: boolean): string {
  const loose = (marker: string): string => markerPieces(marker).join(ws());
  let text = (alternative ? (syntax.alternativeTriggers[0] ?? "") : "") + (syntax.sectionOpen + syntax.callOpen).trim();
  calls.forEach((c, i) => {
    if (i > 0) text += ws() + loose(syntax.callClose) + ws() + loose(syntax.separator) + ws() + loose(syntax.callOpen);
    const exactStart = i === 0 && !alternative && syntax.triggers.includes('{"name"');
    text += (exactStart ? "" : ws()) + renderCall(c, ws, exactStart);
  });
  return text + ws() + loose(syntax.callClose) + ws() + loose(syntax.sectionClose);
}

const CONTENT = fc.array(fc.constantFrom("a", "b", " ", "\n", "<", "{", "}", "[", "]", '"', ":", ",", "tool", "_call>", "TOOL", "name", "é", "🙂"), { maxLength: 12 }).map((a) => a.join(""));

interface Sample {
  readonly family: ToolCallSyntax;
  readonly text: string;
  /** The merged parts expected. */
  readonly expected: ParsedPart[];
}

/** Well-formed messages: content, a section of 1-3 calls in the family's syntax, maybe more content. */
const wellFormed: fc.Arbitrary<Sample> = fc
  .record({
    family: fc.constantFrom(...FAMILIES),
    before: CONTENT,
    calls: fc.array(genCall, { minLength: 1, maxLength: 3 }),
    after: fc.oneof(
      fc.constant(""),
      CONTENT.map((s) => ` x${s}`),
    ),
    wsSeed: fc.array(fc.nat(5), { minLength: 1, maxLength: 20 }),
    alternative: fc.boolean(),
  })
  .map(({ family, before, calls, after, wsSeed, alternative }): Sample | undefined => {
    let n = 0;
    const ws = (): string => ["", " ", "\n", "\t", "  \n", ""][wsSeed[n++ % wsSeed.length] ?? 0] ?? "";
    const section = renderSection(family, calls, ws, alternative && family.alternativeTriggers.length > 0);
    // The section's opening must be the first trigger in the text, and none may follow it.
    const triggers = [...family.triggers, ...family.alternativeTriggers];
    if (triggers.some((t) => (before + section.slice(0, t.length - 1)).includes(t) || after.includes(t))) return undefined;
    const expected: ParsedPart[] = [];
    if (before.trim() !== "") expected.push({ kind: "content", text: before });
    calls.forEach((c, index) => {
      expected.push({ kind: "call", index, name: c.name });
      const args = expectedArguments(c);
      if (args !== "") expected.push({ kind: "arguments", index, text: args });
    });
    if (after !== "") expected.push({ kind: "content", text: after.trimStart() });
    return { family, text: before + section + after, expected };
  })
  .filter((sample): sample is Sample => sample !== undefined);

const FRAGMENTS = [
  "<",
  "tool_call>",
  "</",
  "<tool_call>",
  "</tool_call>",
  '{"name"',
  "[TOOL_CALLS]",
  "<|python_tag|>",
  '{"tool_calls"',
  '"arguments"',
  '"parameters"',
  '"',
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  " ",
  "\n",
  "\\",
  "a",
  "1",
  "x",
  '"f"',
  "\\u00",
];
const noise = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((a) => a.join(""));
const edit = fc.record({ at: fc.nat(), remove: fc.nat(4), insert: fc.oneof(fc.constant(""), fc.constantFrom(...FRAGMENTS)) });

/** Well-formed messages broken by a few edits and maybe truncated: the malformed paths near real calls. */
const mutated: fc.Arbitrary<Sample> = fc.tuple(wellFormed, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.option(fc.nat())).map(([sample, edits, end]) => {
  let text = sample.text;
  for (const { at, remove, insert } of edits) {
    const i = at % (text.length + 1);
    text = text.slice(0, i) + insert + text.slice(i + remove);
  }
  return { ...sample, text: end === null ? text : text.slice(0, end % (text.length + 1)) };
});

describe("ToolCallParser: properties", () => {
  test("well-formed messages parse to their content and calls, however they are cut", () => {
    fc.assert(
      fc.property(wellFormed, fc.array(fc.nat(), { maxLength: 8 }), ({ family, text, expected }, points) => {
        assert.deepEqual(merge(partsOf(family, [text])), expected, JSON.stringify(text));
        assert.deepEqual(merge(partsOf(family, cut(text, points))), expected, JSON.stringify(text));
        assert.deepEqual(merge(partsOf(family, [...text])), expected, JSON.stringify(text));
        assert.deepEqual(collectParts(partsOf(family, cut(text, points))), collectParts(expected));
      }),
      { numRuns: 400 },
    );
  });

  test("broken and truncated messages give the same parts however they are cut", () => {
    fc.assert(
      fc.property(mutated, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), ({ family, text }, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored });
      }),
      { numRuns: 400 },
    );
  });

  test("any text, however cut, gives the same parts (malformed markup fuzzed)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAMILIES), noise, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (family, text, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored });
      }),
      { numRuns: 600 },
    );
  });

  test("text without any trigger is all content, unchanged", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAMILIES), noise, fc.array(fc.nat(), { maxLength: 10 }), (family, text, points) => {
        fc.pre([...family.triggers, ...family.alternativeTriggers].every((t) => !text.includes(t)));
        assert.deepEqual(collectParts(partsOf(family, cut(text, points))), { content: text, calls: [] });
      }),
      { numRuns: 300 },
    );
  });
});

describe("ToolCallParser: efficiency", () => {
  test("long content full of < and { and long arguments stay linear", () => {
    const content = 'a < b {x} <tool [TOOL {"nam '.repeat(20_000);
    const args = JSON.stringify({ text: 'x < y </tool_call> \\ "q" '.repeat(20_000), list: Array.from({ length: 5_000 }, (_, i) => ({ i })) });
    const text = `${content}<tool_call>{"name": "f", "arguments": ${args}}</tool_call>`;
    const started = performance.now();
    for (const family of [hermes, llama3]) {
      const chunks = cut(
        text,
        Array.from({ length: Math.ceil(text.length / 3) }, (_, i) => i * 3),
      );
      const result = collectParts(partsOf(family, chunks));
      if (family === hermes) assert.deepEqual(result, { content, calls: [call("f", args)] });
    }
    assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
