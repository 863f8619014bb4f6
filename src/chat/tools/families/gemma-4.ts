/**
 * Google Gemma 4: each call is a `<|tool_call>` block holding `call:`, the name and the arguments
 * as a dict in Gemma's own literal syntax: keys bare, strings between `<|"|>` tokens, no spaces;
 * several calls are several blocks:
 *
 *     <|tool_call>call:get_weather{city:<|"|>Oslo<|"|>,days:3}<tool_call|>
 *
 * The templates render earlier calls that way (arguments sorted by name, as the grammar writes
 * them) and tool results as `<|tool_response>response:name{…}<tool_response|>`, so the family is
 * native. Recognised by the template writing `<|tool_call>call:`.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const gemma4Family: ToolFamilyDefinition = {
  syntax: {
    shape: "literal-args",
    family: "gemma-4",
    triggers: ["<|tool_call>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "<|tool_call>call:",
    argumentsOpen: "{",
    keyValueSeparator: ":",
    itemSeparator: ",",
    argumentsClose: "}",
    callClose: "<tool_call|>",
    separator: "",
    maxCalls: Infinity,
    stringDelimiters: ['<|"|>'],
    dictKeys: "bare",
    // The templates write `None` for null (Jinja's rendering of Python's None).
    literals: { true: true, false: false, null: null, None: null },
    valueGrammar: "literal",
    sortedKeys: true,
    markerTokens: ["<|tool_call>", "<tool_call|>", '<|"|>'],
    alternativeTriggers: [],
  },
  detect: (template) => template.includes("<|tool_call>call:"),
  origin: "hand-written",
  nativeTools: true,
};
