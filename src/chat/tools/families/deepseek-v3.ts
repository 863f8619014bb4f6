/**
 * DeepSeek V3 and R1 (and the R1 distills): the calls sit between `<｜tool▁calls▁begin｜>` and
 * `<｜tool▁calls▁end｜>`, one per line, each one
 * `<｜tool▁call▁begin｜>function<｜tool▁sep｜>` name, then the arguments object in a "```json" fence,
 * then `<｜tool▁call▁end｜>`:
 *
 *     <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
 *     ```json
 *     {"city": "Oslo"}
 *     ```<｜tool▁call▁end｜><｜tool▁calls▁end｜>
 *
 * Recognised by a template that writes `<｜tool▁sep｜>` and a "```json" fence (DeepSeek V3.1 has
 * no fence and is the deepseek-v3.1 family).
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const deepseekV3Family: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "deepseek-v3",
    triggers: ["<｜tool▁calls▁begin｜>"],
    sectionOpen: "<｜tool▁calls▁begin｜>",
    sectionClose: "<｜tool▁calls▁end｜>",
    callOpen: "<｜tool▁call▁begin｜>function<｜tool▁sep｜>",
    nameClose: "\n```json\n",
    callClose: "\n```<｜tool▁call▁end｜>",
    separator: "\n",
    maxCalls: Infinity,
    markerTokens: ["<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>"],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<｜tool▁sep｜>") && template.includes("```json"),
  origin: "hand-written",
  nativeTools: true,
};
