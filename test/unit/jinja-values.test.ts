/**
 * Parley's Jinja engine: values print and compute as Python's: `1.0` stays a float, `True`,
 * `None`, lists/dicts/tuples in repr form, `/` vs `//`, `%` on negatives, integer dict keys,
 * Hugging Face's `tojson` (`", "` / `": "` separators, non-ASCII kept, indent, sort_keys).
 * Expected outputs follow Python/Jinja2 3.1 (checked against python3-jinja2 when written).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { JinjaTemplate } from "../../src/chat/jinja/index.ts";

type JinjaCase = readonly [name: string, template: string, context: Record<string, unknown>, expected: string | { error: RegExp }];

export const CASES: readonly JinjaCase[] = [
  ["floats keep .0", "{{ 1.0 }} {{ 2.5 }} {{ 1e16 }} {{ 1.5e-5 }} {{ 0.1 + 0.2 }}", {}, "1.0 2.5 1e+16 1.5e-05 0.30000000000000004"],
  ["true division is a float, floor division an int", "{{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7.0 // 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }}", {}, "2.0 3 -4 2 3.0 1024 0.5"],
  ["booleans and None print as Python", "{{ true }} {{ False }} {{ none }} {{ x }}", { x: null }, "True False None None"],
  [
    "lists, dicts and tuples print as repr",
    `{{ [1, 'a', none, true, 1.5] }} {{ {'k': "it's", 'n': [1]} }} {{ (1,) }} {{ (1, 2) }} {{ () }}`,
    {},
    `[1, 'a', None, True, 1.5] {'k': "it's", 'n': [1]} (1,) (1, 2) ()`,
  ],
  ["repr escapes control characters", "{{ ['a\\nb', 'tab\\t', 'back\\\\slash'] }}", {}, "['a\\nb', 'tab\\t', 'back\\\\slash']"],
  ["context data prints as repr too", "{{ messages[0] }}", { messages: [{ role: "user", content: "hi", n: 2.5 }] }, "{'role': 'user', 'content': 'hi', 'n': 2.5}"],
  ["integer dict keys", "{% set d = {1: 'one', 2: 'two'} %}{{ d[1] }} {{ d }} {{ d[3] is defined }}", {}, "one {1: 'one', 2: 'two'} False"],
  ["1 == 1.0 == True", "{{ 1 == 1.0 }} {{ 1 == true }} {{ 'a' == 'a' }} {{ [1, [2]] == [1, [2]] }} {{ {'a': 1} == {'a': 1} }}", {}, "True True True True True"],
  ["string concatenation and ~", "{{ 'a' + 'b' }} {{ 'n=' ~ 3 ~ none ~ 1.0 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1] + [2] }}", {}, "ab n=3None1.0 ababab [1, 1] [1, 2]"],
  ["'a' + 1 is a TypeError", "{{ 'a' + 1 }}", {}, { error: /can only concatenate str/ }],
  ["mixed ordering is a TypeError", "{{ 1 < 'a' }}", {}, { error: /not supported/ }],
  ["chained comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}", {}, "True False"],
  ["and/or return operands", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }}|{{ none or [] }}", {}, "x b |[]"],
  ["Python truthiness", "{% for v in [0, 0.0, '', [], {}, none, 'a', [0], 1] %}{{ 'T' if v else 'F' }}{% endfor %}", {}, "FFFFFFTTT"],
  ["tojson uses HF's separators and keeps non-ASCII", "{{ {'a': 1, 'b': [1.0, true, none], 'c': 'ünï \"q\"\\n'} | tojson }}", {}, `{"a": 1, "b": [1.0, true, null], "c": "ünï \\"q\\"\\n"}`],
  ["tojson indent uses ',' between items", "{{ {'a': [1, 2], 'b': {}} | tojson(indent=2) }}", {}, '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}'],
  ["tojson sort_keys and separators", "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ {'a': [1, 2]} | tojson(separators=(',', ':')) }}", {}, '{"a": 2, "b": 1} {"a":[1,2]}'],
  ["tojson of integer keys and tuples", "{{ {1: (1, 2)} | tojson }}", {}, '{"1": [1, 2]}'],
  ["tojson of a context float", "{{ x | tojson }}", { x: { t: 21.5, n: 3 } }, '{"t": 21.5, "n": 3}'],
  ["tojson refuses Undefined", "{{ missing | tojson }}", {}, { error: /not JSON serializable/ }],
  ["negative numbers and unary minus", "{{ -3 }} {{ -(1.5) }} {{ - 2 | abs }}", {}, "-3 -1.5 2"],
  ["integer literals", "{{ 1_000 }} {{ 0x10 }} {{ 0b11 }}", {}, "1000 16 3"],
  ["string literal escapes", `{{ 'a\\tb' }}|{{ "\\u00e9" }}|{{ 'x\\'y' }}|{{ 'no\\d' }}|{{ 'ab' 'cd' }}`, {}, "a\tb|é|x'y|no\\d|abcd"],
];

describe("jinja values", () => {
  for (const [name, source, context, expected] of CASES) {
    test(name, () => {
      if (typeof expected === "string") assert.equal(new JinjaTemplate(source).render(context), expected);
      else assert.throws(() => new JinjaTemplate(source).render(context), expected.error);
    });
  }
});
