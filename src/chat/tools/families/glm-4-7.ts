/**
 * GLM 4.7 (and templates written like it): GLM 4.5's calls without the newlines, blocks back to
 * back:
 *
 *     <tool_call>get_weather<arg_key>city</arg_key><arg_value>Oslo</arg_value></tool_call>
 *
 * Values are typed by the tool's schema (parameter-types.ts). Recognised by a template that
 * writes `</arg_key><arg_value>` back to back (the glm-4.5 family puts a newline between); the
 * parser reads either layout. Checked before the Hermes family.
 */
import type { ToolFamilyDefinition } from "../family.ts";
import { GLM_MARKER_TOKENS } from "./glm-4-5.ts";

export const glm47Family: ToolFamilyDefinition = {
  syntax: {
    shape: "xml-params",
    family: "glm-4.7",
    triggers: ["<tool_call>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<tool_call>",
    nameClose: "",
    paramOpen: "<arg_key>",
    paramNameClose: "</arg_key><arg_value>",
    paramClose: "</arg_value>",
    callClose: "</tool_call>",
    separator: "",
    maxCalls: Infinity,
    markerTokens: GLM_MARKER_TOKENS,
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("</arg_key><arg_value>"),
  origin: "hand-written",
  nativeTools: true,
};
