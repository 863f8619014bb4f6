import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatTemplate, DEFAULT_CHAT_TEMPLATE } from "../../src/chat/template.ts";
import { genericFamily, genericToolInstructions } from "../../src/chat/tools/families/generic.ts";
import type { ChatMessage } from "../../src/domain/chat.ts";
import type { ToolDefinition } from "../../src/domain/tools.ts";

const tools: ToolDefinition[] = [{ name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: false }];
const prepare = (messages: ChatMessage[], offered = tools): ChatMessage[] => genericFamily.prepareMessages?.(messages, offered) ?? [];

describe("generic tool family: conversations for templates that know no tools", () => {
  test("the tools are described in a system message, added or appended", () => {
    const added = prepare([{ role: "user", content: "hi" }]);
    assert.deepEqual(added, [
      { role: "system", content: genericToolInstructions(tools) },
      { role: "user", content: "hi" },
    ]);
    assert.ok(genericToolInstructions(tools).includes('{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}'));
    const appended = prepare([
      { role: "developer", content: "Be brief." },
      { role: "user", content: "hi" },
    ]);
    assert.equal(appended[0]?.role, "developer");
    assert.equal(appended[0]?.content, `Be brief.\n\n${genericToolInstructions(tools)}`);
    assert.deepEqual(prepare([{ role: "user", content: "hi" }], []), [{ role: "user", content: "hi" }]);
  });

  test("calls become the envelope; results become one user message, merged with the next user turn", () => {
    const out = prepare([
      { role: "user", content: "Weather in Oslo and Rome?" },
      {
        role: "assistant",
        content: "Checking.",
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: '{"city": "Oslo"}' },
          { id: "call_2", name: "get_weather", arguments: "not json" },
        ],
      },
      { role: "tool", content: "3 C", toolCallId: "call_1" },
      { role: "tool", content: "18 C", toolCallId: "call_2" },
      { role: "user", content: "Thanks. And Paris?" },
    ]);
    assert.deepEqual(out.slice(1), [
      { role: "user", content: "Weather in Oslo and Rome?" },
      { role: "assistant", content: 'Checking.\n{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "get_weather", "arguments": "not json"}]}' },
      { role: "user", content: "Function results:\n[call_1] get_weather: 3 C\n[call_2] get_weather: 18 C\n\nThanks. And Paris?" },
    ]);
    const trailing = prepare([
      { role: "user", content: "q" },
      { role: "assistant", content: "", toolCalls: [{ id: "c", name: "get_weather", arguments: "{}" }] },
      { role: "tool", content: "r", toolCallId: "c" },
    ]);
    assert.deepEqual(trailing.at(-1), { role: "user", content: "Function results:\n[c] get_weather: r" });
  });

  test("renders through the default ChatML template", () => {
    const text = new ChatTemplate(DEFAULT_CHAT_TEMPLATE).render(prepare([{ role: "user", content: "hi" }]), { addGenerationPrompt: true });
    assert.ok(text.startsWith("<|im_start|>system\nYou can call functions."));
    assert.ok(text.endsWith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"));
  });
});

describe("renderConversation", () => {
  test("a template that refuses `system` gets the tool instructions in the first user message", async () => {
    const { renderConversation } = await import("../../src/chat/tools/render-conversation.ts");
    const noSystem = new ChatTemplate(
      "{%- for m in messages -%}{%- if m.role == 'system' -%}{{ raise_exception('System role not supported') }}{%- endif -%}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{%- endfor -%}",
    );
    const text = await renderConversation(
      noSystem,
      genericFamily,
      { messages: [{ role: "user", content: "hi" }], tools: { definitions: tools, choice: { kind: "auto" }, parallel: false, legacy: false } },
      {},
    );
    assert.equal(text, `<user>${genericToolInstructions(tools, false)}\n\nhi</user>`);
    assert.ok(text.includes("Make one call at a time."));
  });

  test("Mistral: earlier call ids become 9 alphanumeric characters, call and result alike", async () => {
    const { renderConversation } = await import("../../src/chat/tools/render-conversation.ts");
    const { mistralFamily, mistralCallId } = await import("../../src/chat/tools/families/mistral.ts");
    const template = new ChatTemplate(
      "{%- for m in messages -%}{%- if m.tool_calls -%}{%- for c in m.tool_calls -%}{%- if c.id | length != 9 -%}{{ raise_exception('ids must have length 9') }}{%- endif -%}[{{ c.id }}]{%- endfor -%}{%- elif m.role == 'tool' -%}({{ m.tool_call_id }}){%- endif -%}{%- endfor -%}",
    );
    const id = "call_ChB8sGs7dZTgEWvVgbLfZmSf";
    const messages: ChatMessage[] = [
      { role: "user", content: "q" },
      { role: "assistant", content: "", toolCalls: [{ id, name: "get_weather", arguments: "{}" }] },
      { role: "tool", content: "r", toolCallId: id },
    ];
    const short = mistralCallId(id);
    assert.match(short, /^[a-zA-Z0-9]{9}$/);
    assert.equal(mistralCallId("abcDEF123"), "abcDEF123");
    assert.equal(await renderConversation(template, mistralFamily, { messages, tools: undefined }, {}), `[${short}](${short})`);
  });
});

describe("generic tool family: templates that read tools themselves", () => {
  test("get `tools` too (a Command R+-style tool-use template fails without them)", async () => {
    const { renderConversation } = await import("../../src/chat/tools/render-conversation.ts");
    const source =
      "{% if tools is not defined or tools is none %}{{ raise_exception('tools needed') }}{% endif %}{% for t in tools %}[{{ t.function.name }}]{% endfor %}{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}";
    const template = new ChatTemplate(source);
    const out = await renderConversation(
      template,
      genericFamily,
      { messages: [{ role: "user", content: "hi" }], tools: { definitions: tools, choice: { kind: "auto" }, parallel: true, legacy: false } as never },
      {},
    );
    assert.ok(out.startsWith("[get_weather]system:"), out);
    assert.ok(out.endsWith("user:hi;"));
  });
});
