/**
 * Qwen3-Coder and Qwen3.5 (NVIDIA Nemotron 3 and StepFun 3.5 write the same): each call is a
 * `<tool_call>` block holding `<function=<name>>` and one `<parameter=<key>>` element per argument,
 * the raw value on lines of its own; blocks separated by a newline:
 *
 *     <tool_call>
 *     <function=get_weather>
 *     <parameter=city>
 *     Oslo
 *     </parameter>
 *     </function>
 *     </tool_call>
 *
 * Values are typed by the tool's schema (parameter-types.ts). Recognised by a template that writes
 * `<function=` and `<parameter=` together with `<tool_call>`, so it is checked before the Hermes
 * family (whose `<tool_call>` these templates mention too).
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const qwen3CoderFamily: ToolFamilyDefinition = {
  syntax: {
    shape: "xml-params",
    family: "qwen3-coder",
    triggers: ["<tool_call>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<tool_call>\n<function=",
    nameClose: ">\n",
    paramOpen: "<parameter=",
    paramNameClose: ">\n",
    paramClose: "\n</parameter>\n",
    callClose: "</function>\n</tool_call>",
    separator: "\n",
    maxCalls: Infinity,
    markerTokens: ["<tool_call>", "</tool_call>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<tool_call>") && template.includes("<function=") && template.includes("<parameter="),
  origin: "hand-written",
  nativeTools: true,
};
