/**
 * Tool calling end to end for the families that write keyword arguments with literal values,
 * recognised from a client's template (templates written here in each family's style): LFM2
 * (Python calls; the template does not render `tool_calls`, so earlier calls go into the
 * assistant's content) and Gemma 4 (`call:name{…}` with `<|"|>` strings; the template renders
 * them). The default test model has no control tokens for their markers, so they are plain text
 * here. The shared family suite (tool-family-suite.ts) checks `required`, named, single and `none`
 * calls against TEST_TOOLS, stream = non-stream and the history; a named call of each tool checks
 * that nested objects, arrays, formats and patterns come out valid in each family's literals.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { MODEL, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { describeToolFamilies, type FamilyCase } from "../support/tool-family-suite.ts";
import { assertValidCall, TEST_TOOLS } from "../support/tools.ts";

const LFM2_STYLE = [
  "{{- bos_token -}}",
  "{%- if tools %}<|im_start|>system\nList of tools: <|tool_list_start|>[{% for t in tools %}{{ t | tojson }}{% if not loop.last %}, {% endif %}{% endfor %}]<|tool_list_end|><|im_end|>\n{% endif %}",
  "{%- for m in messages %}<|im_start|>{{ m.role }}\n",
  "{% if m.role == 'tool' %}<|tool_response_start|>{{ m.content }}<|tool_response_end|>{% else %}{{ m.content }}{% endif %}<|im_end|>\n",
  "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
].join("");

/** Gemma 4's literals, written our own way: strings between `<|"|>`, keys bare and sorted. */
const GEMMA_LITERAL = [
  "{%- macro lit(v) -%}",
  "{%- if v is string -%}{{ '<|\"|>' + v + '<|\"|>' }}",
  "{%- elif v is boolean -%}{{ 'true' if v else 'false' }}",
  "{%- elif v is mapping -%}{{ '{' }}{% for k, x in v | dictsort %}{{ k }}:{{ lit(x) }}{% if not loop.last %},{% endif %}{% endfor %}{{ '}' }}",
  "{%- elif v is sequence -%}[{% for x in v %}{{ lit(x) }}{% if not loop.last %},{% endif %}{% endfor %}]",
  "{%- elif v is none -%}null{%- else -%}{{ v }}{%- endif -%}",
  "{%- endmacro -%}",
].join("");

const GEMMA_STYLE = [
  GEMMA_LITERAL,
  "{{- bos_token -}}",
  "{%- if tools %}<|turn>system\n{% for t in tools %}<|tool>{{ t.function | tojson }}<tool|>{% endfor %}<turn|>\n{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'tool' %}<|tool_response>response:{value:{{ lit(m.content) }}}<tool_response|>",
  "{%- else %}<|turn>{{ 'model' if m.role == 'assistant' else m.role }}\n",
  "{% for tc in m.tool_calls or [] %}{{ '<|tool_call>call:' + tc.function.name }}{{ lit(tc.function.arguments) }}<tool_call|>{% endfor %}",
  "{{ m.content }}<turn|>\n{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<|turn>model\n{% endif %}",
].join("");

const FAMILIES: FamilyCase[] = [
  {
    name: "lfm2",
    template: LFM2_STYLE,
    marker: "<|tool_call_start|>",
    layout: /^<\|tool_call_start\|>\[\w+\(/,
    history: '<|im_start|>assistant\n<|tool_call_start|>[get_weather(city="Oslo", unit="celsius")]<|tool_call_end|><|im_end|>\n<|im_start|>tool\n<|tool_response_start|>3 C<|tool_response_end|>',
  },
  {
    name: "gemma-4",
    template: GEMMA_STYLE,
    marker: "<|tool_call>",
    layout: /^<\|tool_call>call:\w+\{/,
    history: '<|turn>model\n<|tool_call>call:get_weather{city:<|"|>Oslo<|"|>,unit:<|"|>celsius<|"|>}<tool_call|><turn|>\n<|tool_response>response:{value:<|"|>3 C<|"|>}<tool_response|>',
  },
];

describeToolFamilies({
  title: "tool calling: families that write keyword arguments with literal values",
  families: FAMILIES,
  historyArguments: '{"city": "Oslo", "unit": "celsius"}',
  jsonWhenCut: true,
  maxTokens: 400,
});

describe("keyword-argument families: every tool's schema, in the family's literals", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  for (const family of FAMILIES) {
    it(`${family.name}: named calls of every tool are valid (nested objects, arrays, formats, patterns)`, async () => {
      for (const tool of TEST_TOOLS) {
        for (const seed of [1, 2]) {
          const res = await postChat(t.url, {
            model: MODEL,
            messages: [{ role: "user", content: "Go" }],
            tools: TEST_TOOLS,
            chat_template: family.template,
            max_tokens: 400,
            temperature: 1,
            seed,
            tool_choice: { type: "function", function: { name: tool.function.name } },
          });
          assert.equal(res.status, 200, await res.clone().text());
          const choice = ((await res.json()) as ChatCompletion).choices[0];
          const calls = choice?.message.tool_calls ?? [];
          assert.deepEqual(
            calls.map((c) => (c.type === "function" ? c.function.name : "")),
            [tool.function.name],
          );
          if (choice?.finish_reason !== "length") for (const c of calls) if (c.type === "function") assertValidCall(c.function, `(seed ${seed})`);
        }
      }
    });
  }
});
