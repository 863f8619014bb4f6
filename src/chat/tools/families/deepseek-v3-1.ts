/**
 * DeepSeek V3.1: the calls sit between `<｜tool▁calls▁begin｜>` and `<｜tool▁calls▁end｜>`, each one
 * `<｜tool▁call▁begin｜>` name `<｜tool▁sep｜>` arguments object `<｜tool▁call▁end｜>`, back to back
 * (the bars and the low line are the fullwidth `｜` and `▁`). Recognised by a template that
 * writes `<｜tool▁sep｜>` and no "```json" fence (DeepSeek V3 and R1 put the arguments in one and
 * are the deepseek-v3 family).
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const deepseekV31Family: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "deepseek-v3.1",
    triggers: ["<｜tool▁calls▁begin｜>"],
    sectionOpen: "<｜tool▁calls▁begin｜>",
    sectionClose: "<｜tool▁calls▁end｜>",
    callOpen: "<｜tool▁call▁begin｜>",
    nameClose: "<｜tool▁sep｜>",
    callClose: "<｜tool▁call▁end｜>",
    separator: "",
    maxCalls: Infinity,
    markerTokens: ["<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<｜tool▁sep｜>") && !template.includes("```json"),
  origin: "hand-written",
  nativeTools: true,
};
