/**
 * Llama 3.1 / 3.2 / 3.3 JSON tool calls: the whole answer is one
 * `{"name": …, "parameters": …}` object, sometimes after `<|python_tag|>`, or (Llama 3.2) with a
 * leading `"type": "function"`. The family's templates
 * allow a single call per turn. Recognised by a template with Llama 3 headers
 * (`<|start_header_id|>`) that handles tools, or that mentions `<|python_tag|>`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const llama3Family: ToolFamilyDefinition = {
  syntax: {
    family: "llama3",
    // Llama 3.2's small models often write `{"type": "function", "name": …, "parameters": …}`.
    triggers: ['{"name"', '{"type"'],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "",
    callClose: "",
    separator: "",
    argumentsKey: "parameters",
    maxCalls: 1,
    markerTokens: ["<|python_tag|>"],
    alternativeTriggers: ["<|python_tag|>"],
  },
  detect: (template) => template.includes("<|python_tag|>") || (template.includes("<|start_header_id|>") && /\btools\b/.test(template)),
  origin: "hand-written",
  nativeTools: true,
};
