/**
 * Functionary v3.2's `>>>recipient\n` parts: the prompt opens the first part, `all` is text to the
 * user, any other recipient a call. Parser (any split gives the same parts) and grammar (with
 * llama.cpp's own grammar engine).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { getLlama, type Llama } from "node-llama-cpp";
import { functionaryV32Family } from "../../src/chat/tools/families/functionary-v3-2.ts";
import { toolGrammar } from "../../src/chat/tools/tool-grammar.ts";
import type { ToolChoice, ToolsRequest } from "../../src/domain/tools.ts";
import { accepts } from "../support/grammar.ts";
import { assertSplitInvariant, call, collectParts, cut, merge, parse, partsOf } from "../support/parsed-parts.ts";

const syntax = functionaryV32Family.syntax;

describe("functionary v3.2 parser", () => {
  test("text to `all` is content, other recipients are calls, after the prompt's `>>>`", () => {
    assert.deepEqual(parse(syntax, "all\nHello there."), { content: "Hello there.", calls: [] });
    assert.deepEqual(parse(syntax, 'get_weather\n{"city": "Oslo"}>>>now\n{}'), { content: "", calls: [call("get_weather", '{"city": "Oslo"}'), call("now", "{}")] });
    assert.deepEqual(parse(syntax, 'all\nLet me look.>>>get_weather\n{"city": "Oslo"}'), { content: "Let me look.", calls: [call("get_weather", '{"city": "Oslo"}')] });
    assert.deepEqual(parse(syntax, "all\nOnly text", { anchored: true }), { content: "Only text", calls: [] });
  });

  test("output that is not addressed is content; a cut call keeps what was read", () => {
    assert.deepEqual(parse(syntax, "Hello there"), { content: "Hello there", calls: [] });
    assert.deepEqual(parse(syntax, "get_weather\n"), { content: "", calls: [call("get_weather", "{}")] });
    assert.deepEqual(parse(syntax, 'now\n{"a": 1'), { content: "", calls: [call("now", '{"a": 1')] });
  });

  test("any split gives the same parts", () => {
    for (const text of ["all\nHi>>>now\n{}", 'get_weather\n{"city": ">>>"}>>>all\nDone', "all\n", "x>>", ">>>all\nb"]) assertSplitInvariant(syntax, text);
    fc.assert(
      fc.property(fc.stringMatching(/^(all\n|now\n\{\}|>>>|[a-z \n{}"]){0,12}$/), fc.array(fc.nat(), { maxLength: 8 }), (text, points) => {
        assert.deepEqual(merge(partsOf(syntax, cut(text, points))), merge(partsOf(syntax, [text])));
        collectParts(partsOf(syntax, cut(text, points)));
      }),
    );
  });
});

describe("functionary v3.2 grammar", () => {
  let llama: Llama;
  before(async () => {
    llama = await getLlama({ gpu: false });
  });
  after(() => llama.dispose());

  const tools = (choice: ToolChoice): ToolsRequest => ({
    definitions: [
      { name: "get_weather", description: "w", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }, strict: false },
      { name: "now", description: undefined, parameters: { type: "object", properties: {} }, strict: false },
    ],
    choice,
    parallel: true,
    legacy: false,
  });
  const grammar = (choice: ToolChoice) => llama.createGrammar({ grammar: toolGrammar({ syntax, tools: tools(choice) }).gbnf });

  test("required writes calls without the prompt's `>>>`; auto a text part or calls; none a text part", async () => {
    const required = await grammar({ kind: "required" });
    assert.equal(accepts(required, 'get_weather\n{"city": "Oslo"}>>>now\n{}'), true);
    assert.equal(accepts(required, ">>>now\n{}"), false);
    assert.equal(accepts(required, "all\nHi"), false);
    assert.equal(accepts(required, "now\n{}>>>all\nHi"), false);
    const auto = await grammar({ kind: "auto" });
    assert.equal(accepts(auto, "all\nJust text {x}."), true);
    assert.equal(accepts(auto, "now\n{}"), true);
    assert.equal(accepts(auto, "Unaddressed text"), false);
    const none = await grammar({ kind: "none" });
    assert.equal(accepts(none, "all\nJust text."), true);
    assert.equal(accepts(none, "now\n{}"), false);
  });
});
