/**
 * Derives a tool-call format from a chat template that no family file names, the way llama.cpp's
 * differential analysis does (written anew here): render one assistant turn as plain content,
 * with one call and with two calls, and read the call markup off the differences.
 *
 * Handled, in the three call shapes of syntax.ts (derive-calls.ts finds a call of each): calls
 * written as JSON objects holding the name and the arguments (`{"name": …, "arguments": {…}}`,
 * any key order, `parameters` or `tool_name` too); a name then an arguments object
 * (`<call>name<args>{…}</call>`, `{"name": {…}}`); a name then one element per parameter
 * (`<function=name><parameter=k>v</parameter></function>`, `<invoke name="…"><arg …>`). Around
 * them, any markers: each call wrapped, the calls wrapped once, or both. Anything else (templates
 * that cannot render calls, call ids inside the markup) is not derived:
 * the caller falls back to the generic envelope and says why. A derived format is checked before
 * it is used: its parser must read the two-call rendering back as the two calls with their
 * arguments.
 */
import type { ChatMessage } from "../../domain/chat.ts";
import type { ToolDefinition } from "../../domain/tools.ts";
import type { ToolCallSyntax } from "./syntax.ts";
import { createToolCallParser } from "./call-parser.ts";
import { commonPrefix, commonSuffix, turnDifference } from "../render-diff.ts";
import { jsonObjectCore, namedJsonCore, NUMBER_KEY, TEXT_KEY, xmlParamsCore, type CallCore, type CoreLocator, type ProbeCall } from "./derive-calls.ts";
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

const PROBE_PARAMETERS = { type: "object", properties: { [TEXT_KEY]: { type: "string" }, [NUMBER_KEY]: { type: "integer" } } };
const PROBE_TOOLS: readonly ToolDefinition[] = [
  { name: "parley_probe_one", description: "Probe.", parameters: PROBE_PARAMETERS, strict: false },
  { name: "parley_probe_two", description: "Probe.", parameters: PROBE_PARAMETERS, strict: false },
];
const PROBES: readonly ProbeCall[] = [
  { name: "parley_probe_one", text: "probe_value_one", number: 7 },
  { name: "parley_probe_two", text: "probe_value_two", number: 8 },
];
const CALLS = PROBES.map((probe, i) => ({ id: `call_probe_${i + 1}`, name: probe.name, arguments: JSON.stringify({ [TEXT_KEY]: probe.text, [NUMBER_KEY]: probe.number }) }));
const USER: ChatMessage = { role: "user", content: "Probe question." };
const CONTENT = "Probe answer text.";

/** The shapes, tried in this order: the first whose call is found and whose format reads the calls back wins. */
const LOCATORS: readonly CoreLocator[] = [jsonObjectCore, namedJsonCore, xmlParamsCore];

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
  if (section === undefined || !section.includes(PROBES[0]!.name)) return failed("the template does not write the call's name");
  const pair = two === undefined ? undefined : turnDifference(plain, two, CONTENT);
  const rendered = pair === undefined ? { text: section, count: 1 } : { text: pair, count: 2 };
  let reason = "the calls are neither JSON objects holding their name, nor a name and a JSON object, nor a name and an element per parameter";
  for (const locate of LOCATORS) {
    const first = locate(section, PROBES[0]!);
    if (first === undefined) continue;
    const syntax = syntaxFrom(first, section, pair, locate);
    if (syntax === undefined) {
      reason = "the calls have no markers to recognise them by";
      continue;
    }
    const markup = [syntax.sectionOpen, syntax.callOpen, syntax.callClose, syntax.separator, syntax.sectionClose].join("");
    if (CALLS.some((c) => markup.includes(c.id))) {
      reason = "the template writes call ids inside the call markup";
      continue;
    }
    if (readsBack(syntax, rendered, true)) return { syntax, reason: `derived from the template's own rendering of calls (${syntax.shape ?? "json-object"})`, calls: rendered };
    reason = "the derived markers do not read the template's own calls back";
  }
  return failed(reason, rendered);
}

