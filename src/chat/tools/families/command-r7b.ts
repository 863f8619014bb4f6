/**
 * Cohere Command R7B / Command A: `<|START_ACTION|>` then a JSON list of
 * `{"tool_call_id": "0", "tool_name": …, "parameters": …}` objects, then `<|END_ACTION|>`.
 * Recognised by a template that mentions `<|START_ACTION|>`. (Its thoughts,
 * `<|START_THINKING|>…<|END_THINKING|>`, and its answer tags, `<|START_RESPONSE|>…`, are the
 * reasoning layer's.)
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const commandR7bFamily: ToolFamilyDefinition = {
  syntax: {
    family: "command-r7b",
    triggers: ["<|START_ACTION|>"],
    sectionOpen: "<|START_ACTION|>[",
    sectionClose: "]<|END_ACTION|>",
    callOpen: "",
    callClose: "",
    separator: ", ",
    argumentsKey: "parameters",
    nameKey: "tool_name",
    idKey: "tool_call_id",
    maxCalls: Infinity,
    markerTokens: ["<|START_ACTION|>", "<|END_ACTION|>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<|START_ACTION|>"),
  nativeTools: true,
  origin: "hand-written",
};
