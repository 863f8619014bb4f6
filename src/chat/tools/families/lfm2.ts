/**
 * Liquid AI LFM2 and LFM2.5: calls are Python calls in a list between `<|tool_call_start|>` and
 * `<|tool_call_end|>`, keyword arguments with Python literals:
 *
 *     <|tool_call_start|>[get_weather(city="Oslo", days=3), get_time()]<|tool_call_end|>
 *
 * The parser reads Python's literals (both quotes, escapes, `True` / `False` / `None`) and JSON's
 * (`true` / `false` / `null`): the grammar writes values as JSON, which is valid here but for
 * those three words (as llama.cpp does for LFM2).
 *
 * The templates list `tools` themselves, but only some render an assistant's `tool_calls` (and
 * those write strings in single quotes without escaping them): earlier calls are therefore put
 * into the assistant's content as the model writes them, in this syntax with Python's literals
 * (literal-text.ts), for every LFM2 template alike; `tool` messages are left to the template.
 * Recognised as llama.cpp does: `<|tool_list_start|>` or "List of tools: [" in the template.
 */
import type { ChatMessage } from "../../../domain/chat.ts";
import type { ToolFamilyDefinition } from "../family.ts";
import { literalCallsText } from "../literal-text.ts";
import type { LiteralArgsSyntax } from "../syntax.ts";

const syntax: LiteralArgsSyntax = {
  shape: "literal-args",
  family: "lfm2",
  triggers: ["<|tool_call_start|>"],
  sectionOpen: "<|tool_call_start|>[",
  sectionClose: "]<|tool_call_end|>",
  callOpen: "",
  argumentsOpen: "(",
  keyValueSeparator: "=",
  itemSeparator: ", ",
  argumentsClose: ")",
  callClose: "",
  separator: ", ",
  maxCalls: Infinity,
  stringDelimiters: ['"', "'"],
  dictKeys: "quoted",
  literals: { True: true, False: false, None: null, true: true, false: false, null: null },
  valueGrammar: "json",
  markerTokens: ["<|tool_call_start|>", "<|tool_call_end|>"],
  alternativeTriggers: [],
};

export const lfm2Family: ToolFamilyDefinition = {
  syntax,
  detect: (template) => template.includes("<|tool_list_start|>") || template.includes("List of tools: ["),
  origin: "hand-written",
  nativeTools: false,
  prepareMessages: (messages) => messages.map((message) => callsAsContent(message)),
};

/** An assistant message's calls, appended to its content as the model writes them. */
function callsAsContent(message: ChatMessage): ChatMessage {
  if (message.role !== "assistant" || message.toolCalls === undefined || message.toolCalls.length === 0) return message;
  const { toolCalls, ...rest } = message;
  return { ...rest, content: message.content + literalCallsText(syntax, toolCalls) };
}
