/**
 * Derives a tool-call format from a chat template that no family file names, the way llama.cpp's
 * differential analysis does (written anew here): render one assistant turn as plain content,
 * with one call and with two calls, and read the call markup off the differences.
 *
 * Handled: calls written as JSON objects that hold the name and the arguments
 * (`{"name": …, "arguments": {…}}`, any key order, `parameters` or `tool_name` too), in any
 * markers: each call wrapped (`<call>{…}</call>`), the calls wrapped once (`<calls>[{…}, {…}]`),
 * or both. Anything else (names outside the JSON, per-parameter markup, templates that cannot
 * render calls) is not derived: the caller falls back to the generic envelope and says why.
 * A derived format is checked before it is used: its parser must read the two-call rendering
 * back as the two calls.
 */
import type { ChatMessage } from "../../domain/chat.ts";
import type { ToolDefinition } from "../../domain/tools.ts";
import type { ToolCallSyntax } from "./syntax.ts";
import { createToolCallParser } from "./call-parser.ts";
import type { ParsedPart } from "./tool-call-parser.ts";

/** Renders a conversation with the template (no generation prompt), with these tools offered. */
export type ProbeRender = (messages: readonly ChatMessage[], tools: readonly ToolDefinition[]) => string;

export interface Derivation {
  /** The derived format; undefined when none could be derived (`reason` says why). */
  readonly syntax: ToolCallSyntax | undefined;
  readonly reason: string;
  /** The template's own rendering of the probe calls, when it wrote one (to check a hand-written family against). */
  readonly calls: RenderedCalls | undefined;
}

/** A call section as the template writes it, and how many calls it holds. */
export interface RenderedCalls {
  readonly text: string;
  readonly count: number;
}

const PROBE_TOOLS: readonly ToolDefinition[] = [
  { name: "parley_probe_one", description: "Probe.", parameters: { type: "object", properties: { probe_key: { type: "string" } } }, strict: false },
  { name: "parley_probe_two", description: "Probe.", parameters: { type: "object", properties: { probe_key: { type: "string" } } }, strict: false },
];
const CALLS = [
  { id: "call_probe_1", name: "parley_probe_one", arguments: '{"probe_key": "probe_value_one"}' },
  { id: "call_probe_2", name: "parley_probe_two", arguments: '{"probe_key": "probe_value_two"}' },
];
const USER: ChatMessage = { role: "user", content: "Probe question." };
const CONTENT = "Probe answer text.";

