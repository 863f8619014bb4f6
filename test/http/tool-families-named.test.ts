/**
 * Tool calling end to end for the families that write the function name outside the JSON
 * arguments, recognised from a client's template (templates written here in each family's
 * style): Mistral v11 `[TOOL_CALLS]name[ARGS]{…}`, DeepSeek V3.1 and V3/R1, Kimi K2 and
 * Functionary v3.1 and v3.2. The default test model has no control tokens for their markers, so they are
 * plain text here. The grammar writes the family's format, the parser reads it back, streamed
 * calls equal non-streamed ones, and earlier calls render in the family's format.
 */
import { mistralCallId } from "../../src/chat/tools/families/mistral.ts";
import { describeToolFamilies, type FamilyCase } from "../support/tool-family-suite.ts";

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

const FAMILIES: FamilyCase[] = [
  {
    name: "mistral-v11",
    template: MISTRAL_V11_STYLE,
    marker: "[TOOL_CALLS]",
    layout: /^\[TOOL_CALLS\]\w+\[ARGS\]\{/,
    history: `[TOOL_CALLS]get_weather[CALL_ID]${mistralCallId("call_1")}[ARGS]{"city": "Oslo"}`,
  },
  {
    name: "deepseek-v3.1",
    template: DEEPSEEK_V31_STYLE,
    marker: "<｜tool▁call",
    layout: /^<\W+tool\W+calls\W+begin\W+><\W+tool\W+call\W+begin\W+>\w+<\W+tool\W+sep\W+>\{/,
    history: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Oslo"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
  },
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

describeToolFamilies({ title: "tool calling: families that write the name outside the JSON", families: FAMILIES });
