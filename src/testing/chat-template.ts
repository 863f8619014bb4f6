/**
 * The Jinja chat template embedded in the test model (`tokenizer.chat_template`).
 *
 * ChatML-style turns: `<|im_start|>{role}\n{content}<|im_end|>\n`.
 *  - `system` and `developer` messages render as `system` turns; a leading one is merged
 *    with the tool instructions when `tools` are given.
 *  - `tools`: the JSON of each tool is listed in the system turn, with an instruction to
 *    answer with `<tool_call>{"name": ..., "arguments": ...}</tool_call>` blocks.
 *  - assistant `tool_calls` (OpenAI `{function: {name, arguments}}` or flat `{name, arguments}`)
 *    render as `<tool_call>{json}</tool_call>`, one per line after any text content; string
 *    arguments are inserted verbatim, objects through `tojson`.
 *  - `tool` messages render as `<|im_start|>tool\n<tool_response>{content}</tool_response><|im_end|>\n`.
 *  - content may be a string or a list of parts; only `{type: "text", text}` parts (and plain
 *    strings) are rendered, concatenated.
 *  - `add_generation_prompt` appends `<|im_start|>assistant\n`.
 * The template starts with `{{ bos_token }}`.
 *
 * Written to work with @huggingface/jinja (which node-llama-cpp uses too): every tag trims
 * surrounding whitespace, so the output's newlines come from explicit `"\n"` literals or from
 * inside the literal text blocks of the tool instructions.
 */

/** The template source. */
export const TEST_MODEL_CHAT_TEMPLATE: string = String.raw`{{- bos_token -}}
{%- macro render_content(content) -%}
    {%- if content is string -%}
        {{- content -}}
    {%- elif content is iterable -%}
        {%- for part in content -%}
            {%- if part is string -%}
                {{- part -}}
            {%- elif part is mapping -%}
                {%- if part.type == "text" -%}{{- part.text -}}{%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro -%}
{%- set has_system = messages | length > 0 and (messages[0].role == "system" or messages[0].role == "developer") -%}
{%- if tools -%}
    {{- "<|im_start|>system\n" -}}
    {%- if has_system -%}
        {{- render_content(messages[0].content) + "\n\n" -}}
    {%- endif -%}
# Tools

You can call the tools listed below. Each one is described by a JSON object.
<tools>
    {{- "\n" -}}
    {%- for tool in tools -%}
        {{- tool | tojson -}}{{- "\n" -}}
    {%- endfor -%}
</tools>

To call a tool, answer with a <tool_call></tool_call> block that holds a JSON object with the tool's "name" and its "arguments", like this:
<tool_call>{"name": "tool_name", "arguments": {"argument_name": "value"}}</tool_call>
Use one block per call; several calls are allowed.
    {{- "<|im_end|>\n" -}}
{%- elif has_system -%}
    {{- "<|im_start|>system\n" + render_content(messages[0].content) + "<|im_end|>\n" -}}
{%- endif -%}
{%- for message in messages -%}
    {%- if loop.first and has_system -%}
    {%- elif message.role == "system" or message.role == "developer" -%}
        {{- "<|im_start|>system\n" + render_content(message.content) + "<|im_end|>\n" -}}
    {%- elif message.role == "assistant" -%}
        {%- set text = render_content(message.content) -%}
        {{- "<|im_start|>assistant\n" + text -}}
        {%- if message.tool_calls -%}
            {%- for call in message.tool_calls -%}
                {%- if call.function is defined and call.function is not none -%}
                    {%- set fn = call.function -%}
                {%- else -%}
                    {%- set fn = call -%}
                {%- endif -%}
                {%- if text or not loop.first -%}{{- "\n" -}}{%- endif -%}
                {{- '<tool_call>{"name": ' + (fn.name | tojson) + ', "arguments": ' -}}
                {%- if fn.arguments is string -%}
                    {{- fn.arguments -}}
                {%- elif fn.arguments is defined and fn.arguments is not none -%}
                    {{- fn.arguments | tojson -}}
                {%- else -%}
                    {{- "{}" -}}
                {%- endif -%}
                {{- "}</tool_call>" -}}
            {%- endfor -%}
        {%- endif -%}
        {{- "<|im_end|>\n" -}}
    {%- elif message.role == "tool" -%}
        {{- "<|im_start|>tool\n<tool_response>" + render_content(message.content) + "</tool_response><|im_end|>\n" -}}
    {%- else -%}
        {{- "<|im_start|>" + message.role + "\n" + render_content(message.content) + "<|im_end|>\n" -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- "<|im_start|>assistant\n" -}}
{%- endif -%}`;
