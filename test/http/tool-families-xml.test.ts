/**
 * Tool calling end to end for the families that write one element per parameter, recognised from
 * a client's template (templates written here in each family's style): Qwen3-Coder / Qwen3.5,
 * Seed-OSS, GLM 4.5 and 4.7, MiniMax M2. The default test model has no control tokens for their
 * markers, so they are plain text here. The grammar writes the family's format with raw values,
 * the parser turns them into JSON typed by the tool's schema (a string, an integer and an enum
 * parameter), streamed calls equal non-streamed ones, and earlier calls render in the family's
 * format.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion, ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { foldStream } from "../support/tools.ts";
import { validatorFor } from "../support/validate-json.ts";

const TOOLS: ChatCompletionFunctionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather forecast for a city",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string", maxLength: 16 },
          days: { type: "integer", minimum: 1, maximum: 7 },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        },
        required: ["city", "days", "unit"],
        additionalProperties: false,
      },
    },
  },
  { type: "function", function: { name: "get_time", description: "The current time" } },
];

const validators = new Map(TOOLS.map((t) => [t.function.name, validatorFor(t.function.parameters ?? { type: "object", properties: {}, additionalProperties: false })]));

function assertValid(call: { name: string; arguments: string }, context: string): void {
  const validate = validators.get(call.name);
  assert.ok(validate !== undefined, `unknown tool ${call.name} ${context}`);
  const args: unknown = JSON.parse(call.arguments);
  assert.ok(validate(args), `arguments of ${call.name} do not validate: ${call.arguments} ${context}`);
}

/** A value as these templates write it: strings raw, anything else as JSON. */
const VALUE = "{{ v if v is string else v | tojson }}";

const TOOL_LIST = "{%- if tools %}# Tools\n{% for t in tools %}{{ t.function | tojson }}\n{% endfor %}";

const QWEN_CODER_STYLE = [
  TOOL_LIST,
  "To call a function write:\n<tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call>\n{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'assistant' and m.tool_calls %}<|im_start|>assistant",
  "{%- for tc in m.tool_calls %}{{ '\\n<tool_call>\\n<function=' + tc.function.name + '>\\n' }}",
  "{%- for k, v in tc.function.arguments | items %}{{ '<parameter=' + k + '>\\n' }}" + VALUE + "{{ '\\n</parameter>\\n' }}{% endfor %}",
  "{{- '</function>\\n</tool_call>' }}{% endfor %}<|im_end|>\n",
  "{%- elif m.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ m.content }}\n</tool_response><|im_end|>\n",
  "{%- else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
].join("");

const SEED_STYLE = [
  TOOL_LIST,
  "Call tools as <seed:tool_call>\n<function=NAME>\n<parameter=KEY>VALUE</parameter>\n</function>\n</seed:tool_call>\n{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'assistant' and m.tool_calls %}<seed:bos>assistant",
  "{%- for tc in m.tool_calls %}{{ '\\n<seed:tool_call>\\n<function=' + tc.function.name + '>\\n' }}",
  "{%- for k, v in tc.function.arguments | items %}{{ '<parameter=' + k + '>' }}" + VALUE + "{{ '</parameter>\\n' }}{% endfor %}",
  "{{- '</function>\\n</seed:tool_call>' }}{% endfor %}<seed:eos>",
  "{%- else %}<seed:bos>{{ m.role }}\n{{ m.content }}<seed:eos>{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<seed:bos>assistant\n{% endif %}",
].join("");

