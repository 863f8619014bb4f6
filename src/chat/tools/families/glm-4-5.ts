/**
 * GLM 4.5 and 4.6 (and templates written like them): each call is a `<tool_call>` block holding
 * the name, then per argument an `<arg_key>` and an `<arg_value>` element with the raw value, one
 * element per line; blocks separated by a newline:
 *
 *     <tool_call>get_weather
 *     <arg_key>city</arg_key>
 *     <arg_value>Oslo</arg_value>
 *     </tool_call>
 *
 * Values are typed by the tool's schema (parameter-types.ts). Recognised by a template that
 * mentions `<arg_key>` without writing `</arg_key><arg_value>` back to back (that is GLM 4.7's
 * layout, the glm-4.7 family); the parser reads either layout. Checked before the Hermes family.
 */
import type { ToolFamilyDefinition } from "../family.ts";

/** The marker tokens of GLM's vocabulary. */
export const GLM_MARKER_TOKENS: readonly string[] = ["<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"];

export const glm45Family: ToolFamilyDefinition = {
  syntax: {
    shape: "xml-params",
    family: "glm-4.5",
    triggers: ["<tool_call>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<tool_call>",
    nameClose: "\n",
    paramOpen: "<arg_key>",
    paramNameClose: "</arg_key>\n<arg_value>",
    paramClose: "</arg_value>\n",
    callClose: "</tool_call>",
    separator: "\n",
    maxCalls: Infinity,
    markerTokens: GLM_MARKER_TOKENS,
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<arg_key>") && !template.includes("</arg_key><arg_value>"),
  origin: "hand-written",
  nativeTools: true,
};
