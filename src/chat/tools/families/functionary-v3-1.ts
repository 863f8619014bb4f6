/**
 * MeetKai Functionary v3.1 (Llama 3.1 based): each call is `<function=<name>>` then the arguments
 * object then `</function>`, calls back to back. (Its `<|python_tag|>` code calls are not
 * supported.) Recognised by a template that writes `<function=` and `</function>` without
 * Qwen3-Coder's `<parameter=` or a `<tool_call>` wrapper; checked before the llama3 family, whose
 * `<|python_tag|>` its template also mentions.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const functionaryV31Family: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "functionary-v3.1",
    triggers: ["<function="],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<function=",
    nameClose: ">",
    callClose: "</function>",
    separator: "",
    maxCalls: Infinity,
    markerTokens: [],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<function=") && template.includes("</function>") && !template.includes("<parameter=") && !template.includes("<tool_call>"),
  origin: "hand-written",
  nativeTools: true,
};
