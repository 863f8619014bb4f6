/**
 * Models whose template no family file names: their tool-call format is derived from the template
 * at load (derive.ts), reported in /v1/models, enforced by the grammar and read back by the parser;
 * in each call shape (a JSON list of calls, one element per parameter).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, foldStream, TEST_TOOLS } from "../support/tools.ts";

/** Calls as a JSON list between `<actions>` markers (a style no family file names). */
const JSON_LIST = [
  "{%- if tools %}<|turn|>system\nTools: {{ tools | tojson }}<|end|>\n{% endif %}",
  "{%- for m in messages %}<|turn|>{{ m.role }}\n",
  "{%- if m.tool_calls %}<actions>[{% for c in m.tool_calls %}",
  '{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}{% if not loop.last %}, {% endif %}',
  "{%- endfor %}]</actions>{% else %}{{ m.content }}{% endif %}<|end|>\n{% endfor %}",
  "{%- if add_generation_prompt %}<|turn|>assistant\n{% endif %}",
].join("");

/** Calls as `<act do="name">` elements, one `<with key="…">value</with>` per parameter. */
const PER_PARAMETER = [
  "{%- if tools %}<|turn|>system\nTools: {{ tools | tojson }}<|end|>\n{% endif %}",
  "{%- for m in messages %}<|turn|>{{ m.role }}\n",
  '{%- if m.tool_calls %}{% for c in m.tool_calls %}<act do="{{ c.function.name }}">',
  '{%- for k, v in c.function.arguments.items() %}<with key="{{ k }}">{{ v if v is string else v | tojson }}</with>{% endfor %}</act>',
  "{%- endfor %}{% else %}{{ m.content }}{% endif %}<|end|>\n{% endfor %}",
  "{%- if add_generation_prompt %}<|turn|>assistant\n{% endif %}",
].join("");

const CASES = [
  { name: "a JSON list", template: JSON_LIST, marker: "<actions>", history: '<actions>[{"name": "get_weather", "arguments": {"city": "Oslo"}}]</actions>' },
  { name: "one element per parameter", template: PER_PARAMETER, marker: "<act ", history: '<act do="get_weather"><with key="city">Oslo</with></act>' },
];

for (const { name, template: TEMPLATE, marker, history: rendered } of CASES)
  describe(`tool calling: a format derived from the template (${name})`, () => {
    let t: TestServer;
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "parley-derived-"));
      const file = join(dir, "template.jinja");
      await writeFile(file, TEMPLATE);
      t = await startTestServer(["--chat-template-file", file, "--ctx-size", "2048"]);
    });
    after(async () => {
      await t?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("is reported as derived", async () => {
      const entry = (await (await fetch(`${t.url}/v1/models/${MODEL}`)).json()) as { parley: { tool_calls: { format: string; source: string } } };
      assert.deepEqual([entry.parley.tool_calls.format, entry.parley.tool_calls.source], ["derived", "derived"]);
    });

    it("required: schema-valid calls in the template's own format, streamed = non-streamed, never in content", async () => {
      let complete = 0;
      for (let seed = 1; seed <= 4; seed++) {
        const body = { model: MODEL, messages: [{ role: "user", content: "Weather in Oslo?" }], tools: TEST_TOOLS, tool_choice: "required", max_tokens: 300, temperature: 1, seed };
        const result = (await (await postChat(t.url, body)).json()) as ChatCompletion;
        const choice = result.choices[0];
        const calls = choice?.message.tool_calls ?? [];
        assert.ok(calls.length >= 1, JSON.stringify(choice?.message));
        assert.ok(!(choice?.message.content ?? "").includes(marker));
        if (choice?.finish_reason === "length") continue;
        complete++;
        for (const call of calls) if (call.type === "function") assertValidCall(call.function);
        const streamed = foldStream(parseSse(await (await postChat(t.url, { ...body, stream: true })).text()));
        assert.deepEqual(
          streamed.calls.map((c) => [c.name, c.arguments]),
          calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
        );
      }
      assert.ok(complete >= 2, `only ${complete} of 4 completed`);
    });

    it("none never calls; history renders in the template's format", async () => {
      const none = (await (
        await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Hi" }], tools: TEST_TOOLS, tool_choice: "none", max_tokens: 20, seed: 2 })
      ).json()) as ChatCompletion;
      assert.equal(none.choices[0]?.message.tool_calls, undefined);
      const history = [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Oslo"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "3 C" },
      ];
      const { prompt } = (await (
        await fetch(`${t.url}/apply-template`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: history, tools: TEST_TOOLS }) })
      ).json()) as { prompt: string };
      assert.ok(prompt.includes(rendered), prompt);
    });
  });
