/**
 * Chat templates in the layouts of three tool-calling model families, written for Parley's tests
 * (not copied from any model): GGUFs carrying them (with the family's special tokens, see
 * familyTestModelOptions) let tests check that Parley detects each family, renders its prompts
 * and parses its calls. Each template renders `tools`, assistant `tool_calls` and `tool`
 * messages itself; content must be a string. Written for @huggingface/jinja: every tag trims
 * the whitespace around it, so newlines come only from explicit `"\n"` literals.
 */
import type { TestModelOptions } from "./test-model.ts";

/**
 * Llama 3.1-style template (the `llama3` tool family).
 *
 * `bos_token`, then a system turn that is always present:
 * `<|start_header_id|>system<|end_header_id|>\n\n` + a knowledge-cutoff line + `Current date:
 * {date_string}` (default "01 Jan 2025" when the variable is undefined) + a blank line + the
 * leading system message (if any) + `<|eot_id|>`. Every other turn is
 * `<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>`.
 *  - `tools`: an instruction to answer with only `{"name": function name, "parameters": arguments
 *    object}`, then each tool as `tojson` followed by a blank line. With `tools_in_user_message`
 *    (default true) they open the first user turn (an exception when there is none); with false
 *    they go in the system turn, before the system message.
 *  - an assistant turn with `tool_calls` holds its content, then the call as
 *    `{"name": "…", "parameters": {…}}` (object arguments through `tojson`, string arguments
 *    verbatim), and ends with `<|eot_id|>` (Llama's JSON function calls end the turn; `<|eom_id|>`
 *    is for its built-in tools, which this template does not render). More than one call in a
 *    message raises an exception.
 *  - `tool` messages are `ipython` turns.
 *  - `add_generation_prompt` appends `<|start_header_id|>assistant<|end_header_id|>\n\n`.
 */
export const LLAMA3_STYLE_TEMPLATE: string = String.raw`{{- bos_token -}}
{%- if date_string is not defined -%}{%- set date_string = "01 Jan 2025" -%}{%- endif -%}
{%- if tools_in_user_message is not defined -%}{%- set tools_in_user_message = true -%}{%- endif -%}
{%- if messages | length > 0 and messages[0].role == "system" -%}
    {%- set system_text = messages[0].content -%}
    {%- set turns = messages[1:] -%}
{%- else -%}
    {%- set system_text = "" -%}
    {%- set turns = messages -%}
{%- endif -%}
{%- macro tool_block() -%}
    {{- 'The functions below are available to you. When calling one of them is the best way to respond, answer with a single JSON object of the form {"name": function name, "parameters": arguments object} and with nothing else. Only call the functions listed here.' + "\n\n" -}}
    {%- for tool in tools -%}{{- (tool | tojson) + "\n\n" -}}{%- endfor -%}
{%- endmacro -%}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" -}}
{{- "Knowledge cutoff: December 2023\nCurrent date: " + date_string + "\n\n" -}}
{%- if tools and not tools_in_user_message -%}{{- tool_block() -}}{%- endif -%}
{{- system_text + "<|eot_id|>" -}}
{%- set ns = namespace(first_user=-1) -%}
{%- for message in turns -%}
    {%- if message.role == "user" and ns.first_user < 0 -%}{%- set ns.first_user = loop.index0 -%}{%- endif -%}
{%- endfor -%}
{%- if tools and tools_in_user_message and ns.first_user < 0 -%}
    {{- raise_exception("Tools go in the first user message, and this conversation has none.") -}}
{%- endif -%}
{%- for message in turns -%}
    {%- if message.role == "assistant" -%}
        {{- "<|start_header_id|>assistant<|end_header_id|>\n\n" + message.content -}}
        {%- if message.tool_calls is defined and message.tool_calls -%}
            {%- if message.tool_calls | length > 1 -%}
                {{- raise_exception("This model can make only one tool call per assistant message.") -}}
            {%- endif -%}
            {%- set call = message.tool_calls[0] -%}
            {%- if call.function is defined -%}{%- set call = call.function -%}{%- endif -%}
            {{- '{"name": ' + (call.name | tojson) + ', "parameters": ' -}}
            {%- if call.arguments is string -%}{{- call.arguments -}}{%- else -%}{{- call.arguments | tojson -}}{%- endif -%}
            {{- "}" -}}
        {%- endif -%}
        {{- "<|eot_id|>" -}}
    {%- elif message.role == "tool" -%}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" + message.content + "<|eot_id|>" -}}
    {%- else -%}
        {{- "<|start_header_id|>" + message.role + "<|end_header_id|>\n\n" -}}
        {%- if tools and tools_in_user_message and loop.index0 == ns.first_user -%}{{- tool_block() -}}{%- endif -%}
        {{- message.content + "<|eot_id|>" -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- "<|start_header_id|>assistant<|end_header_id|>\n\n" -}}{%- endif -%}`;

