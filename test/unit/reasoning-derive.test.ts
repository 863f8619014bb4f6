/** Thought markers derived from a template's rendering of earlier thoughts (templates written here). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deriveReasoningFormat } from "../../src/chat/reasoning/derive.ts";
import { ChatTemplate } from "../../src/chat/template.ts";

const derive = (thought: string) => {
  const source = `{% for m in messages %}<|turn|>{{ m.role }}\n{% if m.reasoning_content %}${thought}{% endif %}{{ m.content }}<|end|>\n{% endfor %}`;
  const template = new ChatTemplate(source);
  return deriveReasoningFormat((messages) => template.render(messages, { addGenerationPrompt: false }));
};

describe("reasoning format derivation", () => {
  test("reads the marker before the thought and the one between it and the answer", () => {
    assert.deepEqual(derive("<x:think>{{ m.reasoning_content }}</x:think>\n\n"), { kind: "tags", open: "<x:think>", close: "</x:think>" });
    assert.deepEqual(derive("[REASON]\n{{ m.reasoning_content }}\n[ANSWER NOW]\n"), { kind: "tags", open: "[REASON]", close: "[ANSWER NOW]" });
  });

  test("an opening marker of the turn itself: the thought follows the header", () => {
    const template = new ChatTemplate("{% for m in messages %}<|{{ m.role }}|>\n{% if m.reasoning_content %}{{ m.reasoning_content }}\n[FINAL]\n{% endif %}{{ m.content }}\n{% endfor %}");
    assert.deepEqual(
      deriveReasoningFormat((messages) => template.render(messages, { addGenerationPrompt: false })),
      { kind: "tags", open: "<|assistant|>", close: "[FINAL]" },
    );
  });

  test("nothing for templates that drop thoughts, write them without markup, or put several markers after them", () => {
    assert.equal(derive(""), undefined);
    assert.equal(derive("Thinking: {{ m.reasoning_content }}\nAnswer: "), undefined);
    assert.equal(derive("<think>{{ m.reasoning_content }}</think><answer>"), undefined);
  });
});