export function deriveToolCallSyntax(render: ProbeRender): Derivation {
  let plain: string, one: string, two: string | undefined;
  try {
    plain = render([USER, { role: "assistant", content: CONTENT }], PROBE_TOOLS);
    one = render([USER, { role: "assistant", content: "", toolCalls: CALLS.slice(0, 1) }], PROBE_TOOLS);
  } catch (error) {
    return failed(`the template cannot render a tool call (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    two = render([USER, { role: "assistant", content: "", toolCalls: CALLS }], PROBE_TOOLS);
  } catch {
    two = undefined; // one call per turn
  }
  const section = turnDifference(plain, one, CONTENT);
  if (section === undefined || !section.includes(CALLS[0]!.name)) return failed("the template does not write the call's name");
  const pair = two === undefined ? undefined : turnDifference(plain, two, CONTENT);
  const rendered = pair === undefined ? { text: section, count: 1 } : { text: pair, count: 2 };
  const first = callObject(section, CALLS[0]!.name);
  if (first === undefined) return failed("the call is not a JSON object holding its name and arguments", rendered);
  const before = section.slice(0, first.start);
  const after = section.slice(first.end);
  let callOpen = "";
  let callClose = "";
  let separator = "";
  let maxCalls = 1;
  if (pair !== undefined && pair.startsWith(before) && pair.endsWith(after)) {
    const inner = pair.slice(before.length, pair.length - after.length);
    const second = callObject(inner, CALLS[1]!.name);
    const firstText = section.slice(first.start, first.end);
    if (second !== undefined && inner.startsWith(firstText)) {
      const between = inner.slice(firstText.length, second.start);
      callOpen = commonSuffix(before, between);
      callClose = commonPrefix(after, between.slice(0, between.length - callOpen.length));
      separator = between.slice(callClose.length, between.length - callOpen.length);
      maxCalls = Infinity;
    }
  }
  const sectionOpen = before.slice(0, before.length - callOpen.length).trimStart();
  const sectionClose = after.slice(callClose.length).trimEnd();
  const trigger = (sectionOpen + callOpen).trim();
  if (trigger === "" || !/[^\s{["]/.test(trigger)) return failed("the calls have no markers to recognise them by", rendered);
  const syntax: ToolCallSyntax = {
    family: "derived",
    triggers: [trigger],
    sectionOpen,
    sectionClose,
    callOpen,
    callClose,
    separator: separator === "" && maxCalls > 1 ? "" : separator,
    argumentsKey: first.argumentsKey,
    nameKey: first.nameKey,
    maxCalls,
    markerTokens: [...new Set([sectionOpen, callOpen, callClose, sectionClose].map((m) => m.trim()).filter((m) => /^<[^<>\s]+>$|^\[[A-Z_]+\]$/.test(m)))],
    alternativeTriggers: [],
  };
  if (!readsBack(syntax, rendered)) return failed("the derived markers do not read the template's own calls back", rendered);
  return { syntax, reason: "derived from the template's own rendering of calls", calls: rendered };
}

function failed(reason: string, calls?: RenderedCalls): Derivation {
  return { syntax: undefined, reason, calls };
}

/** What `withCalls` writes instead of the plain turn's content (the call section), trimmed of whitespace at both ends. */
function turnDifference(plain: string, withCalls: string, content: string): string | undefined {
  const at = plain.indexOf(content);
  if (at === -1) return undefined;
  const head = plain.slice(0, at);
  const tail = plain.slice(at + content.length);
  let start = commonPrefix(head, withCalls).length;
  let end = withCalls.length - commonSuffix(tail, withCalls.slice(start)).length;
  // Differences begin and end at marker boundaries: `<|START_ACTION|>` against `<|START_RESPONSE|>`
  // differs from `A` on, but the marker is all of it.
  const opened = withCalls.lastIndexOf("<", start - 1);
  if (opened !== -1 && opened > withCalls.lastIndexOf(">", start - 1)) start = opened;
  const rest = withCalls.slice(end);
  const closes = rest.indexOf(">");
  if (closes !== -1 && (rest.indexOf("<") === -1 || closes < rest.indexOf("<")) && !/\s/.test(rest.slice(0, closes))) end += closes + 1;
  return end > start ? withCalls.slice(start, end).trim() : undefined;
}

interface CallObject {
  readonly start: number;
  readonly end: number;
  readonly nameKey: "name" | "tool_name";
  readonly argumentsKey: "arguments" | "parameters";
}

/** The innermost JSON object around the call's name, if it holds the name and the arguments under keys Parley reads. */
function callObject(text: string, name: string): CallObject | undefined {
  const at = text.indexOf(JSON.stringify(name));
  if (at === -1) return undefined;
  for (let start = text.lastIndexOf("{", at); start !== -1; start = text.lastIndexOf("{", start - 1)) {
    const end = objectEnd(text, start);
    if (end === undefined || end <= at) continue;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(start, end));
    } catch {
      return undefined;
    }
    if (typeof value !== "object" || value === null) return undefined;
    const entries = Object.entries(value);
    const nameKey = entries.find(([, v]) => v === name)?.[0];
    const argumentsKey = entries.find(([, v]) => holdsProbeArguments(v))?.[0];
    if ((nameKey !== "name" && nameKey !== "tool_name") || (argumentsKey !== "arguments" && argumentsKey !== "parameters")) return undefined;
    return { start, end, nameKey, argumentsKey };
  }
  return undefined;
}

function holdsProbeArguments(value: unknown): boolean {
  const parsed = typeof value === "string" ? safeParse(value) : value;
  return typeof parsed === "object" && parsed !== null && "probe_key" in parsed;
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

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

function commonSuffix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[a.length - 1 - i] === b[b.length - 1 - i]) i++;
  return a.slice(a.length - i);
}

/**
 * A family's parser reads the template's rendering of the probe calls back as exactly those calls
 * (text around them, such as a thinking block the template writes first or an end-of-turn marker,
 * may remain as content).
 */
export function readsBack(syntax: ToolCallSyntax, rendered: RenderedCalls): boolean {
  const parser = createToolCallParser(syntax);
  const parts: ParsedPart[] = [...parser.push(rendered.text), ...parser.finish()];
  const names = parts.flatMap((p) => (p.kind === "call" ? [p.name] : []));
  return names.join(",") === CALLS.slice(0, rendered.count).map((c) => c.name).join(",");
}
