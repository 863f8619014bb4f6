/**
 * MiniMax M2: the calls sit in one `<minimax:tool_call>` section, each an `<invoke name="…">`
 * element holding one `<parameter name="…">` element per argument with the raw value:
 *
 *     <minimax:tool_call>
 *     <invoke name="get_weather">
 *     <parameter name="city">Oslo</parameter>
 *     </invoke>
 *     </minimax:tool_call>
 *
 * Values are typed by the tool's schema (parameter-types.ts). Recognised by a template that
 * mentions `<minimax:tool_call>`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const minimaxM2Family: ToolFamilyDefinition = {
  syntax: {
    shape: "xml-params",
    family: "minimax-m2",
    triggers: ["<minimax:tool_call>"],
    sectionOpen: "<minimax:tool_call>\n",
    sectionClose: "</minimax:tool_call>",
    callOpen: '<invoke name="',
    nameClose: '">\n',
    paramOpen: '<parameter name="',
    paramNameClose: '">',
    paramClose: "</parameter>\n",
    callClose: "</invoke>\n",
    separator: "",
    maxCalls: Infinity,
    markerTokens: ["<minimax:tool_call>", "</minimax:tool_call>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<minimax:tool_call>"),
  origin: "hand-written",
  nativeTools: true,
};
