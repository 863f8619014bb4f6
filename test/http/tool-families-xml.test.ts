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
import type { ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import { describeToolFamilies, type FamilyCase } from "../support/tool-family-suite.ts";

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

const FAMILIES: FamilyCase[] = [
  {
    name: "qwen3-coder",
    template: QWEN_CODER_STYLE,
    marker: "<tool_call>",
    layout: /^<tool_call>\n<function=\w+>\n(<parameter=\w+>\n[\s\S]*?\n<\/parameter>\n)*<\/function>\n<\/tool_call>/,
    history: "<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n<parameter=days>\n3\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
  },
  {
    name: "seed-oss",
    template: SEED_STYLE,
    marker: "<seed:tool_call>",
    layout: /^<seed:tool_call>\n<function=\w+>\n(<parameter=\w+>[\s\S]*?<\/parameter>\n)*<\/function>\n<\/seed:tool_call>/,
    history: "<seed:tool_call>\n<function=get_weather>\n<parameter=city>Oslo</parameter>\n<parameter=days>3</parameter>\n<parameter=unit>celsius</parameter>\n</function>\n</seed:tool_call>",
  },
  {
    name: "glm-4.5",
    template: GLM45_STYLE,
    marker: "<tool_call>",
    layout: /^<tool_call>\w+\n(<arg_key>\w+<\/arg_key>\n<arg_value>[\s\S]*?<\/arg_value>\n)*<\/tool_call>/,
    history:
      "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n<arg_key>unit</arg_key>\n<arg_value>celsius</arg_value>\n</tool_call>",
  },
  {
    name: "glm-4.7",
    template: GLM47_STYLE,
    marker: "<tool_call>",
    layout: /^<tool_call>\w+(<arg_key>\w+<\/arg_key><arg_value>[\s\S]*?<\/arg_value>)*<\/tool_call>/,
    history: "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value><arg_key>days</arg_key><arg_value>3</arg_value><arg_key>unit</arg_key><arg_value>celsius</arg_value></tool_call>",
  },
  {
    name: "minimax-m2",
    template: MINIMAX_STYLE,
    marker: "<minimax:tool_call>",
    layout: /^<minimax:tool_call>\n(<invoke name="\w+">\n(<parameter name="\w+">[\s\S]*?<\/parameter>\n)*<\/invoke>\n)+/,
    history:
      '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">Oslo</parameter>\n<parameter name="days">3</parameter>\n<parameter name="unit">celsius</parameter>\n</invoke>\n</minimax:tool_call>',
  },
];

describeToolFamilies({
  title: "tool calling: families that write one element per parameter",
  families: FAMILIES,
  tools: TOOLS,
  maxTokens: 400,
  jsonWhenCut: true,
  historyArguments: '{"city": "Oslo", "days": 3, "unit": "celsius"}',
  // Every parameter type comes back as its JSON type.
  checkNamed: (args) => assert.deepEqual([typeof args.city, typeof args.days, typeof args.unit], ["string", "number", "string"]),
});
