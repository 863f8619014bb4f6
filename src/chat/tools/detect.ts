/**
 * Which tool-calling family a chat template belongs to: the first of FAMILIES whose `detect`
 * accepts its source, else the generic JSON envelope.
 */
import type { ToolFamilyDefinition } from "./family.ts";
import { commandR7bFamily } from "./families/command-r7b.ts";
import { graniteFamily } from "./families/granite.ts";
import { genericFamily } from "./families/generic.ts";
import { hermesFamily } from "./families/hermes.ts";
import { llama3Family } from "./families/llama3.ts";
import { mistralFamily } from "./families/mistral.ts";

/** Checked in order: markers specific to one family first. */
export const FAMILIES: readonly ToolFamilyDefinition[] = [mistralFamily, commandR7bFamily, graniteFamily, hermesFamily, llama3Family];

export function detectToolFamily(templateSource: string): ToolFamilyDefinition {
  return FAMILIES.find((family) => family.detect(templateSource)) ?? genericFamily;
}
