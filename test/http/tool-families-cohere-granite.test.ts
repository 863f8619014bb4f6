/**
 * Tool calling end to end for families recognised from a client's template: Granite 3's
 * `<|tool_call|>[…]` and Command R7B's `<|START_ACTION|>[{"tool_call_id", "tool_name",
 * "parameters"}]<|END_ACTION|>` (templates written here in each family's style). The grammar
 * writes the family's format, the parser reads it back, and streamed calls equal non-streamed ones.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, foldStream, TEST_TOOLS } from "../support/tools.ts";

const GRANITE_STYLE = [
  "{%- if tools %}<|start_of_role|>available_tools<|end_of_role|>{{ tools | tojson }}<|end_of_text|>\n{% endif %}",
  "{%- for m in messages %}<|start_of_role|>{{ m.role }}<|end_of_role|>",
  "{%- if m.tool_calls %}<|tool_call|>{{ m.tool_calls | map(attribute='function') | list | tojson }}{% else %}{{ m.content }}{% endif %}<|end_of_text|>\n",
  "{%- endfor %}{% if add_generation_prompt %}<|start_of_role|>assistant<|end_of_role|>{% endif %}",
].join("");

const COMMAND_R7B_STYLE = [
  "{%- for m in messages %}<|START_OF_TURN_TOKEN|>{{ m.role }}",
  "{%- if m.tool_calls %}<|START_ACTION|>[{% for tc in m.tool_calls %}",
  '{"tool_call_id": "{{ loop.index0 }}", "tool_name": "{{ tc.function.name }}", "parameters": {{ tc.function.arguments | tojson }}}',
  "{% if not loop.last %}, {% endif %}{% endfor %}]<|END_ACTION|>",
  "{%- else %}<|START_RESPONSE|>{{ m.content }}<|END_RESPONSE|>{% endif %}<|END_OF_TURN_TOKEN|>",
  "{%- endfor %}{% if add_generation_prompt %}<|START_OF_TURN_TOKEN|>assistant{% endif %}",
].join("");

const FAMILIES = [
  { name: "granite", template: GRANITE_STYLE, marker: "<|tool_call|>", history: '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Oslo"}}]' },
  {
    name: "command-r7b",
    template: COMMAND_R7B_STYLE,
    marker: "<|START_ACTION|>",
    history: '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"city": "Oslo"}}]<|END_ACTION|>',
  },
];

describe("tool calling: families of client templates", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  for (const family of FAMILIES) {
    const post = async (body: Record<string, unknown>) => {
      const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Weather in Oslo?" }], tools: TEST_TOOLS, chat_template: family.template, max_tokens: 300, ...body });
      assert.equal(res.status, 200, await res.clone().text());
      return res;
    };

    it(`${family.name}: required calls are schema-valid, in the family's format, streamed = non-streamed`, async () => {
      let complete = 0;
      for (let seed = 1; seed <= 4; seed++) {
        const body = { tool_choice: "required", temperature: 1, seed };
        const result = (await (await post(body)).json()) as ChatCompletion;
        const choice = result.choices[0];
        const calls = choice?.message.tool_calls ?? [];
        assert.ok(calls.length >= 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
        assert.ok(!(choice?.message.content ?? "").includes(family.marker));
        if (choice?.finish_reason === "length") continue;
        complete++;
        assert.equal(choice?.finish_reason, "tool_calls");
        for (const call of calls) if (call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
        const streamed = foldStream(parseSse(await (await post({ ...body, stream: true })).text()));
        assert.deepEqual(
          streamed.calls.map((c) => [c.name, c.arguments]),
          calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
        );
      }
      assert.ok(complete >= 2, `only ${complete} of 4 completed`);
    });

    it(`${family.name}: a named call, none never calls, and history renders in the family's format`, async () => {
      const named = (await (await post({ tool_choice: { type: "function", function: { name: "get_weather" } }, temperature: 1, seed: 9 })).json()) as ChatCompletion;
      assert.deepEqual(
        named.choices[0]?.message.tool_calls?.map((c) => (c.type === "function" ? c.function.name : "")),
        ["get_weather"],
      );
      const none = (await (await post({ tool_choice: "none", temperature: 1, seed: 9, max_tokens: 30 })).json()) as ChatCompletion;
      assert.equal(none.choices[0]?.message.tool_calls, undefined);
      const history = [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Oslo"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "3 C" },
      ];
      const res = await fetch(`${t.url}/apply-template`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, messages: history, tools: TEST_TOOLS, chat_template: family.template }),
      });
      const { prompt } = (await res.json()) as { prompt: string };
      assert.ok(prompt.includes(family.history), prompt);
    });
  }
});
