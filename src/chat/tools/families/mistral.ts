/**
 * Mistral (v3 tokenizer and later templates): `[TOOL_CALLS]` then a JSON array of
 * `{"name": …, "arguments": …}` objects. Recognised by a template that mentions `[TOOL_CALLS]`.
 */
import { createHash } from "node:crypto";
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
  origin: "hand-written",
  nativeTools: true,
  historyCallId: mistralCallId,
};

/**
 * Mistral's templates reject call ids that are not 9 alphanumeric characters: earlier calls'
 * `call_…` ids are mapped to 9 hex digits of their hash (stable, so call and result still match).
 */
export function mistralCallId(id: string): string {
  return /^[a-zA-Z0-9]{9}$/.test(id) ? id : createHash("sha256").update(id).digest("hex").slice(0, 9);
}
