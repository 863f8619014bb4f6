/**
 * ByteDance Seed-OSS: each call is a `<seed:tool_call>` block holding `<function=<name>>` and one
 * `<parameter=<key>>` element per argument, the raw value right inside it (no newlines around it):
 *
 *     <seed:tool_call>
 *     <function=get_weather>
 *     <parameter=city>Oslo</parameter>
 *     </function>
 *     </seed:tool_call>
 *
 * Blocks are separated by a newline. Values are typed by the tool's schema (parameter-types.ts).
 * Recognised by a template that mentions `<seed:tool_call>`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const seedOssFamily: ToolFamilyDefinition = {
  syntax: {
    shape: "xml-params",
    family: "seed-oss",
    triggers: ["<seed:tool_call>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<seed:tool_call>\n<function=",
    nameClose: ">\n",
    paramOpen: "<parameter=",
    paramNameClose: ">",
    paramClose: "</parameter>\n",
    callClose: "</function>\n</seed:tool_call>",
    separator: "\n",
    maxCalls: Infinity,
    markerTokens: ["<seed:tool_call>", "</seed:tool_call>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<seed:tool_call>"),
  origin: "hand-written",
  nativeTools: true,
};
