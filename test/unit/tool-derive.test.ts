import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatTemplate } from "../../src/chat/template.ts";
import { deriveToolCallSyntax, type ProbeRender } from "../../src/chat/tools/derive.ts";
import { resolveToolFamily } from "../../src/chat/tools/resolve-family.ts";
import { ToolCallParser } from "../../src/chat/tools/tool-call-parser.ts";
import { call, parse } from "../support/parsed-parts.ts";

/** Templates written here in the styles derivation must read. */
const turns = (call: string, between = "") =>
  ["{%- for m in messages %}<|turn|>{{ m.role }}\n", "{%- if m.tool_calls %}", call.replace("BETWEEN", between), "{%- else %}{{ m.content }}{% endif %}<|end|>\n{% endfor %}"].join("");

const LISTED = turns('<calls>[{% for c in m.tool_calls %}{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}{% if not loop.last %}, {% endif %}{% endfor %}]</calls>');
const WRAPPED = turns('{% for c in m.tool_calls %}<fn>\n{{ {"arguments": c.function.arguments, "name": c.function.name} | tojson }}\n</fn>{% if not loop.last %}{{ "\\n" }}{% endif %}{% endfor %}');
const MISLEADING = `{# Answer with <tool_call> blocks #}${LISTED}`;
const NO_CALLS = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}";
const BARE_JSON = turns('{% for c in m.tool_calls %}{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}{% endfor %}');

const KEYED = turns('<calls>[{% for c in m.tool_calls %}{"{{ c.function.name }}": {{ c.function.arguments | tojson }}}{% if not loop.last %}, {% endif %}{% endfor %}]</calls>');
const NAME_THEN_ARGS = turns("{% for c in m.tool_calls %}<call>{{ c.function.name }}<args>{{ c.function.arguments | tojson }}</call>{% endfor %}");
const PER_PARAMETER = turns(
  '<calls>{% for c in m.tool_calls %}{{ "\\n" }}<fn name="{{ c.function.name }}">{% for k, v in c.function.arguments.items() %}{{ "\\n" }}<arg name="{{ k }}">{{ v if v is string else v | tojson }}</arg>{% endfor %}{{ "\\n" }}</fn>{% endfor %}{{ "\\n" }}</calls>',
);
const TYPED_VALUES = turns(
  '{% for c in m.tool_calls %}<fn name="{{ c.function.name }}">{% for k, v in c.function.arguments.items() %}<arg name="{{ k }}" text="{{ v is string }}">{{ v }}</arg>{% endfor %}</fn>{% endfor %}',
);
const IDS_INSIDE = turns("{% for c in m.tool_calls %}<call>{{ c.id }}<name>{{ c.function.name }}<args>{{ c.function.arguments | tojson }}</call>{% endfor %}");

const probe = (source: string): ProbeRender => {
  const template = new ChatTemplate(source);
  return (messages, tools) => template.render(messages, { tools, addGenerationPrompt: false });
};

