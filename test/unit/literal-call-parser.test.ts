/**
 * The keyword-argument ("literal-args") tool-call parser: LFM2's Python calls and Gemma 4's
 * `call:name{…}` blocks, literal values converted to JSON (quotes, escapes, Python's words,
 * numbers, nesting, bare words typed by the schema), malformed and truncated sections, family
 * detection, history text, and fast-check properties (any split gives the same parts; arguments
 * are always a valid JSON object; calls written by literal-text.ts read back as their JSON).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { detectToolFamily } from "../../src/chat/tools/detect.ts";
import { gemma4Family } from "../../src/chat/tools/families/gemma-4.ts";
import { lfm2Family } from "../../src/chat/tools/families/lfm2.ts";
import type { ToolFamilyDefinition } from "../../src/chat/tools/family.ts";
import { literalCallsText } from "../../src/chat/tools/literal-text.ts";
import { parameterTypesOf } from "../../src/chat/tools/parameter-types.ts";
import type { LiteralArgsSyntax } from "../../src/chat/tools/syntax.ts";
import { ToolCallStream } from "../../src/chat/tools/tool-call-stream.ts";
import type { ChatMessage } from "../../src/domain/chat.ts";
import type { ToolDefinition } from "../../src/domain/tools.ts";
import { assertCutInvariant, assertSplitInvariant, call, collectParts, cut, merge, parse, partsOf } from "../support/parsed-parts.ts";

function literal(family: ToolFamilyDefinition): LiteralArgsSyntax {
  if (family.syntax.shape !== "literal-args") throw new Error(`${family.syntax.family} is not literal-args`);
  return family.syntax;
}

const lfm2 = literal(lfm2Family);
const gemma = literal(gemma4Family);
const FAMILIES: readonly LiteralArgsSyntax[] = [lfm2, gemma];

const TOOLS: ToolDefinition[] = [
  {
    name: "get_weather",
    description: undefined,
    parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" }, options: { type: "object" } }, required: ["city"] },
    strict: false,
  },
];
const typed = { parameterTypes: parameterTypesOf(TOOLS) };
const args = (syntax: LiteralArgsSyntax, text: string, options = typed): unknown => JSON.parse(parse(syntax, text, options).calls[0]!.arguments);

describe("LiteralCallParser: lfm2", () => {
  test("Python calls in a list, text before kept, numbered across the message", () => {
    const text = 'Let me check.<|tool_call_start|>[get_weather(city="Oslo", days=3), get_time()]<|tool_call_end|>\nDone.';
    const parts = assertSplitInvariant(lfm2, text, typed);
    assert.deepEqual(collectParts(parts), { content: "Let me check.Done.", calls: [call("get_weather", '{"city": "Oslo", "days": 3}'), call("get_time", "{}")] });
    assert.deepEqual(
      parts.filter((p) => p.kind === "call").map((p) => p.index),
      [0, 1],
    );
  });

  test("Python literals: both quotes and their escapes, True/False/None, nesting, JSON's spellings too", () => {
    const text = `<|tool_call_start|>[f(a='it\\'s', b="say \\"hi\\"\\n\\t\\\\", c=True, d=None, e=[1, 2.5, -3e2], g={"k": False, 'l': [None]}, h=true, i=null, j={1: 'one'})]<|tool_call_end|>`;
    assertSplitInvariant(lfm2, text);
    assert.deepEqual(args(lfm2, text), { a: "it's", b: 'say "hi"\n\t\\', c: true, d: null, e: [1, 2.5, -300], g: { k: false, l: [null] }, h: true, i: null, j: { 1: "one" } });
  });

  test("escapes: hex, unicode, octal, surrogate pairs, unknown ones kept as Python keeps them", () => {
    const text = String.raw`<|tool_call_start|>[f(a="\x41\u00e9\U0001F642\101\0", b="\ud83d\ude42", c="\d\q", d="a\
b")]<|tool_call_end|>`;
    assertSplitInvariant(lfm2, text);
    assert.deepEqual(args(lfm2, text), { a: "Aé🙂A\u0000", b: "🙂", c: "\\d\\q", d: "ab" });
  });

  test("numbers in Python spellings become JSON; other bare words are strings", () => {
    const text = "<|tool_call_start|>[f(a=1_000, b=+4, c=.5, d=5., e=007, f=inf, g=Oslo, h=0x1F)]<|tool_call_end|>";
    assert.deepEqual(args(lfm2, text), { a: 1000, b: 4, c: 0.5, d: 5, e: 7, f: "inf", g: "Oslo", h: "0x1F" });
  });

  test("a parameter typed as a string takes a bare value as its text", () => {
    assert.deepEqual(args(lfm2, "<|tool_call_start|>[get_weather(city=Oslo, days=3)]<|tool_call_end|>"), { city: "Oslo", days: 3 });
    assert.deepEqual(args(lfm2, "<|tool_call_start|>[get_weather(city=42)]<|tool_call_end|>"), { city: "42" });
    assert.deepEqual(args(lfm2, "<|tool_call_start|>[get_weather(city=True)]<|tool_call_end|>"), { city: "True" });
    assert.deepEqual(args(lfm2, '<|tool_call_start|>[get_weather(days="3")]<|tool_call_end|>'), { days: "3" }, "a quoted value stays a string");
  });

  test("whitespace and a trailing comma are tolerated", () => {
    const text = '<|tool_call_start|>[ get_weather ( city = "Oslo" ,\n days = 3 , ) ,get_time( ) ] <|tool_call_end|>';
    assertSplitInvariant(lfm2, text, typed);
    assert.deepEqual(parse(lfm2, text, typed).calls, [call("get_weather", '{"city": "Oslo", "days": 3}'), call("get_time", "{}")]);
  });
});

describe("LiteralCallParser: gemma-4", () => {
  test('one block per call, raw strings between <|"|>, bare keys, text after is content', () => {
    const text =
      'Sure.<|tool_call>call:get_weather{city:<|"|>Oslo "centre" <b>\\n<|"|>,days:3,options:{hourly:true,tags:[<|"|>a<|"|>,None],<|"|>odd key<|"|>:1.5}}<tool_call|><|tool_call>call:get_time{}<tool_call|>\nThanks';
    const parts = assertSplitInvariant(gemma, text, typed);
    assert.deepEqual(collectParts(parts), {
      content: "Sure.Thanks",
      calls: [call("get_weather", '{"city": "Oslo \\"centre\\" <b>\\\\n", "days": 3, "options": {"hourly": true, "tags": ["a", null], "odd key": 1.5}}'), call("get_time", "{}")],
    });
  });

  test("a missing <tool_call|> is tolerated, before another call too", () => {
    const text = "<|tool_call>call:a{x:1}<|tool_call>call:b{}";
    assertSplitInvariant(gemma, text);
    assert.deepEqual(parse(gemma, text).calls, [call("a", '{"x": 1}'), call("b", "{}")]);
  });

  test("a string parameter written bare is its text", () => {
    assert.deepEqual(args(gemma, "<|tool_call>call:get_weather{city:Oslo,days:2}<tool_call|>"), { city: "Oslo", days: 2 });
  });
});

describe("LiteralCallParser: malformed and truncated", () => {
  test("markup that breaks before a call is content", () => {
    for (const text of ["<|tool_call_start|>hello", "<|tool_call_start|>[get weather()]", "<|tool_call_start|>[f x]", "a <|tool_call_start|> b", "<|tool_call_start|>[(a=1)]"]) {
      assertSplitInvariant(lfm2, text);
      assert.deepEqual(parse(lfm2, text), { content: text, calls: [] }, text);
    }
    for (const text of ["<|tool_call>hello", "<|tool_call>call:f(x)", "<|tool_call>call:{x:1}"]) {
      assertSplitInvariant(gemma, text);
      assert.deepEqual(parse(gemma, text), { content: text, calls: [] }, text);
    }
  });

  test("text that breaks inside a call ends it, its arguments closed as valid JSON", () => {
    const cases: [LiteralArgsSyntax, string, string, string][] = [
      [lfm2, '<|tool_call_start|>[f(a="x", b=)]<|tool_call_end|>', '{"a": "x"}', ", b=)]<|tool_call_end|>"],
      [lfm2, "<|tool_call_start|>[f(a=[1 2])]", '{"a": [1]}', "2])]"],
      [lfm2, "<|tool_call_start|>[f(a=1 b=2)]", '{"a": 1}', "b=2)]"],
      [gemma, "<|tool_call>call:f{a:{b:1)}}<tool_call|>", '{"a": {"b": 1}}', ")}}<tool_call|>"],
      [gemma, "<|tool_call>call:f{a:<|x|>}", "{}", "a:<|x|>}"],
    ];
    for (const [syntax, text, argsText, content] of cases) {
      assertSplitInvariant(syntax, text);
      assert.deepEqual(parse(syntax, text), { content, calls: [call("f", argsText)] }, text);
    }
  });

  test("finish: a call cut off keeps what was read, as a valid JSON object", () => {
    const cases: [LiteralArgsSyntax, string, string][] = [
      [lfm2, '<|tool_call_start|>[get_weather(city="Os', '{"city": "Os"}'],
      [lfm2, '<|tool_call_start|>[get_weather(city="Os\\', '{"city": "Os\\\\"}'],
      [lfm2, '<|tool_call_start|>[get_weather(city="Oslo", days=1', '{"city": "Oslo", "days": 1}'],
      [lfm2, '<|tool_call_start|>[get_weather(city="Oslo", options={"a": [1, {"b": tr', '{"city": "Oslo", "options": {"a": [1, {"b": "tr"}]}}'],
      [lfm2, '<|tool_call_start|>[get_weather(city="Oslo", options={"a"', '{"city": "Oslo", "options": {}}'],
      [lfm2, "<|tool_call_start|>[get_weather(city=", "{}"],
      [lfm2, "<|tool_call_start|>[get_weather(ci", "{}"],
      [lfm2, "<|tool_call_start|>[get_weather(", "{}"],
      [gemma, '<|tool_call>call:get_weather{city:<|"|>Oslo<|"', '{"city": "Oslo"}'],
      [gemma, '<|tool_call>call:get_weather{city:<|"', "{}"],
      [gemma, "<|tool_call>call:get_weather{days:3}", '{"days": 3}'],
    ];
    for (const [syntax, text, argsText] of cases) {
      assertSplitInvariant(syntax, text, typed);
      assert.deepEqual(parse(syntax, text, typed), { content: "", calls: [call("get_weather", argsText)] }, text);
    }
    assert.deepEqual(parse(lfm2, "Hi <|tool_call_start|>[get_wea"), { content: "Hi ", calls: [] }, "a name cut off is dropped markup");
    assert.deepEqual(parse(gemma, "Hi <|tool_ca"), { content: "Hi <|tool_ca", calls: [] });
  });

  test("anchored: only a section at the start counts", () => {
    const section = "<|tool_call_start|>[f()]<|tool_call_end|>";
    assert.deepEqual(parse(lfm2, `Hi ${section}`, { anchored: true }), { content: `Hi ${section}`, calls: [] });
    assert.deepEqual(parse(gemma, " <|tool_call>call:f{}<tool_call|><|tool_call>call:g{}<tool_call|>", { anchored: true }).calls, [call("f", "{}"), call("g", "{}")]);
  });
});

describe("family detection and history", () => {
  test("LFM2 and Gemma 4 templates get their family", () => {
    const family = (source: string): string => detectToolFamily(source).syntax.family;
    assert.equal(family("{{ 'List of tools: <|tool_list_start|>[' }}{{ tools | tojson }}"), "lfm2");
    assert.equal(family("{%- set p = 'List of tools: [' -%}"), "lfm2");
    assert.equal(family("{{- '<|tool_call>call:' + name + '{' -}}"), "gemma-4");
  });

  test("LFM2: earlier calls become the assistant's content, in the model's own syntax", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "1", name: "get_weather", arguments: '{"city": "Oslo \\"x\\" \'y\'", "days": 3, "o": {"a": [true, null]}}' },
          { id: "2", name: "get_time", arguments: "" },
        ],
      },
      { role: "tool", toolCallId: "1", content: "3 C" },
    ];
    const prepared = lfm2Family.prepareMessages?.(messages, []) ?? [];
    const text = '<|tool_call_start|>[get_weather(city="Oslo \\"x\\" \'y\'", days=3, o={"a": [True, None]}), get_time()]<|tool_call_end|>';
    assert.deepEqual(prepared[1], { role: "assistant", content: text });
    assert.deepEqual(prepared[2], messages[2]);
    assert.deepEqual(parse(lfm2, text).calls, [call("get_weather", '{"city": "Oslo \\"x\\" \'y\'", "days": 3, "o": {"a": [true, null]}}'), call("get_time", "{}")]);
  });
});

describe("ToolCallStream with a literal-args family", () => {
  test("parameter types reach the parser; a string streams as it comes", () => {
    const stream = new ToolCallStream({ syntax: lfm2, choice: 0, parameterTypes: typed.parameterTypes });
    const text = `Hi <|tool_call_start|>[get_weather(city="${"Oslo ".repeat(5)}", days=2)]<|tool_call_end|>`;
    const events = [...[...text].flatMap((c) => stream.push(c, []).events), ...stream.finish()];
    assert.equal(events.filter((e) => e.type === "tool_call").length, 1);
    assert.deepEqual(JSON.parse(events.map((e) => (e.type === "tool_arguments" ? e.text : "")).join("")), { city: "Oslo ".repeat(5), days: 2 });
    assert.ok(events.filter((e) => e.type === "tool_arguments").length > 10, "the string streams");
    assert.equal(events.map((e) => (e.type === "delta" ? e.text : "")).join(""), "Hi ");
    assert.equal(stream.finishReason("stop"), "tool_calls");
  });
});

// ---- Properties ----

const KEY = fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/);
const jsonArgs = fc.dictionary(KEY, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
const genCalls = fc.array(fc.record({ name: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,10}$/), args: jsonArgs }), { minLength: 1, maxLength: 3 });
const PIECES = ["a", " ", "\n", "<", "|", ">", "[", "(", "{", '"', "'", "tool", "_call", "é", "🙂"];
const CONTENT = fc.array(fc.constantFrom(...PIECES), { maxLength: 10 }).map((a) => a.join(""));

/** Sections written by literal-text.ts (as in history), between content. */
const wellFormed = fc
  .record({ family: fc.constantFrom(...FAMILIES), before: CONTENT, calls: genCalls, after: CONTENT })
  .filter(
    ({ family, before, calls, after }) =>
      !JSON.stringify(calls).includes('<|\\"|>') && !family.triggers.some((t) => `${before}${t.slice(0, -1)}`.includes(t) || after.includes(t)) && before.trim() !== "",
  );

