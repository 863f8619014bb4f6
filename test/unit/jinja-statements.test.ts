/**
 * Parley's Jinja engine: statements and scoping as in Jinja2: for loops (tuple unpacking, `loop`
 * variables, `if` filter, `else`, break/continue, recursive), `set` (scoping per loop iteration,
 * namespaces, block form), macros with defaults and `caller`, `call`, `filter` and `with` blocks,
 * Hugging Face's `{% generation %}`. Expected outputs follow Jinja2 3.1 (checked against
 * python3-jinja2 when written).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { JinjaTemplate } from "../../src/chat/jinja/index.ts";

type JinjaCase = readonly [name: string, template: string, context: Record<string, unknown>, expected: string | { error: RegExp }];

export const CASES: readonly JinjaCase[] = [
  ["tuple unpacking over a list of pairs", "{% for a, b in [('x', 1), ['y', 2]] %}{{ a }}={{ b }};{% endfor %}", {}, "x=1;y=2;"],
  ["unpacking dict items", "{% for k, v in d.items() %}{{ k }}:{{ v }},{% endfor %}", { d: { a: 1, b: [2] } }, "a:1,b:[2],"],
  ["unpacking the wrong size raises", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}, { error: /too many values/ }],
  [
    "loop variables",
    "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}",
    {},
    "103TrueFalse3 212FalseFalse3 321FalseTrue3 ",
  ],
  ["loop.cycle, previtem, nextitem", "{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{{ loop.previtem }}{{ loop.nextitem }} {% endfor %}", {}, "a2 b13 a2 "],
  [
    "loop filter counts only the kept items",
    "{% for m in ms if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m.role }} {% endfor %}",
    { ms: [{ role: "system" }, { role: "user" }, { role: "assistant" }] },
    "1/2:user 2/2:assistant ",
  ],
  ["for else", "{% for x in [] %}x{% else %}none{% endfor %}", {}, "none"],
  ["break and continue", "{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}, "023"],
  ["set in a loop does not leak, even to the next iteration", "{% set x = 'out' %}{% for i in [1, 2] %}{{ x }},{% set x = i %}{{ x }};{% endfor %}{{ x }}", {}, "out,1;out,2;out"],
  ["set in an if does leak", "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}", {}, "2"],
  [
    "namespace carries values out of loops",
    "{% set ns = namespace(n=0, last=none) %}{% for i in [3, 4] %}{% set ns.n = ns.n + i %}{% set ns.last = i %}{% endfor %}{{ ns.n }} {{ ns.last }}",
    {},
    "7 4",
  ],
  ["set with a tuple target", "{% set a, b = 1, 2 %}{{ b }}{{ a }}", {}, "21"],
  ["set block with a filter", "{% set x | upper %}ab{{ 'c' }}{% endset %}[{{ x }}]", {}, "[ABC]"],
  [
    "macro with defaults and keyword arguments",
    "{% macro tag(name, open=true, attrs={}) %}<{{ '' if open else '/' }}{{ name }}{{ attrs | length }}>{% endmacro %}{{ tag('a') }}{{ tag('b', open=false) }}{{ tag('c', attrs={'k': 1}) }}",
    {},
    "<a0></b0><c1>",
  ],
  ["macros see variables as they are at call time", "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}", {}, "2"],
  ["missing macro argument is undefined", "{% macro m(a, b) %}[{{ b }}]{% endmacro %}{{ m(1) }}", {}, "[]"],
  ["call block passes caller", "{% macro wrap(tag) %}<{{ tag }}>{{ caller('x') }}</{{ tag }}>{% endmacro %}{% call(v) wrap('b') %}in-{{ v }}{% endcall %}", {}, "<b>in-x</b>"],
  ["filter block", "{% filter upper %}a{{ 'b' }}{% endfilter %}", {}, "AB"],
  ["with block scopes its names", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}, "3[]"],
  ["generation renders its body", "A{% generation %}B{{ 'C' }}{% endgeneration %}D", {}, "ABCD"],
  [
    "recursive loop",
    "{% for n in tree recursive %}{{ n.name }}{% if n.kids %}({{ loop(n.kids) }}){% endif %}{% endfor %}",
    { tree: [{ name: "a", kids: [{ name: "b" }, { name: "c", kids: [{ name: "d" }] }] }, { name: "e" }] },
    "a(bc(d))e",
  ],
  ["if / elif / else", "{% for i in [1, 2, 3] %}{% if i == 1 %}one{% elif i == 2 %}two{% else %}many{% endif %} {% endfor %}", {}, "one two many "],
  ["inline if without else is undefined", "[{{ 'x' if false }}]", {}, "[]"],
  ["do is not enabled", "{% do x %}", {}, { error: /unknown tag/ }],
];

describe("jinja statements and scoping", () => {
  for (const [name, source, context, expected] of CASES) {
    test(name, () => {
      if (typeof expected === "string") assert.equal(new JinjaTemplate(source).render(context), expected);
      else assert.throws(() => new JinjaTemplate(source).render(context), expected.error);
    });
  }
});
