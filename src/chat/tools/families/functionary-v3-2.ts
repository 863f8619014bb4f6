/**
 * MeetKai Functionary v3.2 (Llama 3 based): every part of a reply is addressed, `>>>` then a
 * recipient and a newline — `all` for text to the user, else a function and its arguments object:
 *
 *     >>>all
 *     Let me look.>>>get_weather
 *     {"city": "Oslo"}>>>get_time
 *     {}
 *
 * The generation prompt ends with the first `>>>`, so the output starts at the recipient
 * (`promptEnd`). The grammar writes either a text part or calls (`header`: `all\n` opens the text),
 * calls separated by `>>>`; the parser also reads text followed by calls. Recognised by a template
 * that writes `>>>all`; checked before llama3, whose headers its template shares.
 */
import type { ToolFamilyDefinition } from "../family.ts";

export const functionaryV32Family: ToolFamilyDefinition = {
  syntax: {
    shape: "named-json",
    family: "functionary-v3.2",
    triggers: [">>>"],
    sectionOpen: "",
    sectionClose: "",
    callOpen: "",
    nameClose: "\n",
    callClose: "",
    separator: ">>>",
    maxCalls: Infinity,
    markerTokens: [],
    alternativeTriggers: [],
    promptEnd: ">>>",
    contentName: "all",
    header: { lead: "", content: "all\n" },
  },
  detect: (template) => template.includes(">>>all"),
  origin: "hand-written",
  nativeTools: true,
};
