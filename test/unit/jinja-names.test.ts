import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JinjaTemplate } from "../../src/chat/jinja/index.ts";

const render = (source: string) => new JinjaTemplate(source).render({});

describe("jinja: names a template cannot reach", () => {
  it("finds no JavaScript object members as methods, filters or tests", () => {
    assert.equal(render("{{ 'a'.toString is defined }}|{{ {}.constructor is defined }}|{{ [].constructor is defined }}|{{ 'a'.__proto__ is defined }}"), "False|False|False|False");
    assert.throws(() => render("{{ 'a' | constructor }}"), /No filter named 'constructor'/);
    assert.throws(() => render("{{ 'a' is toString }}"), /No test named 'toString'/);
    assert.throws(() => render("{{ 'a'.hasOwnProperty('x') }}"), /has no attribute 'hasOwnProperty'/);
  });
});
