import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModelTemplates } from "../../src/engines/llama/model-templates.ts";
import type { Logger } from "../../src/util/logger.ts";

const warnings: unknown[] = [];
const logger = { warn: (...args: unknown[]) => warnings.push(args), info() {}, debug() {}, error() {} } as unknown as Logger;
const isToken = () => false;

describe("model templates", () => {
  it("uses the GGUF's tool_use template beside its default one, each with its own detection", () => {
    const templates = loadModelTemplates({
      override: undefined,
      metadata: {
        chat_template: "{% for m in messages %}{{ m.content }}{% endfor %}{{ (messages[-1].content.split('</think>'))[-1] }}",
        "chat_template.tool_use": "{% for t in tools %}<tool_call>{{ t | tojson }}</tool_call>{% endfor %}",
      },
      isToken,
      logger,
    });
    assert.equal(templates.source, "gguf");
    assert.deepEqual(templates.default.reasoning, { kind: "tags", open: "<think>", close: "</think>" });
    assert.ok(templates.toolUse !== undefined);
    assert.equal(templates.toolUse.reasoning, undefined);
    assert.equal(templates.toolUse.toolFamily.syntax.family, "hermes");
  });

  it("falls back to ChatML for a default template that does not parse, and drops a broken named one", () => {
    warnings.length = 0;
    const templates = loadModelTemplates({ override: undefined, metadata: { chat_template: "{% for %}", "chat_template.tool_use": "{{ unclosed" }, isToken, logger });
    assert.equal(templates.source, "default");
    assert.equal(templates.toolUse, undefined);
    assert.equal(warnings.length, 2);
  });

  it("lets --chat-template-file replace every template of the GGUF", () => {
    const templates = loadModelTemplates({ override: "{{ messages[0].content }}", metadata: { chat_template: "x", "chat_template.tool_use": "y" }, isToken, logger });
    assert.deepEqual([templates.source, templates.toolUse], ["override", undefined]);
  });
});