/** The format around `first` (the call in `section`), with the markup between calls read off `pair`. */
function syntaxFrom(first: CallCore, section: string, pair: string | undefined, locate: CoreLocator): ToolCallSyntax | undefined {
  const before = section.slice(0, first.start);
  const after = section.slice(first.end);
  let callOpen = "";
  let callClose = "";
  let separator = "";
  let maxCalls = 1;
  if (pair?.startsWith(before) && pair.endsWith(after)) {
    const inner = pair.slice(before.length, pair.length - after.length);
    const firstText = section.slice(first.start, first.end);
    const second = inner.startsWith(firstText) ? locate(inner.slice(firstText.length), PROBES[1]!) : undefined;
    if (second !== undefined) {
      const between = inner.slice(firstText.length, firstText.length + second.start);
      callOpen = tagAligned(commonSuffix(before, between));
      callClose = commonPrefix(after, between.slice(0, between.length - callOpen.length));
      separator = between.slice(callClose.length, between.length - callOpen.length);
      maxCalls = Infinity;
    }
  }
  const sectionOpen = before.slice(0, before.length - callOpen.length).trimStart();
  const sectionClose = after.slice(callClose.length).trimEnd();
  const trigger = (sectionOpen + callOpen).trim();
  if (trigger === "" || !/[^\s{["]/.test(trigger)) return undefined;
  const markers = [sectionOpen, callOpen, callClose, sectionClose];
  const base = { family: "derived" as const, triggers: [trigger], sectionOpen, sectionClose, callOpen, callClose, separator, maxCalls, alternativeTriggers: [] };
  const { markup } = first;
  switch (markup.shape) {
    case "json-object":
      return { ...base, markerTokens: tokenLike(markers), argumentsKey: markup.argumentsKey, nameKey: markup.nameKey };
    case "named-json":
      return { ...base, shape: "named-json", markerTokens: tokenLike([...markers, markup.nameClose]), nameClose: markup.nameClose };
    case "xml-params": {
      const { shape: _shape, ...fields } = markup;
      return { ...base, shape: "xml-params", markerTokens: tokenLike([...markers, ...Object.values(fields)]), ...fields };
    }
  }
}

/** A call's opening markup starts at a tag, not inside one (`<fn name="`, not `><fn name="` after `<calls>`). */
function tagAligned(open: string): string {
  const at = open.indexOf("<");
  return at > 0 && !/^[\s{["]/.test(open) ? open.slice(at) : open;
}

/** Markers that look like control tokens (`<tool_call>`, `[TOOL_CALLS]`), which content may not contain. */
function tokenLike(markers: readonly string[]): string[] {
  return [...new Set(markers.map((m) => m.trim()).filter((m) => /^<[^<>\s]+>$|^\[[A-Z_]+\]$/.test(m)))];
}

function failed(reason: string, calls?: RenderedCalls): Derivation {
  return { syntax: undefined, reason, calls };
}

/**
 * A family's parser reads the template's rendering of the probe calls back as exactly those calls
 * (text around them, such as a thinking block the template writes first or an end-of-turn marker,
 * may remain as content); with `withArguments`, with their arguments too.
 */
export function readsBack(syntax: ToolCallSyntax, rendered: RenderedCalls, withArguments = false): boolean {
  const parser = createToolCallParser(syntax);
  const parts: ParsedPart[] = [...parser.push(rendered.text), ...parser.finish()];
  const names = parts.flatMap((p) => (p.kind === "call" ? [p.name] : []));
  if (
    names.join(",") !==
    PROBES.slice(0, rendered.count)
      .map((c) => c.name)
      .join(",")
  )
    return false;
  if (!withArguments) return true;
  const args = names.map((_, i) => parts.flatMap((p) => (p.kind === "arguments" && p.index === i ? [p.text] : [])).join(""));
  return args.every((text, i) => {
    const probe = PROBES[i]!;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      return value[TEXT_KEY] === probe.text && value[NUMBER_KEY] === probe.number;
    } catch {
      return false;
    }
  });
}
