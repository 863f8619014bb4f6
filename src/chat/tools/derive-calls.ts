/**
 * Finding one probe call in a template's rendering of it, for each call shape derivation reads
 * (derive.ts): where the call's core lies — from what names it to the end of its arguments — and
 * the shape's own markup inside the core. The markup around cores (each call's, the section's) is
 * derive.ts's business.
 *
 *  - json-object: the innermost JSON object holding the name and the arguments (`{"name": …,
 *    "arguments": {…}}`, `tool_name`/`parameters` too);
 *  - named-json: the name, markup without braces, then the arguments object (`name[ARGS]{…}`,
 *    `{"name": {…}}`);
 *  - xml-params: the name, then one element per parameter (`name>\n<parameter=k>\nv\n</parameter>`),
 *    told apart by the probe's two parameters, a string and an integer (whose markup may say
 *    which kind each is: `string="true"`).
 */

/** A probe call: its name and its two arguments. */
export interface ProbeCall {
  readonly name: string;
  readonly text: string;
  readonly number: number;
}

import { commonSuffix } from "../render-diff.ts";

/** The probe calls' parameter names. */
export const TEXT_KEY = "probe_key";
export const NUMBER_KEY = "probe_count";

export type CoreMarkup =
  | { readonly shape: "json-object"; readonly nameKey: "name" | "tool_name"; readonly argumentsKey: "arguments" | "parameters" }
  | { readonly shape: "named-json"; readonly nameClose: string }
  | {
      readonly shape: "xml-params";
      readonly nameClose: string;
      readonly paramOpen: string;
      readonly paramNameClose: string;
      readonly paramClose: string;
      readonly jsonParamNameClose?: string;
    };

export interface CallCore {
  readonly start: number;
  readonly end: number;
  readonly markup: CoreMarkup;
}

export type CoreLocator = (text: string, call: ProbeCall) => CallCore | undefined;

/** The innermost JSON object around the call's name, if it holds the name and the arguments under keys Parley reads. */
export const jsonObjectCore: CoreLocator = (text, call) => {
  const at = text.indexOf(JSON.stringify(call.name));
  if (at === -1) return undefined;
  for (let start = text.lastIndexOf("{", at); start !== -1; start = text.lastIndexOf("{", start - 1)) {
    const end = objectEnd(text, start);
    if (end === undefined || end <= at) continue;
    const value = safeParse(text.slice(start, end));
    if (typeof value !== "object" || value === null) return undefined;
    const entries = Object.entries(value);
    const nameKey = entries.find(([, v]) => v === call.name)?.[0];
    const argumentsKey = entries.find(([, v]) => holdsProbeArguments(v))?.[0];
    if ((nameKey !== "name" && nameKey !== "tool_name") || (argumentsKey !== "arguments" && argumentsKey !== "parameters")) return undefined;
    return { start, end, markup: { shape: "json-object", nameKey, argumentsKey } };
  }
  return undefined;
};

/** Most characters of markup between a name and its arguments. */
const MAX_NAME_CLOSE = 64;

/** The name, then (after markup without braces) the arguments object. */
export const namedJsonCore: CoreLocator = (text, call) => {
  const at = text.indexOf(call.name);
  if (at === -1) return undefined;
  const open = text.indexOf("{", at + call.name.length);
  const nameClose = text.slice(at + call.name.length, open);
  // Not a name among other keys (`"name": "x", "arguments": {…}` is a JSON object call).
  if (open === -1 || nameClose.length > MAX_NAME_CLOSE || /[{}[\],]/.test(nameClose)) return undefined;
  const end = objectEnd(text, open);
  if (end === undefined || !holdsProbeArguments(safeParse(text.slice(open, end)))) return undefined;
  return { start: at, end, markup: { shape: "named-json", nameClose } };
};

/** The name, then an element per parameter: the text before each name and each value is the same for both. */
export const xmlParamsCore: CoreLocator = (text, call) => {
  const at = text.indexOf(call.name);
  const key1 = text.indexOf(TEXT_KEY, at + call.name.length);
  const value1 = text.indexOf(call.text, key1 + TEXT_KEY.length);
  const key2 = text.indexOf(NUMBER_KEY, value1 + call.text.length);
  const value2 = text.indexOf(String(call.number), key2 + NUMBER_KEY.length);
  if (at === -1 || key1 === -1 || value1 === -1 || key2 === -1 || value2 === -1) return undefined;
  const paramNameClose = text.slice(key1 + TEXT_KEY.length, value1);
  // A JSON value may be marked apart from a string (DeepSeek V3.2's `string="false">`).
  const jsonClose = text.slice(key2 + NUMBER_KEY.length, value2);
  if (paramNameClose.includes(TEXT_KEY) || jsonClose.includes(NUMBER_KEY)) return undefined;
  const head = text.slice(at + call.name.length, key1);
  const middle = text.slice(value1 + call.text.length, key2);
  const common = commonSuffix(head, middle);
  // The parameter's opening tag: from the last `<` of what both share (`<parameter=`, not `>\n<parameter=`).
  const tag = common.lastIndexOf("<");
  const paramOpen = tag === -1 ? common : common.slice(tag);
  const paramClose = middle.slice(0, middle.length - paramOpen.length);
  if (paramOpen.trim() === "" || paramClose.trim() === "") return undefined;
  const rest = text.slice(value2 + String(call.number).length);
  const closeLength = rest.startsWith(paramClose) ? paramClose.length : rest.startsWith(paramClose.trimEnd()) ? paramClose.trimEnd().length : -1;
  if (closeLength === -1) return undefined;
  const nameClose = head.slice(0, head.length - paramOpen.length);
  const markup: CoreMarkup = { shape: "xml-params", nameClose, paramOpen, paramNameClose, paramClose, ...(jsonClose === paramNameClose ? {} : { jsonParamNameClose: jsonClose }) };
  return { start: at, end: value2 + String(call.number).length + closeLength, markup };
};

function holdsProbeArguments(value: unknown): boolean {
  const parsed = typeof value === "string" ? safeParse(value) : value;
  return typeof parsed === "object" && parsed !== null && TEXT_KEY in parsed;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Index just past the JSON object starting at `start` (strings respected), if it closes. */
function objectEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}
