/**
 * The named-JSON tool-call parser (names outside the JSON arguments): each hand-written family's
 * layout, malformed and truncated sections, and fast-check properties (any split gives the same
 * parts; well-formed messages read back as their calls).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { detectToolFamily } from "../../src/chat/tools/detect.ts";
import { deepseekV3Family } from "../../src/chat/tools/families/deepseek-v3.ts";
import { deepseekV31Family } from "../../src/chat/tools/families/deepseek-v3-1.ts";
import { functionaryV31Family } from "../../src/chat/tools/families/functionary-v3-1.ts";
import { kimiK2Family } from "../../src/chat/tools/families/kimi-k2.ts";
import { mistralV11Family } from "../../src/chat/tools/families/mistral-v11.ts";
import { harmonyFamily } from "../../src/chat/tools/families/harmony.ts";
import type { ToolFamilyDefinition } from "../../src/chat/tools/family.ts";
import type { NamedJsonSyntax } from "../../src/chat/tools/syntax.ts";
import { ToolCallStream } from "../../src/chat/tools/tool-call-stream.ts";
import type { ParsedPart } from "../../src/chat/tools/tool-call-parser.ts";
import { assertCutInvariant, assertSplitInvariant, call, collectParts, cut, merge, parse, partsOf } from "../support/parsed-parts.ts";

function named(family: ToolFamilyDefinition): NamedJsonSyntax {
  if (family.syntax.shape !== "named-json") throw new Error(`${family.syntax.family} is not named-json`);
  return family.syntax;
}

const mistral = named(mistralV11Family);
const v31 = named(deepseekV31Family);
const v3 = named(deepseekV3Family);
const kimi = named(kimiK2Family);
const functionary = named(functionaryV31Family);
const harmony = named(harmonyFamily);
const FAMILIES: readonly NamedJsonSyntax[] = [mistral, v31, v3, kimi, functionary, harmony];

describe("NamedCallParser: mistral-v11", () => {
  test("calls each opened by [TOOL_CALLS], text before kept, text after", () => {
    const text = 'Let me look. [TOOL_CALLS]get_weather[ARGS]{"city": "Oslo [ARGS]}"}[TOOL_CALLS]now[ARGS]{}\nDone.';
    const parts = assertSplitInvariant(mistral, text);
    assert.deepEqual(collectParts(parts), { content: "Let me look. Done.", calls: [call("get_weather", '{"city": "Oslo [ARGS]}"}'), call("now", "{}")] });
    assert.deepEqual(
      parts.filter((p) => p.kind === "call").map((p) => p.index),
      [0, 1],
    );
  });

  test("a [CALL_ID] the model writes is skipped; whitespace around the pieces is tolerated", () => {
    const text = '[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Oslo"}[TOOL_CALLS] now [ARGS] {}';
    assertSplitInvariant(mistral, text);
    assert.deepEqual(parse(mistral, text), { content: "", calls: [call("get_weather", '{"city": "Oslo"}'), call("now", "{}")] });
  });

  test("malformed markup is content; truncation keeps a started call", () => {
    for (const text of ["[TOOL_CALLS] nothing to see", "[TOOL_CALLS]get weather[ARGS]{}", "[TOOL_CALLS]f[ARGS]hello", "[TOOL_CALLS][ARGS]{}", "[TOOL_CALLS]f{}", "[TOOL_CALLS]f[CALL_ID][ARGS]{}"]) {
      assertSplitInvariant(mistral, text);
      assert.deepEqual(parse(mistral, text), { content: text, calls: [] }, text);
    }
    assert.deepEqual(parse(mistral, '[TOOL_CALLS]f[ARGS]{"x": [1, 2'), { content: "", calls: [call("f", '{"x": [1, 2')] });
    assert.deepEqual(parse(mistral, "[TOOL_CALLS]f[ARGS]"), { content: "", calls: [call("f", "{}")] }, "the name is complete");
    assert.deepEqual(parse(mistral, "Hi [TOOL_CALLS]get_wea"), { content: "Hi ", calls: [] }, "a truncated name is dropped markup");
    assert.deepEqual(parse(mistral, "Hi [TOOL_CA"), { content: "Hi [TOOL_CA", calls: [] });
    assert.deepEqual(parse(mistral, '[TOOL_CALLS]f[ARGS]{"x": 1]tail'), { content: "]tail", calls: [call("f", '{"x": 1')] }, "broken JSON ends the call");
    assert.deepEqual(parse(mistral, "[TOOL_CALLS]f[ARGS]{}[TOOL_CALLS]bad name"), { content: "[TOOL_CALLS]bad name", calls: [call("f", "{}")] });
  });

  test("anchored: only a section at the start counts", () => {
    const text = "Hi [TOOL_CALLS]f[ARGS]{}";
    assert.deepEqual(parse(mistral, text, { anchored: true }), { content: text, calls: [] });
    assert.deepEqual(parse(mistral, ` \n[TOOL_CALLS]f[ARGS]{} [TOOL_CALLS]g[ARGS]{}`, { anchored: true }), { content: "", calls: [call("f", "{}"), call("g", "{}")] });
    assert.deepEqual(parse(mistral, "[TOOL_CALLS]f[ARGS]{} x [TOOL_CALLS]g[ARGS]{}", { anchored: true }), { content: "x [TOOL_CALLS]g[ARGS]{}", calls: [call("f", "{}")] });
  });
});

describe("NamedCallParser: deepseek-v3.1", () => {
  test("several calls in one section", () => {
    const text =
      'Checking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Oslo"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>now<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
    const parts = assertSplitInvariant(v31, text);
    assert.deepEqual(collectParts(parts), { content: "Checking.", calls: [call("get_weather", '{"city": "Oslo"}'), call("now", "{}")] });
  });

  test("missing closers are tolerated; bad markup is content", () => {
    assert.deepEqual(parse(v31, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{}"), { content: "", calls: [call("f", "{}")] });
    assert.deepEqual(parse(v31, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{}<｜tool▁call▁end｜>After"), { content: "After", calls: [call("f", "{}")] });
    const bad = "<｜tool▁calls▁begin｜>get_weather<｜tool▁sep｜>{}";
    assertSplitInvariant(v31, bad);
    assert.deepEqual(parse(v31, bad), { content: bad, calls: [] });
  });
});

describe("NamedCallParser: deepseek-v3 (and R1)", () => {
  test("function type, name, fenced arguments, one call per line", () => {
    const text =
      '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "```"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
    const parts = assertSplitInvariant(v3, text);
    assert.deepEqual(collectParts(parts), { content: "", calls: [call("get_weather", '{"city": "```"}'), call("now", "{}")] });
  });

  test("a fence the model leaves out is malformed: content", () => {
    const text = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>now {}";
    assert.deepEqual(parse(v3, text), { content: text, calls: [] });
  });
});

describe("NamedCallParser: kimi-k2", () => {
  test("functions.<name>:<n>: prefix and call number stripped", () => {
    const text =
      'ok<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Oslo"}<|tool_call_end|><|tool_call_begin|>functions.now:12<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>';
    const parts = assertSplitInvariant(kimi, text);
    assert.deepEqual(collectParts(parts), { content: "ok", calls: [call("get_weather", '{"city": "Oslo"}'), call("now", "{}")] });
  });

  test("a name without prefix or number still reads; an empty name is malformed", () => {
    assert.deepEqual(parse(kimi, "<|tool_calls_section_begin|><|tool_call_begin|>now<|tool_call_argument_begin|>{}"), { content: "", calls: [call("now", "{}")] });
    assert.deepEqual(parse(kimi, "<|tool_calls_section_begin|><|tool_call_begin|>functions.a.b:x<|tool_call_argument_begin|>{}"), { content: "", calls: [call("a.b:x", "{}")] });
    const bad = "<|tool_calls_section_begin|><|tool_call_begin|>functions.:0<|tool_call_argument_begin|>{}";
    assert.deepEqual(parse(kimi, bad), { content: bad, calls: [] });
  });
});

describe("NamedCallParser: functionary-v3.1", () => {
  test("<function=name>{…}</function>, back to back, after text", () => {
    const text = 'Sure: <function=get_weather>{"city": "</function>"}</function><function=now>{}</function>';
    const parts = assertSplitInvariant(functionary, text);
    assert.deepEqual(collectParts(parts), { content: "Sure: ", calls: [call("get_weather", '{"city": "</function>"}'), call("now", "{}")] });
  });

  test("HTML-like text is content", () => {
    for (const text of ["<function> is a tag", "a <function=x y>", "<function=f>not json</function>", "<functio"]) {
      assertSplitInvariant(functionary, text);
      assert.deepEqual(parse(functionary, text), { content: text, calls: [] }, text);
    }
  });
});

describe("family detection", () => {
  test("each family's own markers pick it, before the json-object families", () => {
    assert.equal(detectToolFamily("{{ '[TOOL_CALLS]' + name + '[ARGS]' + args }}").syntax.family, "mistral-v11");
    assert.equal(detectToolFamily("{{ '[TOOL_CALLS]' + (calls | tojson) }}").syntax.family, "mistral");
    assert.equal(detectToolFamily("{{ '<｜tool▁call▁begin｜>' + name + '<｜tool▁sep｜>' + args }}").syntax.family, "deepseek-v3.1");
    assert.equal(detectToolFamily("{{ '<｜tool▁call▁begin｜>function<｜tool▁sep｜>' + name + '\\n```json\\n' }}").syntax.family, "deepseek-v3");
    assert.equal(detectToolFamily("<|tool_calls_section_begin|>{{ x }}").syntax.family, "kimi-k2");
    assert.equal(detectToolFamily("<|start_header_id|>{% if tools %}<|python_tag|>{{ '<function=' + n + '>' + a + '</function>' }}{% endif %}").syntax.family, "functionary-v3.1");
    assert.equal(detectToolFamily("<tool_call>\n<function={{ n }}>\n<parameter=x>\n</parameter>\n</function>\n</tool_call>").syntax.family, "qwen3-coder", "Qwen3-Coder style is not Functionary");
  });
});

describe("ToolCallStream with a named-json family", () => {
  test("calls get ids and their arguments stream; the finish reason is tool_calls", () => {
    const stream = new ToolCallStream({ syntax: kimi, choice: 0 });
    const text = 'Hi<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{"a": 1}<|tool_call_end|><|tool_calls_section_end|>';
    const events = [...[...text].flatMap((c) => stream.push(c, []).events), ...stream.finish()];
    const calls = events.filter((e) => e.type === "tool_call");
    assert.equal(calls.length, 1);
    assert.ok(calls[0]?.type === "tool_call" && calls[0].name === "f" && calls[0].id.startsWith("call_"));
    assert.equal(events.map((e) => (e.type === "tool_arguments" ? e.text : "")).join(""), '{"a": 1}');
    assert.equal(events.map((e) => (e.type === "delta" ? e.text : "")).join(""), "Hi");
    assert.equal(stream.finishReason("stop"), "tool_calls");
  });
});

// ---- Properties ----

interface GenCall {
  readonly name: string;
  readonly args: string;
  readonly withId: boolean;
}

const genCall: fc.Arbitrary<GenCall> = fc.record({
  name: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_-]{0,14}$/),
  args: fc.tuple(fc.object(), fc.constantFrom(0, 0, 1, 2)).map(([value, indent]) => JSON.stringify(value, null, indent)),
  withId: fc.boolean(),
});

/** A section in the family's layout, optional whitespace between the pieces. */
function renderSection(s: NamedJsonSyntax, calls: readonly GenCall[], ws: () => string): string {
  let text = s.sectionOpen + s.callOpen;
  calls.forEach((c, i) => {
    if (i > 0) text += ws() + s.callClose + ws() + s.separator + ws() + s.callOpen;
    const name = (s.namePrefix ?? "") + c.name + (s.nameIndexSeparator === undefined ? "" : `${s.nameIndexSeparator}${i}`);
    const id = s.callIdMarker !== undefined && c.withId ? `${ws()}${s.callIdMarker}${ws()}Ab3dE6gH9` : "";
    text += ws() + name + id + ws() + s.nameClose + ws() + c.args;
  });
  return text + ws() + s.callClose + ws() + s.sectionClose;
}