const GLM45_STYLE = [
  "[gMASK]<sop>",
  TOOL_LIST,
  "Call tools as <tool_call>NAME\n<arg_key>KEY</arg_key>\n<arg_value>VALUE</arg_value>\n</tool_call>\n{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'assistant' and m.tool_calls %}<|assistant|>",
  "{%- for tc in m.tool_calls %}{{ '\\n<tool_call>' + tc.function.name + '\\n' }}",
  "{%- for k, v in tc.function.arguments | items %}{{ '<arg_key>' + k + '</arg_key>\\n<arg_value>' }}" + VALUE + "{{ '</arg_value>\\n' }}{% endfor %}",
  "{{- '</tool_call>' }}{% endfor %}",
  "{%- elif m.role == 'tool' %}<|observation|>\n<tool_response>\n{{ m.content }}\n</tool_response>",
  "{%- else %}<|{{ m.role }}|>\n{{ m.content }}{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
].join("");

const GLM47_STYLE = [
  "[gMASK]<sop>",
  TOOL_LIST,
  "Call tools as <tool_call>NAME<arg_key>KEY</arg_key><arg_value>VALUE</arg_value></tool_call>{% endif %}",
  "{%- for m in messages %}",
  "{%- if m.role == 'assistant' and m.tool_calls %}<|assistant|>",
  "{%- for tc in m.tool_calls %}{{ '<tool_call>' + tc.function.name }}",
  "{%- for k, v in tc.function.arguments | items %}{{ '<arg_key>' + k + '</arg_key><arg_value>' }}" + VALUE + "{{ '</arg_value>' }}{% endfor %}",
  "{{- '</tool_call>' }}{% endfor %}",
  "{%- elif m.role == 'tool' %}<|observation|><tool_response>{{ m.content }}</tool_response>",
  "{%- else %}<|{{ m.role }}|>{{ m.content }}{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
].join("");

const MINIMAX_STYLE = [
  TOOL_LIST,
  'Call tools as <minimax:tool_call>\n<invoke name="NAME">\n<parameter name="KEY">VALUE</parameter>\n</invoke>\n</minimax:tool_call>\n{% endif %}',
  "{%- for m in messages %}",
  "{%- if m.role == 'assistant' and m.tool_calls %}]~b]ai\n{{ '<minimax:tool_call>\\n' }}",
  "{%- for tc in m.tool_calls %}{{ '<invoke name=\"' + tc.function.name + '\">\\n' }}",
  "{%- for k, v in tc.function.arguments | items %}{{ '<parameter name=\"' + k + '\">' }}" + VALUE + "{{ '</parameter>\\n' }}{% endfor %}",
  "{{- '</invoke>\\n' }}{% endfor %}{{ '</minimax:tool_call>' }}[e~[\n",
  "{%- else %}]~b]{{ m.role }}\n{{ m.content }}[e~[\n{% endif %}",
  "{%- endfor %}{% if add_generation_prompt %}]~b]ai\n{% endif %}",
].join("");

const FAMILIES = [
  {
    name: "qwen3-coder",
    template: QWEN_CODER_STYLE,
    marker: "<tool_call>",
    layout: /^<tool_call>\n<function=\w+>\n(<parameter=\w+>\n[^]*?\n<\/parameter>\n)*<\/function>\n<\/tool_call>/,
    history: "<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n<parameter=days>\n3\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
  },
  {
    name: "seed-oss",
    template: SEED_STYLE,
    marker: "<seed:tool_call>",
    layout: /^<seed:tool_call>\n<function=\w+>\n(<parameter=\w+>[^]*?<\/parameter>\n)*<\/function>\n<\/seed:tool_call>/,
    history: "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Oslo</parameter>\n<parameter=days>3</parameter>\n<parameter=unit>celsius</parameter>\n</function>\n</seed:tool_call>",
  },
  {
    name: "glm-4.5",
    template: GLM45_STYLE,
    marker: "<tool_call>",
    layout: /^<tool_call>\w+\n(<arg_key>\w+<\/arg_key>\n<arg_value>[^]*?<\/arg_value>\n)*<\/tool_call>/,
    history: "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n<arg_key>unit</arg_key>\n<arg_value>celsius</arg_value>\n</tool_call>",
  },
  {
    name: "glm-4.7",
    template: GLM47_STYLE,
    marker: "<tool_call>",
    layout: /^<tool_call>\w+(<arg_key>\w+<\/arg_key><arg_value>[^]*?<\/arg_value>)*<\/tool_call>/,
    history: "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value><arg_key>days</arg_key><arg_value>3</arg_value><arg_key>unit</arg_key><arg_value>celsius</arg_value></tool_call>",
  },
  {
    name: "minimax-m2",
    template: MINIMAX_STYLE,
    marker: "<minimax:tool_call>",
    layout: /^<minimax:tool_call>\n(<invoke name="\w+">\n(<parameter name="\w+">[^]*?<\/parameter>\n)*<\/invoke>\n)+/,
    history: '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Oslo</parameter>\n<parameter name="days">3</parameter>\n<parameter name="unit">celsius</parameter>\n</invoke>\n</minimax:tool_call>',
  },
];