/**
 * Mistral-style template (v3 tokenizer markup; the `mistral` tool family).
 *
 * `bos_token`, then the turns with no separators between them:
 *  - user: `[INST] {content}[/INST]`; the leading system message, if any, is put before the
 *    content of the last user message (`[INST] {system}\n\n{content}[/INST]`), or alone in an
 *    `[INST] … [/INST]`-style turn when there is no user message. A system message elsewhere
 *    raises an exception (the format has no system turns).
 *  - `tools`: `[AVAILABLE_TOOLS] {tools | tojson}[/AVAILABLE_TOOLS]` right before the last user
 *    message.
 *  - assistant: its content, then (with calls) `[TOOL_CALLS][{"name": …, "arguments": …, "id": …},
 *    …]` (calls separated by ", ", "id" left out when a call has none), then `eos_token`.
 *  - tool: `[TOOL_RESULTS] {"content": …, "call_id": …}[/TOOL_RESULTS]` (`tojson` of both).
 *  - `add_generation_prompt` adds nothing: the prompt already ends where the assistant answers.
 */
export const MISTRAL_STYLE_TEMPLATE: string = String.raw`{{- bos_token -}}
{%- if messages | length > 0 and messages[0].role == "system" -%}
    {%- set system_text = messages[0].content -%}
    {%- set turns = messages[1:] -%}
{%- else -%}
    {%- set system_text = "" -%}
    {%- set turns = messages -%}
{%- endif -%}
{%- set ns = namespace(last_user=-1) -%}
{%- for message in turns -%}
    {%- if message.role == "user" -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}
{%- endfor -%}
{%- if system_text and ns.last_user < 0 -%}{{- "[INST] " + system_text + "[/INST]" -}}{%- endif -%}
{%- for message in turns -%}
    {%- if message.role == "user" -%}
        {%- if loop.index0 == ns.last_user and tools -%}
            {{- "[AVAILABLE_TOOLS] " + (tools | tojson) + "[/AVAILABLE_TOOLS]" -}}
        {%- endif -%}
        {%- if loop.index0 == ns.last_user and system_text -%}
            {{- "[INST] " + system_text + "\n\n" + message.content + "[/INST]" -}}
        {%- else -%}
            {{- "[INST] " + message.content + "[/INST]" -}}
        {%- endif -%}
    {%- elif message.role == "assistant" -%}
        {{- message.content -}}
        {%- if message.tool_calls is defined and message.tool_calls -%}
            {{- "[TOOL_CALLS][" -}}
            {%- for call in message.tool_calls -%}
                {%- if call.function is defined -%}{%- set fn = call.function -%}{%- else -%}{%- set fn = call -%}{%- endif -%}
                {%- if not loop.first -%}{{- ", " -}}{%- endif -%}
                {{- '{"name": ' + (fn.name | tojson) + ', "arguments": ' -}}
                {%- if fn.arguments is string -%}{{- fn.arguments -}}{%- else -%}{{- fn.arguments | tojson -}}{%- endif -%}
                {%- if call.id is defined and call.id -%}{{- ', "id": ' + (call.id | tojson) -}}{%- endif -%}
                {{- "}" -}}
            {%- endfor -%}
            {{- "]" -}}
        {%- endif -%}
        {{- eos_token -}}
    {%- elif message.role == "tool" -%}
        {%- set call_id = message.tool_call_id if message.tool_call_id is defined else "" -%}
        {{- "[TOOL_RESULTS] " + ({"content": message.content, "call_id": call_id} | tojson) + "[/TOOL_RESULTS]" -}}
    {%- else -%}
        {{- raise_exception("Only the first message may be a system message; found a " + message.role + " message later.") -}}
    {%- endif -%}
{%- endfor -%}`;