const PIECES = ["a", "b", " ", "\n", "<", ">", "=", "{", "}", "[", "]", '"', ":", "|", "｜", "▁", "tool", "_call", "TOOL_CALLS", "ARGS", "function", "functions.", "begin", "sep", "é", "🙂"];
const CONTENT = fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((a) => a.join(""));

interface Sample {
  readonly family: NamedJsonSyntax;
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
    let n = 0;
    const ws = (): string => ["", " ", "\n", "", "  \n"][wsSeed[n++ % wsSeed.length] ?? 0] ?? "";
    const section = renderSection(family, calls, ws);
    if (family.triggers.some((t) => (before + section.slice(0, t.length - 1)).includes(t) || after.includes(t))) return undefined;
    const expected: ParsedPart[] = [];
    if (before.trim() !== "") expected.push({ kind: "content", text: before });
    calls.forEach((c, index) => {
      expected.push({ kind: "call", index, name: c.name }, { kind: "arguments", index, text: c.args });
    });
    if (after !== "") expected.push({ kind: "content", text: after.trimStart() });
    return { family, text: before + section + after, expected };
  })
  .filter((sample): sample is Sample => sample !== undefined);

const FRAGMENTS = [
  ...new Set(FAMILIES.flatMap((s) => [s.sectionOpen, s.sectionClose, s.callOpen, s.callClose, s.nameClose, ...(s.callIdMarker === undefined ? [] : [s.callIdMarker])]).filter((m) => m !== "")),
  "functions.",
  ":0",
  "f",
  "get_weather",
  '{"a": 1}',
  "{",
  "}",
  '"',
  "\\",
  " ",
  "\n",
  "[",
  "<",
  "x",
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

describe("NamedCallParser: properties", () => {
  test("well-formed messages parse to their content and calls, however they are cut", () => {
    fc.assert(
      fc.property(wellFormed, fc.array(fc.nat(), { maxLength: 8 }), ({ family, text, expected }, points) => {
        assert.deepEqual(merge(partsOf(family, [text])), expected, JSON.stringify(text));
        assert.deepEqual(merge(partsOf(family, cut(text, points))), expected, JSON.stringify(text));
        assert.deepEqual(merge(partsOf(family, [...text])), expected, JSON.stringify(text));
      }),
      { numRuns: 500 },
    );
  });

  test("broken and truncated messages give the same parts however they are cut", () => {
    fc.assert(
      fc.property(mutated, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), ({ family, text }, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored });
      }),
      { numRuns: 500 },
    );
  });

  test("any text, however cut, gives the same parts (markup fragments fuzzed)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAMILIES), noise, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (family, text, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored });
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

describe("NamedCallParser: efficiency", () => {
  test("long content full of marker prefixes and long arguments stay linear", () => {
    const content = "a <function [TOOL <｜tool▁ <|tool_calls ".repeat(20_000);
    const args = JSON.stringify({ text: 'x [ARGS] </function> \\ "q" '.repeat(20_000), list: Array.from({ length: 5_000 }, (_, i) => ({ i })) });
    const started = performance.now();
    const text = `${content}<function=f>${args}</function>`;
    const chunks = cut(
      text,
      Array.from({ length: Math.ceil(text.length / 3) }, (_, i) => i * 3),
    );
    assert.deepEqual(collectParts(partsOf(functionary, chunks)), { content, calls: [call("f", args)] });
    assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
