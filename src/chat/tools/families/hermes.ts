/**
 * Hermes / Qwen 2.5 / Qwen 3: each call is a JSON object in its own
 * `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>` block, blocks separated by a newline.
 * Recognised by a template that mentions `<tool_call>`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const hermesFamily: ToolFamilyDefinition = {
  syntax: {
    family: "hermes",
    triggers: ["<tool_call>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<tool_call>\n",
    callClose: "\n</tool_call>",
    separator: "\n",
    argumentsKey: "arguments",
    maxCalls: Infinity,
    markerTokens: ["<tool_call>", "</tool_call>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<tool_call>"),
  origin: "hand-written",
  nativeTools: true,
};
