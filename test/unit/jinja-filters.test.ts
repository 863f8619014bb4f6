/**
 * Parley's Jinja engine: filters, string methods and tests as templates use them, with Python's
 * semantics: selectattr/rejectattr/map/select/reject/unique/groupby/dictsort/sort/join/…,
 * `str.split/strip/replace/startswith/format`, `%` formatting, slicing, `in`, and the type tests.
 * Expected outputs follow Python/Jinja2 3.1 (checked against python3-jinja2 when written).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { JinjaTemplate } from "../../src/chat/jinja/index.ts";

type JinjaCase = readonly [name: string, template: string, context: Record<string, unknown>, expected: string | { error: RegExp }];

const MSGS = [
  { role: "system", content: "S" },
  { role: "user", content: "U1" },
  { role: "assistant", content: "A1", tool_calls: [{ function: { name: "f" } }] },
  { role: "user", content: "U2" },
];

export const CASES: readonly JinjaCase[] = [
  [
    "selectattr / rejectattr",
    "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|{{ ms | rejectattr('role', 'in', ['user', 'system']) | list | length }}",
    { ms: MSGS },
    "U1,U2|1",
  ],
  [
    "selectattr by truthiness and defined",
    "{{ ms | selectattr('tool_calls') | list | length }} {{ ms | selectattr('tool_calls', 'defined') | map(attribute='role') | first }}",
    { ms: MSGS },
    "1 assistant",
  ],
  [
    "map with a filter and with a dotted attribute",
    "{{ ['a', 'b'] | map('upper') | list }} {{ ms | map(attribute='tool_calls.0.function.name', default='-') | join }}",
    { ms: MSGS },
    "['A', 'B'] --f-",
  ],
  ["select / reject with tests", "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 'a', none] | reject('none') | list }} {{ [0, 1, ''] | select | list }}", {}, "[1, 3] [1, 'a'] [1]"],
  ["a generator is consumed once", "{% set g = [1, 2] | select %}{{ g | list }}{{ g | list }}", {}, "[1, 2][]"],
  [
    "unique, sort, reverse",
    "{{ ['b', 'A', 'a', 'c'] | unique | list }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort(reverse=true) }} {{ [1, 2] | reverse | list }} {{ 'abc' | reverse }}",
    {},
    "['b', 'A', 'c'] [1, 2, 3] ['c', 'b', 'A'] [2, 1] cba",
  ],
  ["sort by attribute", "{{ ms | sort(attribute='role') | map(attribute='content') | join(' ') }}", { ms: MSGS }, "A1 S U1 U2"],
  ["groupby", "{% for role, items in ms | groupby('role') %}{{ role }}={{ items | length }} {% endfor %}", { ms: MSGS }, "assistant=1 system=1 user=2 "],
  ["dictsort and items", "{{ {'b': 1, 'a': 2} | dictsort }} {{ {'x': 1} | items | list }}", {}, "[('a', 2), ('b', 1)] [('x', 1)]"],
  ["join converts items with str()", "{{ [1, none, 1.0, 'x'] | join('-') }}", {}, "1-None-1.0-x"],
  [
    "length, count, first, last, min, max, sum",
    "{{ 'héllo' | length }} {{ {'a': 1} | count }} {{ [3, 1] | first }} {{ [3, 1] | last }} {{ ['b', 'A'] | min }} {{ [1, 5, 2] | max }} {{ [1, 2.5] | sum }}",
    {},
    "5 1 3 1 A 5 3.5",
  ],
  [
    "int, float, round, abs",
    "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ '2.5' | float }} {{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 3 | round }} {{ 2.1 | round(0, 'ceil') }}",
    {},
    "42 4 0 2.5 2.0 3.14 3 3.0",
  ],
  [
    "string filters",
    "{{ '  a b  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'hello world-wide' | title }}|{{ 'hELLO' | capitalize }}|{{ 'a-b' | replace('-', '+') }}|{{ 'abc' | center(7) }}|{{ 'one two three' | wordcount }}",
    {},
    "a b|a|Hello World-Wide|Hello|a+b|  abc  |3",
  ],
  ["indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'x\\ny' | indent(2, first=true) }}", {}, "a\n  b\n\n  c|  x\n  y"],
  ["truncate and format filter", "{{ 'hello wonderful world' | truncate(12, leeway=0) }} {{ '%s=%05.1f' | format('x', 3.14159) }}", {}, "hello... x=003.1"],
  ["string / pprint of containers", "{{ {'a': [1, 'b']} | string }} {{ (1, 'x') | pprint }}", {}, "{'a': [1, 'b']} (1, 'x')"],
  ["escape", "{{ '<a href=\"x\">&</a>' | e }}", {}, "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;"],
  [
    "str.split / rsplit / splitlines",
    "{{ ' a  b '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'x\\ny\\n'.splitlines() }}",
    {},
    "['a', 'b'] ['a', 'b', '', 'c'] ['a', 'b,c'] ['a,b', 'c'] ['x', 'y']",
  ],
  ["str.strip / lstrip / rstrip / replace", "[{{ '\\n x \\n'.strip() }}][{{ '<<x>>'.lstrip('<') }}][{{ 'x\\n\\n'.rstrip() }}][{{ 'aaa'.replace('a', 'b', 2) }}]", {}, "[x][x>>][x][bba]"],
  [
    "str.startswith / endswith with tuples, find, count",
    "{{ 'abc'.startswith('ab') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('bc') }} {{ 'abcb'.find('b') }} {{ 'abcb'.rfind('b') }} {{ 'abcb'.count('b') }}",
    {},
    "True True True 1 3 2",
  ],
  ["str.upper / lower / title / capitalize", "{{ 'aB'.upper() }} {{ 'aB'.lower() }} {{ \"it's a test\".title() }} {{ 'hELLO'.capitalize() }}", {}, "AB ab It'S A Test Hello"],
  [
    "str.format",
    "{{ '{} and {}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}: {v:.2f}'.format(name='pi', v=3.14159) }} {{ '{:>5}|{:<4}|{:^5}'.format('a', 'b', 'c') }} {{ '{!r}'.format('q') }} {{ '{{}}'.format() }}",
    {},
    "a and 1 xyx pi: 3.14     a|b   |  c   'q' {}",
  ],
  ["% formatting", "{{ '%s is %d years' % ('Al', 30) }} {{ '%.3f' % 2 }} {{ '%5s|%-5s|' % ('a', 'b') }} {{ '%(a)s' % {'a': 1} }} {{ '100%%' % () }}", {}, "Al is 30 years 2.000     a|b    | 1 100%"],
  [
    "slicing strings and lists",
    "{{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ [1, 2, 3, 4][-2:] }} {{ [1, 2, 3, 4][::2] }} {{ 'hello'[-1] }} {{ ms[1:] | length }}",
    { ms: MSGS },
    "el olleh [3, 4] [1, 3] o 3",
  ],
  [
    "in on strings, lists and dicts",
    "{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'role' in ms[0] }} {{ 'x' not in ms[0] }} {{ '<think>' in ms[0].content }}",
    { ms: MSGS },
    "True True True True False",
  ],
  ["dict methods", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}", { d: { a: 1, b: 2 } }, "['a', 'b'] [1, 2] 1 dflt None"],
  ["a key named like a dict method", "{{ d['items'] }} {{ d.items is defined }}", { d: { items: 3 } }, "3 True"],
  [
    "type tests",
    "{{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ 1 is number }} {{ true is number }} {{ none is none }} {{ [] is sequence }} {{ true is boolean }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ 1 is float }} {{ {} is string }}",
    {},
    "True True True True True True True True True True False True False False",
  ],
  [
    "comparison and number tests",
    "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is eq 'a' }} {{ 2 is gt 1 }} {{ 'x' is in ['x'] }} {{ 'abc' is lower }} {{ x is not none }}",
    { x: 0 },
    "True True True True True True True True",
  ],
];

describe("jinja filters, methods and tests", () => {
  for (const [name, source, context, expected] of CASES) {
    test(name, () => {
      if (typeof expected === "string") assert.equal(new JinjaTemplate(source).render(context), expected);
      else assert.throws(() => new JinjaTemplate(source).render(context), expected.error);
    });
  }
});
