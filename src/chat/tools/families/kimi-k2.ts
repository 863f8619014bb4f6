/**
 * Moonshot Kimi K2: the calls sit between `<|tool_calls_section_begin|>` and
 * `<|tool_calls_section_end|>`, each one `<|tool_call_begin|>functions.<name>:<n>`
 * `<|tool_call_argument_begin|>` arguments object `<|tool_call_end|>`. The `functions.` prefix
 * and the `:<n>` call number are not part of the name: the grammar writes them (the number as
 * digits), the parser strips them. Recognised by a template that mentions
 * `<|tool_calls_section_begin|>`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const kimiK2Family: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "kimi-k2",
    triggers: ["<|tool_calls_section_begin|>"],
    sectionOpen: "<|tool_calls_section_begin|>",
    sectionClose: "<|tool_calls_section_end|>",
    callOpen: "<|tool_call_begin|>",
    namePrefix: "functions.",
    nameIndexSeparator: ":",
    nameClose: "<|tool_call_argument_begin|>",
    callClose: "<|tool_call_end|>",
    separator: "",
    maxCalls: Infinity,
    markerTokens: ["<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<|tool_calls_section_begin|>"),
  // Earlier calls are `functions.<name>:<n>`, n counting the conversation's calls, as the model
  // writes them; the templates that print `tool_call_id` in results then name the same call.
  historyCallId: (id, call) => (call === undefined ? id : `functions.${call.name}:${call.index}`),
  origin: "hand-written",
  nativeTools: true,
};
