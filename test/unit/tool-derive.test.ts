import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatTemplate } from "../../src/chat/template.ts";
import { deriveToolCallSyntax, type ProbeRender } from "../../src/chat/tools/derive.ts";
import { resolveToolFamily } from "../../src/chat/tools/resolve-family.ts";
import { ToolCallParser } from "../../src/chat/tools/tool-call-parser.ts";

/** Templates written here in the styles derivation must read. */
const turns = (call: string, between = "") =>
  [
    "{%- for m in messages %}<|turn|>{{ m.role }}\n",
    "{%- if m.tool_calls %}",
    call.replace("BETWEEN", between),
    "{%- else %}{{ m.content }}{% endif %}<|end|>\n{% endfor %}",
  ].join("");

const LISTED = turns('<calls>[{% for c in m.tool_calls %}{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}{% if not loop.last %}, {% endif %}{% endfor %}]</calls>');
const WRAPPED = turns('{% for c in m.tool_calls %}<fn>\n{{ {"arguments": c.function.arguments, "name": c.function.name} | tojson }}\n</fn>{% if not loop.last %}{{ "\\n" }}{% endif %}{% endfor %}');
const MISLEADING = `{# Answer with <tool_call> blocks #}${LISTED}`;
const NO_CALLS = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}";
const BARE_JSON = turns('{% for c in m.tool_calls %}{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}{% endfor %}');

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
    assert.deepEqual(parts, [{ kind: "content", text: "Sure. " }, { kind: "call", index: 0, name: "a" }, { kind: "arguments", index: 0, text: '{"x": 1}' }]);
  });

  test("fails, saying why, for templates without calls or without markers", () => {
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
