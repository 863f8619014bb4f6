/**
 * Mistral (v3 tokenizer and later templates): `[TOOL_CALLS]` then a JSON array of
 * `{"name": …, "arguments": …}` objects. Recognised by a template that mentions `[TOOL_CALLS]`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const mistralFamily: ToolFamilyDefinition = {
  syntax: {
    family: "mistral",
    triggers: ["[TOOL_CALLS]"],
    sectionOpen: "[TOOL_CALLS][",
    sectionClose: "]",
    callOpen: "",
    callClose: "",
    separator: ", ",
    argumentsKey: "arguments",
    maxCalls: Infinity,
    markerTokens: ["[TOOL_CALLS]"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("[TOOL_CALLS]"),
  nativeTools: true,
};
