/**
 * Tool calling end to end for the families that write the function name outside the JSON
 * arguments, recognised from a client's template (templates written here in each family's
 * style): Mistral v11 `[TOOL_CALLS]name[ARGS]{…}`, DeepSeek V3.1 and V3/R1, Kimi K2 and
 * Functionary v3.1 and v3.2. The default test model has no control tokens for their markers, so they are
 * plain text here. The grammar writes the family's format, the parser reads it back, streamed
 * calls equal non-streamed ones, and earlier calls render in the family's format.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { mistralCallId } from "../../src/chat/tools/families/mistral.ts";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, foldStream, TEST_TOOLS } from "../support/tools.ts";

const MISTRAL_V11_STYLE = [
  "{%- if tools %}[AVAILABLE_TOOLS]{{ tools | tojson }}[/AVAILABLE_TOOLS]{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'user' %}[INST]{{ m.content }}[/INST]",
  "{%- elif m.role == 'assistant' and m.tool_calls %}{% for tc in m.tool_calls %}",
  "{%- if tc.id | length != 9 %}{{ raise_exception('call ids have 9 characters') }}{% endif %}",
  "[TOOL_CALLS]{{ tc.function.name }}[CALL_ID]{{ tc.id }}[ARGS]{{ tc.function.arguments | tojson }}{% endfor %}</s>",
  "{%- elif m.role == 'tool' %}[TOOL_RESULTS]{{ m.tool_call_id }}[TOOL_CONTENT]{{ m.content }}[/TOOL_RESULTS]",
  "{%- else %}{{ m.content }}</s>{% endif %}",
  "{%- endfor %}",
].join("");

const DEEPSEEK_V31_STYLE = [
  "{{ bos_token }}{% if tools %}## Tools\n{% for t in tools %}{{ t.function | tojson }}\n{% endfor %}{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'user' %}<｜User｜>{{ m.content }}",
  "{%- elif m.role == 'assistant' and m.tool_calls %}<｜Assistant｜><｜tool▁calls▁begin｜>{% for tc in m.tool_calls %}",
  "<｜tool▁call▁begin｜>{{ tc.function.name }}<｜tool▁sep｜>{{ tc.function.arguments | tojson }}<｜tool▁call▁end｜>{% endfor %}<｜tool▁calls▁end｜><｜end▁of▁sentence｜>",
  "{%- elif m.role == 'tool' %}<｜tool▁output▁begin｜>{{ m.content }}<｜tool▁output▁end｜>",
  "{%- else %}<｜Assistant｜>{{ m.content }}<｜end▁of▁sentence｜>{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<｜Assistant｜>{% endif %}",
].join("");

const DEEPSEEK_V3_STYLE = [
  "{{ bos_token }}{% if tools %}Functions: {{ tools | tojson }}\n{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'user' %}<｜User｜>{{ m.content }}",
  "{%- elif m.role == 'assistant' and m.tool_calls %}<｜Assistant｜><｜tool▁calls▁begin｜>{% for tc in m.tool_calls %}",
  "{%- if not loop.first %}{{ '\\n' }}{% endif %}",
  "<｜tool▁call▁begin｜>{{ tc.type }}<｜tool▁sep｜>{{ tc.function.name }}{{ '\\n```json\\n' }}{{ tc.function.arguments | tojson }}{{ '\\n```' }}<｜tool▁call▁end｜>",
  "{%- endfor %}<｜tool▁calls▁end｜><｜end▁of▁sentence｜>",
  "{%- elif m.role == 'tool' %}<｜tool▁output▁begin｜>{{ m.content }}<｜tool▁output▁end｜>",
  "{%- else %}<｜Assistant｜>{{ m.content }}<｜end▁of▁sentence｜>{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<｜Assistant｜>{% endif %}",
].join("");

const KIMI_K2_STYLE = [
  "{%- if tools %}<|im_system|>tool_declare<|im_middle|>{{ tools | tojson }}<|im_end|>{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'assistant' %}<|im_assistant|>assistant<|im_middle|>{% elif m.role == 'user' %}<|im_user|>user<|im_middle|>{% else %}<|im_system|>{{ m.role }}<|im_middle|>{% endif %}",
  "{%- if m.role == 'assistant' and m.tool_calls %}<|tool_calls_section_begin|>{% for tc in m.tool_calls %}",
  "<|tool_call_begin|>functions.{{ tc.function.name }}:{{ loop.index0 }}<|tool_call_argument_begin|>{{ tc.function.arguments | tojson }}<|tool_call_end|>",
  "{%- endfor %}<|tool_calls_section_end|>",
  "{%- elif m.role == 'tool' %}## Return of {{ m.tool_call_id }}\n{{ m.content }}",
  "{%- else %}{{ m.content }}{% endif %}<|im_end|>",
  "{%- endfor %}{% if add_generation_prompt %}<|im_assistant|>assistant<|im_middle|>{% endif %}",
].join("");

const FUNCTIONARY_V31_STYLE = [
  "<|start_header_id|>system<|end_header_id|>\n\n",
  "{%- if tools %}You may call these functions:\n{% for t in tools %}{{ t.function | tojson }}\n{% endfor %}",
  "Call one as <function=NAME>ARGUMENTS</function>.{% endif %}<|eot_id|>",
  "{%- for m in messages %}",
  "{%- if m.role == 'tool' %}<|start_header_id|>ipython<|end_header_id|>\n\n{{ m.content }}<|eot_id|>",
  "{%- elif m.role == 'assistant' and m.tool_calls %}<|start_header_id|>assistant<|end_header_id|>\n\n",
  "{%- for tc in m.tool_calls %}<function={{ tc.function.name }}>{{ tc.function.arguments | tojson }}</function>{% endfor %}<|eom_id|>",
  "{%- else %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
].join("");

// Joins the arguments to text, as Functionary v3.2's own template does: they must come as text.
const FUNCTIONARY_V32_STYLE = [
  "<|start_header_id|>system<|end_header_id|>\n\n",
  "{%- if tools %}namespace functions {\n{% for t in tools %}type {{ t.function.name }} = (_: {{ t.function.parameters | tojson }}) => any;\n{% endfor %}}{% endif %}<|eot_id|>",
  "{%- for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n",
  "{%- if m.role == 'assistant' %}{% if m.content %}{{ '>>>all\n' + m.content }}{% endif %}",
  "{%- for tc in m.tool_calls or [] %}{{ '>>>' + tc.function.name + '\n' + tc.function.arguments }}{% endfor %}",
  "{%- else %}{{ m.content }}{% endif %}<|eot_id|>",
  "{%- endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n>>>{% endif %}",
].join("");

const FAMILIES = [
  { name: "mistral-v11", template: MISTRAL_V11_STYLE, marker: "[TOOL_CALLS]", layout: /^\[TOOL_CALLS\]\w+\[ARGS\]\{/, history: `[TOOL_CALLS]get_weather[CALL_ID]${mistralCallId("call_1")}[ARGS]{"city": "Oslo"}` },
  { name: "deepseek-v3.1", template: DEEPSEEK_V31_STYLE, marker: "<｜tool▁call", layout: /^<\W+tool\W+calls\W+begin\W+><\W+tool\W+call\W+begin\W+>\w+<\W+tool\W+sep\W+>\{/, history: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Oslo"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>' },
  {
    name: "deepseek-v3",
    template: DEEPSEEK_V3_STYLE,
    marker: "<｜tool▁call",
    layout: /^<\W+tool\W+calls\W+begin\W+><\W+tool\W+call\W+begin\W+>function<\W+tool\W+sep\W+>\w+\n```json\n\{/,
    history: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Oslo"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
  },
  {
    name: "kimi-k2",
    template: KIMI_K2_STYLE,
    marker: "<|tool_call",
    layout: /^<\|tool_calls_section_begin\|><\|tool_call_begin\|>functions\.\w+:\d+<\|tool_call_argument_begin\|>\{/,
    // The result names its call as Kimi does (`functions.<name>:<n>`), not by the client's id.
    history:
      '<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Oslo"}<|tool_call_end|><|tool_calls_section_end|><|im_end|><|im_system|>tool<|im_middle|>## Return of functions.get_weather:0\n3 C',
  },
  { name: "functionary-v3.2", template: FUNCTIONARY_V32_STYLE, marker: ">>>", layout: /^\w+\n\{/, history: '>>>get_weather\n{"city": "Oslo"}<|eot_id|>' },
  { name: "functionary-v3.1", template: FUNCTIONARY_V31_STYLE, marker: "<function=", layout: /^<function=\w+>\{/, history: '<function=get_weather>{"city": "Oslo"}</function><|eom_id|>' },
];

describe("tool calling: families that write the name outside the JSON", () => {
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
        const body = { tool_choice: "required", temperature: 1, seed, logprobs: true };
        const result = (await (await post(body)).json()) as ChatCompletion;
        const choice = result.choices[0];
        const calls = choice?.message.tool_calls ?? [];
        assert.ok(calls.length >= 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
        assert.ok(!(choice?.message.content ?? "").includes(family.marker));
        // The tokens say what the model wrote: the family's own markup (split UTF-8 shows as U+FFFD).
        const written = (choice?.logprobs?.content ?? []).map((l) => l.token).join("");
        assert.match(written, family.layout);
        if (choice?.finish_reason === "length") continue;
        complete++;
        assert.equal(choice?.finish_reason, "tool_calls");
        for (const call of calls) if (call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
        assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, "ids are unique");
        const streamed = foldStream(parseSse(await (await post({ ...body, stream: true })).text()));
        assert.deepEqual(
          streamed.calls.map((c) => [c.name, c.arguments]),
          calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
        );
        assert.equal(streamed.content, choice?.message.content ?? "");
      }
      assert.ok(complete >= 2, `only ${complete} of 4 completed`);
    });

    it(`${family.name}: a named call, one call without parallel calls, none never calls, history in the family's format`, async () => {
      const named = (await (await post({ tool_choice: { type: "function", function: { name: "get_weather" } }, temperature: 1, seed: 9 })).json()) as ChatCompletion;
      const namedCalls = named.choices[0]?.message.tool_calls ?? [];
      assert.deepEqual(namedCalls.map((c) => (c.type === "function" ? c.function.name : "")), ["get_weather"]);
      if (named.choices[0]?.finish_reason !== "length") for (const c of namedCalls) if (c.type === "function") assertValidCall(c.function);
      const single = (await (await post({ tool_choice: "required", parallel_tool_calls: false, temperature: 1, seed: 3 })).json()) as ChatCompletion;
      assert.equal(single.choices[0]?.message.tool_calls?.length, 1);
      const none = (await (await post({ tool_choice: "none", temperature: 1, seed: 9, max_tokens: 30 })).json()) as ChatCompletion;
      assert.equal(none.choices[0]?.message.tool_calls, undefined);
      const history = [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Oslo"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "3 C" },
      ];
      const res = await fetch(`${t.url}/apply-template`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: history, tools: TEST_TOOLS, chat_template: family.template }) });
      assert.equal(res.status, 200, await res.clone().text());
      const { prompt } = (await res.json()) as { prompt: string };
      assert.ok(prompt.includes(family.history), prompt);
    });
  }
});