/**
 * Qwen 2.5-style template (ChatML with Hermes tool calls; the `hermes` tool family).
 *
 * Turns are `<|im_start|>{role}\n{content}<|im_end|>\n`; no BOS is printed. A system turn always
 * comes first: the leading system message, else "You are a helpful assistant.". With `tools` it
 * continues with `\n\n# Tools\n\n`, an explanation, the tools (`tojson`, one per line) between
 * `<tools>` and `</tools>` lines, and an example call.
 *  - assistant: its content, then each call as `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>`,
 *    separated from the content and from each other by "\n".
 *  - consecutive `tool` messages share one `user` turn, each result as
 *    `\n<tool_response>\n{content}\n</tool_response>` (so the turn is
 *    `<|im_start|>user\n<tool_response>\n…\n</tool_response>\n<tool_response>…<|im_end|>\n`).
 *  - `add_generation_prompt` appends `<|im_start|>assistant\n`.
 */
export const QWEN_STYLE_TEMPLATE: string = String.raw`{%- if messages | length > 0 and messages[0].role == "system" -%}
    {%- set system_text = messages[0].content -%}
    {%- set turns = messages[1:] -%}
{%- else -%}
    {%- set system_text = "You are a helpful assistant." -%}
    {%- set turns = messages -%}
{%- endif -%}
{{- "<|im_start|>system\n" + system_text -}}
{%- if tools -%}
    {{- "\n\n# Tools\n\nYou have functions at your disposal. Each one is described by a JSON object in the <tools> block below.\n<tools>" -}}
    {%- for tool in tools -%}{{- "\n" + (tool | tojson) -}}{%- endfor -%}
    {{- "\n</tools>\n\nTo call a function, write its name and arguments as a JSON object between <tool_call> and </tool_call> tags, one block per call, for example:\n" -}}
    {{- '<tool_call>\n{"name": "function_name", "arguments": {"argument_name": "value"}}\n</tool_call>' -}}
{%- endif -%}
{{- "<|im_end|>\n" -}}
{%- for message in turns -%}
    {%- if message.role == "assistant" -%}
        {{- "<|im_start|>assistant\n" + message.content -}}
        {%- if message.tool_calls is defined and message.tool_calls -%}
            {%- for call in message.tool_calls -%}
                {%- if call.function is defined -%}{%- set fn = call.function -%}{%- else -%}{%- set fn = call -%}{%- endif -%}
                {%- if message.content or not loop.first -%}{{- "\n" -}}{%- endif -%}
                {{- '<tool_call>\n{"name": ' + (fn.name | tojson) + ', "arguments": ' -}}
                {%- if fn.arguments is string -%}{{- fn.arguments -}}{%- else -%}{{- fn.arguments | tojson -}}{%- endif -%}
                {{- "}\n</tool_call>" -}}
            {%- endfor -%}
        {%- endif -%}
        {{- "<|im_end|>\n" -}}
    {%- elif message.role == "tool" -%}
        {%- if loop.first or turns[loop.index0 - 1].role != "tool" -%}{{- "<|im_start|>user" -}}{%- endif -%}
        {{- "\n<tool_response>\n" + message.content + "\n</tool_response>" -}}
        {%- if loop.last or turns[loop.index0 + 1].role != "tool" -%}{{- "<|im_end|>\n" -}}{%- endif -%}
    {%- else -%}
        {{- "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n" -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- "<|im_start|>assistant\n" -}}{%- endif -%}`;

/** The tool-calling families that have a test GGUF of their own. */
export type TestModelFamily = "llama3" | "mistral" | "qwen";

/**
 * Test-model options for a GGUF of the given family: its special tokens and its template
 * ("qwen": the default ChatML tokens with QWEN_STYLE_TEMPLATE). Pass them to `writeTestModel` or
 * `ensureTestModel({ model })`; each family has its own cache file name.
 */
export function familyTestModelOptions(family: TestModelFamily): TestModelOptions {
  switch (family) {
    case "llama3":
      return { specialTokenSet: "llama3", chatTemplate: LLAMA3_STYLE_TEMPLATE };
    case "mistral":
      return { specialTokenSet: "mistral", chatTemplate: MISTRAL_STYLE_TEMPLATE };
    case "qwen":
      return { specialTokenSet: "chatml", chatTemplate: QWEN_STYLE_TEMPLATE };
  }
}
