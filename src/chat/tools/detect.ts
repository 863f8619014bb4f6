/**
 * Which tool-calling family a chat template belongs to: the first of FAMILIES whose `detect`
 * accepts its source, else the generic JSON envelope.
 */
import type { ToolFamilyDefinition } from "./family.ts";
import { commandR7bFamily } from "./families/command-r7b.ts";
import { deepseekV3Family } from "./families/deepseek-v3.ts";
import { deepseekV31Family } from "./families/deepseek-v3-1.ts";
import { functionaryV31Family } from "./families/functionary-v3-1.ts";
import { functionaryV32Family } from "./families/functionary-v3-2.ts";
import { gemma4Family } from "./families/gemma-4.ts";
import { graniteFamily } from "./families/granite.ts";
import { genericFamily } from "./families/generic.ts";
import { glm45Family } from "./families/glm-4-5.ts";
import { glm47Family } from "./families/glm-4-7.ts";
import { harmonyFamily } from "./families/harmony.ts";
import { hermesFamily } from "./families/hermes.ts";
import { kimiK2Family } from "./families/kimi-k2.ts";
import { lfm2Family } from "./families/lfm2.ts";
import { llama3Family } from "./families/llama3.ts";
import { mistralFamily } from "./families/mistral.ts";
import { mistralV11Family } from "./families/mistral-v11.ts";
import { minimaxM2Family } from "./families/minimax-m2.ts";
import { qwen3CoderFamily } from "./families/qwen3-coder.ts";
import { seedOssFamily } from "./families/seed-oss.ts";

/**
 * Checked in order: markers specific to one family first. Mistral v11 (`[ARGS]`) before the older
 * mistral family (both write `[TOOL_CALLS]`); Functionary v3.1 before llama3 (its template has
 * Llama 3 headers and `<|python_tag|>` too); the per-parameter families (Qwen3-Coder, GLM) before
 * Hermes (their templates mention `<tool_call>` too). LFM2 and Gemma 4 (keyword arguments with
 * literal values) have markers of their own.
 */
export const FAMILIES: readonly ToolFamilyDefinition[] = [
  harmonyFamily,
  mistralV11Family,
  mistralFamily,
  deepseekV3Family,
  deepseekV31Family,
  kimiK2Family,
  functionaryV31Family,
  functionaryV32Family,
  commandR7bFamily,
  graniteFamily,
  seedOssFamily,
  minimaxM2Family,
  glm47Family,
  glm45Family,
  qwen3CoderFamily,
  lfm2Family,
  gemma4Family,
  hermesFamily,
  llama3Family,
];

export function detectToolFamily(templateSource: string): ToolFamilyDefinition {
  return FAMILIES.find((family) => family.detect(templateSource)) ?? genericFamily;
}
