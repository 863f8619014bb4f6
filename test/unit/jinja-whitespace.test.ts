/**
 * Parley's Jinja engine: whitespace control as Hugging Face configures Jinja2 (trim_blocks,
 * lstrip_blocks), `-`/`+` markers, comments, raw blocks, and the dropped trailing newline.
 * Expected outputs follow Jinja2 3.1's rules (checked against Python's jinja2 when written).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { JinjaTemplate } from "../../src/chat/jinja/index.ts";

export type JinjaCase = readonly [name: string, template: string, context: Record<string, unknown>, expected: string | { error: RegExp }];

export const CASES: readonly JinjaCase[] = [
  ["trim_blocks drops the newline after a block tag", "{% if true %}\nyes\n{% endif %}\nafter", {}, "yes\nafter"],
  ["lstrip_blocks drops indentation before a block tag", "<\n    {% if true %}\n    x\n    {% endif %}\n>", {}, "<\n    x\n>"],
  ["lstrip does not apply to {{ }}", "a\n  {{ 'v' }}\nb", {}, "a\n  v\nb"],
  ["{%+ keeps the indentation", "a\n  {%+ if true %}x{% endif %}", {}, "a\n  x"],
  ["+%} keeps the newline", "{% if true +%}\nx{% endif %}", {}, "\nx"],
  ["- strips all whitespace on its side", "a  \n\n  {%- if true -%}  \n\n b {{- ' c ' -}} \n d{% endif %}", {}, "ab c d"],
  ["a tag after text on the same line keeps the spaces", "x  {% if true %}y{% endif %}", {}, "x  y"],
  ["comments are trimmed like blocks", "a\n  {# note #}\nb", {}, "a\nb"],
  ["comment with - strips", "a   {#- note -#}   b", {}, "ab"],
  ["one trailing newline is dropped", "x\n", {}, "x"],
  ["only one trailing newline is dropped", "x\n\n", {}, "x\n"],
  ["CRLF reads as LF", "{% if true %}\r\na\r\nb{% endif %}", {}, "a\nb"],
  ["raw keeps tags verbatim", "{% raw %}{{ x }}{% if %}{% endraw %}", {}, "{{ x }}{% if %}"],
  ["variable tags do not trim the newline", "{{ 'a' }}\nb", {}, "a\nb"],
  ["a dict literal inside {{ }} (closing braces)", "{{ {'a': {'b': 1}} }}", {}, "{'a': {'b': 1}}"],
  [
    "ChatML-style loop",
    "{% for m in messages %}\n<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}\n",
    {
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "yo" },
      ],
    },
    "<|user|>\nhi\n<|assistant|>\nyo\n",
  ],
];

export function runCases(cases: readonly JinjaCase[]): void {
  for (const [name, source, context, expected] of cases) {
    test(name, () => {
      if (typeof expected === "string") {
        assert.equal(new JinjaTemplate(source).render(context), expected);
      } else {
        assert.throws(() => new JinjaTemplate(source).render(context), expected.error);
      }
    });
  }
}

describe("jinja whitespace control", () => runCases(CASES));
