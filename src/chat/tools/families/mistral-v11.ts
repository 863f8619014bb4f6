/**
 * Mistral tokenizer v11 and later (Mistral Small 3.2, Magistral, Devstral, Ministral 3): each call
 * is `[TOOL_CALLS]` then the name, `[ARGS]` and the arguments object, with no list around them:
 * `[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}[TOOL_CALLS]now[ARGS]{}`. Mistral Small 3.2's
 * template writes earlier calls with `[CALL_ID]<id>` before `[ARGS]`; the parser skips one if the
 * model writes it. Recognised by a template that mentions `[ARGS]` (older Mistral templates,
 * `[TOOL_CALLS][{"name": …}]`, have none), so it is checked before the mistral family. Earlier
 * call ids are rewritten to Mistral's 9 characters, as for the mistral family.
 */
import type { ToolFamilyDefinition } from "../family.ts";
import { mistralCallId } from "./mistral.ts";

export const mistralV11Family: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "mistral-v11",
    triggers: ["[TOOL_CALLS]"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "[TOOL_CALLS]",
    nameClose: "[ARGS]",
    callClose: "",
    separator: "",
    callIdMarker: "[CALL_ID]",
    maxCalls: Infinity,
    markerTokens: ["[TOOL_CALLS]", "[ARGS]", "[CALL_ID]"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("[TOOL_CALLS]") && template.includes("[ARGS]"),
  origin: "hand-written",
  nativeTools: true,
  historyCallId: mistralCallId,
};