const FRAGMENTS = [...new Set(FAMILIES.flatMap((s) => [s.sectionOpen, s.sectionClose, s.callOpen, s.callClose, s.argumentsOpen, s.argumentsClose, ...s.stringDelimiters]).filter((m) => m !== ""))];
const NOISE = [
  ...FRAGMENTS,
  ...["<|tool_call_start|>[f(", "<|tool_call>call:f{", "f(", "city=", "city:", '"Oslo"', "'it\\'s'", '<|"|>Oslo<|"|>', "[1, ", "{k: "],
  ...["f", "city", "=", ":", ",", " ", "\n", "True", "None", "1.5", "\\", "[", "]", "{", "}", "x", "🙂", "<|", '<|"'],
];
const noise = fc.array(fc.constantFrom(...NOISE), { maxLength: 30 }).map((a) => a.join(""));

describe("LiteralCallParser: properties", () => {
  test("calls written in the family's syntax read back as their JSON, however the text is cut", () => {
    fc.assert(
      fc.property(wellFormed, fc.array(fc.nat(), { maxLength: 8 }), ({ family, before, calls, after }, points) => {
        const section = literalCallsText(
          family,
          calls.map((c, i) => ({ id: String(i), name: c.name, arguments: JSON.stringify(c.args) })),
        );
        const blocks = family.sectionOpen === "" ? section : section; // Gemma: blocks back to back
        const text = `${before}${blocks}${after}`;
        const message = collectParts(partsOf(family, cut(text, points)));
        assert.equal(message.content, before + after.trimStart(), JSON.stringify(text));
        assert.deepEqual(
          message.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
          calls.map((c) => [c.name, JSON.parse(JSON.stringify(c.args))]),
          JSON.stringify(text),
        );
        assert.deepEqual(merge(partsOf(family, [...text])), merge(partsOf(family, [text])));
      }),
      { numRuns: 400 },
    );
  });

  test("any text, however cut, gives the same parts, arguments always a JSON object", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FAMILIES), noise, fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (family, text, anchored, points) => {
        assertCutInvariant(family, text, points, { anchored: anchored, ...typed }, { objectArguments: true });
      }),
      { numRuns: 2000 },
    );
  });

  test("well-formed calls cut short or edited still give the same parts however cut", () => {
    const edited = fc.tuple(wellFormed, fc.nat(), fc.nat(6), fc.constantFrom("", ...NOISE)).map(([{ family, before, calls }, at, remove, insert]) => {
      const text =
        before +
        literalCallsText(
          family,
          calls.map((c, i) => ({ id: String(i), name: c.name, arguments: JSON.stringify(c.args) })),
        );
      const i = at % (text.length + 1);
      return { family, text: text.slice(0, i) + insert + text.slice(i + remove) };
    });
    fc.assert(
      fc.property(edited, fc.nat(), fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), ({ family, text }, end, anchored, points) => {
        assertCutInvariant(family, text.slice(0, end % (text.length + 1)), points, { anchored: anchored, ...typed }, { objectArguments: true });
        assertCutInvariant(family, text, points, { anchored: anchored, ...typed }, { objectArguments: true });
      }),
      { numRuns: 600 },
    );
  });
});

describe("LiteralCallParser: efficiency", () => {
  test("long content full of marker prefixes and long values stay linear", () => {
    const content = "a <|tool_call <|tool_ca ".repeat(20_000);
    const value = 'x \\" <|tool_call_start| \\n '.repeat(20_000);
    const list = `[${Array.from({ length: 5_000 }, (_, i) => `{"i": ${i}}`).join(", ")}]`;
    const text = `${content}<|tool_call_start|>[get_weather(city="${value}", options=${list})]<|tool_call_end|>`;
    const started = performance.now();
    const chunks = cut(
      text,
      Array.from({ length: Math.ceil(text.length / 3) }, (_, i) => i * 3),
    );
    const message = collectParts(partsOf(lfm2, chunks, typed));
    assert.ok(message.content === content, "the content is kept");
    const parsed = JSON.parse(message.calls[0]!.arguments) as { city: string; options: unknown[] };
    assert.ok(parsed.city === 'x " <|tool_call_start| \n '.repeat(20_000), "the string is decoded");
    assert.equal(parsed.options.length, 5_000);
    assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