describe("tool-call format derivation", () => {
  test("a list of calls inside one pair of markers", () => {
    const { syntax } = deriveToolCallSyntax(probe(LISTED));
    assert.ok(syntax !== undefined);
    assert.deepEqual([syntax.sectionOpen, syntax.callOpen, syntax.callClose, syntax.separator, syntax.sectionClose], ["<calls>[", "", "", ", ", "]</calls>"]);
    assert.deepEqual(syntax.triggers, ["<calls>["]);
  });

  test("each call in its own markers, keys in any order", () => {
    const { syntax } = deriveToolCallSyntax(probe(WRAPPED));
    assert.ok(syntax !== undefined);
    assert.deepEqual([syntax.sectionOpen, syntax.callOpen, syntax.callClose, syntax.separator, syntax.sectionClose], ["", "<fn>\n", "\n</fn>", "\n", ""]);
    const parser = new ToolCallParser(syntax);
    const parts = [...parser.push('Sure. <fn>\n{"name": "a", "arguments": {"x": 1}}\n</fn>'), ...parser.finish()];
    assert.deepEqual(parts, [
      { kind: "content", text: "Sure. " },
      { kind: "call", index: 0, name: "a" },
      { kind: "arguments", index: 0, text: '{"x": 1}' },
    ]);
  });

  test("a name outside its JSON arguments: as a key, or between markers", () => {
    const keyed = deriveToolCallSyntax(probe(KEYED)).syntax;
    assert.ok(keyed?.shape === "named-json", JSON.stringify(keyed));
    assert.deepEqual([keyed.sectionOpen, keyed.callOpen, keyed.nameClose, keyed.callClose, keyed.separator, keyed.sectionClose], ["<calls>[", '{"', '": ', "}", ", ", "]</calls>"]);
    assert.deepEqual(parse(keyed, '<calls>[{"a": {"x": 1}}, {"b": {}}]</calls>').calls, [call("a", '{"x": 1}'), call("b", "{}")]);
    const marked = deriveToolCallSyntax(probe(NAME_THEN_ARGS)).syntax;
    assert.ok(marked?.shape === "named-json");
    assert.deepEqual([marked.callOpen, marked.nameClose, marked.callClose, marked.separator], ["<call>", "<args>", "</call>", ""]);
  });

  test("one element per parameter, values turned into JSON", () => {
    const derived = deriveToolCallSyntax(probe(PER_PARAMETER));
    const syntax = derived.syntax;
    assert.ok(syntax?.shape === "xml-params", derived.reason);
    assert.deepEqual(
      [syntax.sectionOpen, syntax.callOpen, syntax.nameClose, syntax.paramOpen, syntax.paramNameClose, syntax.paramClose, syntax.callClose, syntax.sectionClose],
      ["<calls>\n", '<fn name="', '">\n', '<arg name="', '">', "</arg>\n", "</fn>\n", "</calls>"],
    );
    assert.deepEqual(parse(syntax, '<calls>\n<fn name="a">\n<arg name="x">hi there</arg>\n<arg name="n">3</arg>\n</fn>\n</calls>').calls, [call("a", '{"x": "hi there", "n": 3}')]);
  });

  test("values whose markup says their kind: the markup decides, the grammar writes it by the schema", () => {
    const syntax = deriveToolCallSyntax(probe(TYPED_VALUES)).syntax;
    assert.ok(syntax?.shape === "xml-params");
    assert.deepEqual([syntax.paramNameClose, syntax.jsonParamNameClose], ['" text="True">', '" text="False">']);
    assert.deepEqual(parse(syntax, '<fn name="a"><arg name="x" text="True">7</arg><arg name="n" text="False">7</arg></fn>').calls, [call("a", '{"x": "7", "n": 7}')]);
  });

  test("fails, saying why, for templates without calls or without markers", () => {
    assert.match(deriveToolCallSyntax(probe(IDS_INSIDE)).reason, /call ids inside/);
    assert.match(deriveToolCallSyntax(probe(NO_CALLS)).reason, /does not write the call's name/);
    assert.match(deriveToolCallSyntax(probe(BARE_JSON)).reason, /no markers/);
  });

  test("a hand-written family is kept when the template's calls confirm it, replaced when they do not", () => {
    const hermesStyle = turns('{% for c in m.tool_calls %}<tool_call>\n{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}\n</tool_call>{% endfor %}');
    assert.equal(resolveToolFamily(hermesStyle, probe(hermesStyle)).family.syntax.family, "hermes");
    const misled = resolveToolFamily(MISLEADING, probe(MISLEADING));
    assert.equal(misled.family.origin, "derived");
    assert.match(misled.reason, /mentions hermes's markers but writes calls otherwise/);
    // Without rendering (a client's template), markers alone decide.
    assert.equal(resolveToolFamily(MISLEADING, undefined).family.syntax.family, "hermes");
    const generic = resolveToolFamily(NO_CALLS, probe(NO_CALLS));
    assert.equal(generic.family.origin, "generic");
  });
});
