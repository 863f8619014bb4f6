/**
 * IBM Granite 3.x: `<|tool_call|>` then a JSON list of `{"name": …, "arguments": …}` objects.
 * Recognised by a template that mentions `<|tool_call|>` (Granite 4 writes Hermes-style
 * `<tool_call>` blocks instead, and is the Hermes family).
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const graniteFamily: ToolFamilyDefinition = {
  syntax: {
    family: "granite",
    triggers: ["<|tool_call|>"],
    sectionOpen: "<|tool_call|>[",
    sectionClose: "]",
    callOpen: "",
    callClose: "",
    separator: ", ",
    argumentsKey: "arguments",
    maxCalls: Infinity,
    markerTokens: ["<|tool_call|>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<|tool_call|>"),
  nativeTools: true,
  origin: "hand-written",
};
