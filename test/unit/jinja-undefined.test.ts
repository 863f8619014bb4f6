/**
 * Parley's Jinja engine: Jinja2's default Undefined. Missing keys and attributes are undefined
 * (not errors); undefined prints as "", is false, iterates as empty, and text filters read it as
 * ""; attribute access, arithmetic and calls on it raise. None is not undefined: `none.x` is
 * undefined, `none | selectattr` an empty sequence. The shapes come from real tool-use templates
 * (a tool without description, a parameter with `enum` but no `type`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { JinjaTemplate } from "../../src/chat/jinja/index.ts";

type JinjaCase = readonly [name: string, template: string, context: Record<string, unknown>, expected: string | { error: RegExp }];

const TOOL = { type: "function", function: { name: "ping", parameters: { properties: { unit: { enum: ["c", "f"] } } } } };

export const CASES: readonly JinjaCase[] = [
  ["missing variable prints nothing", "[{{ nothing }}]", {}, "[]"],
  ["missing key and attribute are undefined", "{{ d.nope is defined }} {{ d['nope'] is undefined }} {{ d.nope }}|", { d: {} }, "False True |"],
  ["text filters read undefined as ''", "[{{ t.function.description | trim }}][{{ x | string }}][{{ x | upper }}][{{ x | length }}][{{ x | default('dflt') }}]", { t: TOOL }, "[][][][0][dflt]"],
  ["lookup with an undefined key", "{% set m = {'string': 'str'} %}[{{ m[spec.type] }}]", { spec: { enum: [1] } }, "[]"],
  ["iterating undefined is empty", "{% for x in nothing %}x{% else %}empty{% endfor %}", {}, "empty"],
  ["undefined is false and equal only to undefined", "{{ not nothing }} {{ nothing == 'a' }} {{ nothing != 'a' }} {{ 'a' in nothing }}", {}, "True False True False"],
  ["attribute of undefined raises", "{{ nothing.attr }}", {}, { error: /undefined/ }],
  ["arithmetic on undefined raises", "{{ nothing + 1 }}", {}, { error: /undefined/ }],
  ["calling undefined raises", "{{ nothing() }}", {}, { error: /undefined/ }],
  ["~ with undefined is fine", "[{{ 'a' ~ nothing }}]", {}, "[a]"],
  ["attribute of none is undefined", "{{ x.foo is defined }}", { x: null }, "False"],
  ["iterating none raises", "{% for t in x %}{% endfor %}", { x: null }, { error: /not iterable/ }],
  ["none | selectattr is empty and lazy", "{% set f = x | selectattr('type', 'equalto', 'code') | list %}{{ f }}", { x: null }, "[]"],
  ["a generator is true even when empty", "{{ 'yes' if ([] | select) else 'no' }}", {}, "yes"],
  ["default(boolean=true) replaces falsy values", "{{ '' | default('d', true) }} {{ none | default('d') }}", {}, "d None"],
  ["first and last of empty are undefined", "[{{ [] | first }}][{{ [] | last }}]", {}, "[][]"],
  ["undefined | tojson raises", "{{ x.nope | tojson }}", { x: {} }, { error: /not JSON serializable/ }],
  ["loop.previtem is undefined on the first item", "{% for a in [1, 2] %}{{ loop.previtem is defined }}{% endfor %}", {}, "FalseTrue"],
  ["unknown filter fails at compile time outside an if", "{% for x in [] %}{{ x | nosuch }}{% endfor %}", {}, { error: /No filter named 'nosuch'/ }],
  ["unknown filter inside an if only fails when used", "{% if false %}{{ x | nosuch }}{% endif %}ok", {}, "ok"],
  ["raise_exception carries its message", "{{ raise_exception('Bad role: ' ~ 'x') }}", {}, { error: /^TemplateError: Bad role: x$/ }],
  ["mutating methods are refused by the sandbox", "{% set l = [1] %}{{ l.append(2) }}", {}, { error: /unsafe/ }],
  ["a refused method is still just false in a test", "{% set l = [1] %}{{ l.append is defined }}", {}, "False"],
];

describe("jinja undefined and errors", () => {
  for (const [name, source, context, expected] of CASES) {
    test(name, () => {
      if (typeof expected === "string") assert.equal(new JinjaTemplate(source).render(context), expected);
      else
        assert.throws(
          () => new JinjaTemplate(source).render(context),
          (error: Error) => expected.error.test(`${error.name}: ${error.message}`),
        );
    });
  }
});
