/**
 * gpt-oss (OpenAI's Harmony format): a call is a message of its own on the `commentary` channel
 * addressed to the function, `<|channel|>commentary to=functions.get_weather <|constrain|>json
 * <|message|>{"city": "Oslo"}`, ended by `<|call|>` (an end-of-generation token: one call per
 * turn). Models also put the recipient in the role part
 * (`<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>`), as the
 * templates render earlier calls: the Harmony reasoning splitter (harmony-splitter.ts) rewrites
 * every header with a recipient into the first form, which is what this syntax reads and what
 * the grammar writes.
 *
 * The grammar covers the message header (`header`): after the thoughts, a message is either a
 * plain answer on the `final` channel or the call, so `tool_choice` decides the channel and the
 * recipient, not only the arguments. Recognised by a template that writes an `analysis` channel
 * and calls to `functions.`.
 */
import { HARMONY_CALL_ARGUMENTS, HARMONY_CALL_OPEN, HARMONY_MARKERS } from "../../reasoning/harmony-splitter.ts";
import type { ToolFamilyDefinition } from "../family.ts";

export const harmonyFamily: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "harmony",
    triggers: [HARMONY_CALL_OPEN],
    sectionOpen: "",
    sectionClose: "",
    callOpen: HARMONY_CALL_OPEN,
    namePrefix: "functions.",
    nameClose: HARMONY_CALL_ARGUMENTS,
    callClose: "",
    separator: "",
    maxCalls: 1,
    markerTokens: [...HARMONY_MARKERS],
    alternativeTriggers: [],
    header: { lead: "<|start|>assistant", content: "<|channel|>final<|message|>" },
  },
  detect: (template) => template.includes("<|channel|>") && template.includes("analysis") && template.includes("functions."),
  origin: "hand-written",
  nativeTools: true,
};