describe("tool calling: families that write one element per parameter", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  for (const family of FAMILIES) {
    const post = async (body: Record<string, unknown>) => {
      const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Weather in Oslo?" }], tools: TOOLS, chat_template: family.template, max_tokens: 400, ...body });
      assert.equal(res.status, 200, await res.clone().text());
      return res;
    };

    it(`${family.name}: required calls are schema-valid JSON, in the family's format, streamed = non-streamed`, async () => {
      let complete = 0;
      for (let seed = 1; seed <= 4; seed++) {
        const body = { tool_choice: "required", temperature: 1, seed, logprobs: true };
        const result = (await (await post(body)).json()) as ChatCompletion;
        const choice = result.choices[0];
        const calls = choice?.message.tool_calls ?? [];
        assert.ok(calls.length >= 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
        assert.ok(!(choice?.message.content ?? "").includes(family.marker));
        // The tokens say what the model wrote: the family's own markup with raw values.
        const written = (choice?.logprobs?.content ?? []).map((l) => l.token).join("");
        assert.match(written, family.layout);
        for (const call of calls) if (call.type === "function") assert.doesNotThrow(() => JSON.parse(call.function.arguments), call.function.arguments);
        if (choice?.finish_reason === "length") continue;
        complete++;
        assert.equal(choice?.finish_reason, "tool_calls");
        for (const call of calls) if (call.type === "function") assertValid(call.function, `(seed ${seed})`);
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

    it(`${family.name}: a named call with every parameter type, one call without parallel calls, none never calls, history in the family's format`, async () => {
      const named = (await (await post({ tool_choice: { type: "function", function: { name: "get_weather" } }, temperature: 1, seed: 9 })).json()) as ChatCompletion;
      const namedCalls = named.choices[0]?.message.tool_calls ?? [];
      assert.deepEqual(namedCalls.map((c) => (c.type === "function" ? c.function.name : "")), ["get_weather"]);
      if (named.choices[0]?.finish_reason !== "length") {
        for (const c of namedCalls) {
          if (c.type !== "function") continue;
          assertValid(c.function, "(named)");
          const args = JSON.parse(c.function.arguments) as Record<string, unknown>;
          assert.deepEqual([typeof args.city, typeof args.days, typeof args.unit], ["string", "number", "string"]);
        }
      }
      const single = (await (await post({ tool_choice: "required", parallel_tool_calls: false, temperature: 1, seed: 3 })).json()) as ChatCompletion;
      assert.equal(single.choices[0]?.message.tool_calls?.length, 1);
      const none = (await (await post({ tool_choice: "none", temperature: 1, seed: 9, max_tokens: 30 })).json()) as ChatCompletion;
      assert.equal(none.choices[0]?.message.tool_calls, undefined);
      const history = [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Oslo", "days": 3, "unit": "celsius"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "3 C" },
      ];
      const res = await fetch(`${t.url}/apply-template`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, messages: history, tools: TOOLS, chat_template: family.template }) });
      assert.equal(res.status, 200, await res.clone().text());
      const { prompt } = (await res.json()) as { prompt: string };
      assert.ok(prompt.includes(family.history), prompt);
    });
  }
});
