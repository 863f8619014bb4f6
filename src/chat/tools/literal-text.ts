/**
 * Calls written in a "literal-args" family's syntax (syntax.ts), for earlier turns of a
 * conversation whose template does not render `tool_calls` itself (LFM2): JSON arguments become
 * keyword arguments with the family's literals — strings between its first delimiter (a quote
 * with Python's escapes; a longer delimiter around the raw text), numbers as they are, its own
 * words for true / false / null, lists and dicts.
 */
import type { ToolCall } from "../../domain/tools.ts";
import { isBareChar } from "./literal-value.ts";
import type { LiteralArgsSyntax } from "./syntax.ts";

/** A section holding `calls`, as the model would write it. */
export function literalCallsText(syntax: LiteralArgsSyntax, calls: readonly ToolCall[]): string {
  return `${syntax.sectionOpen}${calls.map((call) => literalCallText(syntax, call)).join(syntax.separator)}${syntax.sectionClose}`;
}

/** One call; arguments that are not a JSON object are written inside the brackets as they are. */
export function literalCallText(syntax: LiteralArgsSyntax, call: ToolCall): string {
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === "" ? "{}" : call.arguments);
  } catch {
    args = undefined;
  }
  const body =
    typeof args === "object" && args !== null && !Array.isArray(args)
      ? Object.entries(args)
          .map(([key, value]) => `${key}${syntax.keyValueSeparator}${literalText(syntax, value)}`)
          .join(syntax.itemSeparator)
      : call.arguments;
  return `${syntax.callOpen}${call.name}${syntax.argumentsOpen}${body}${syntax.argumentsClose}${syntax.callClose}`;
}

/** A JSON value as a literal of the family's syntax. */
export function literalText(syntax: LiteralArgsSyntax, value: unknown): string {
  if (typeof value === "string") return stringText(syntax, value);
  if (typeof value === "number") return JSON.stringify(value);
  if (typeof value === "boolean" || value === null) return wordFor(syntax, value);
  if (Array.isArray(value)) return `[${value.map((v) => literalText(syntax, v)).join(syntax.itemSeparator)}]`;
  if (typeof value === "object") {
    const space = syntax.itemSeparator.endsWith(" ") ? " " : "";
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${literalKey(syntax, k)}:${space}${literalText(syntax, v)}`);
    return `{${entries.join(syntax.itemSeparator)}}`;
  }
  return wordFor(syntax, null);
}

/** A dict key: bare where the syntax says so and the name allows (literal-value.ts reads it back), else a string. */
export function literalKey(syntax: LiteralArgsSyntax, key: string): string {
  const bare = syntax.dictKeys === "bare" && key !== "" && [...key].every((c) => isBareChar(c, true));
  return bare ? key : stringText(syntax, key);
}

/** The first of the family's words for `value`. */
function wordFor(syntax: LiteralArgsSyntax, value: boolean | null): string {
  return Object.entries(syntax.literals).find(([, v]) => v === value)?.[0] ?? JSON.stringify(value);
}

function stringText(syntax: LiteralArgsSyntax, text: string): string {
  const quote = syntax.stringDelimiters[0] ?? '"';
  if (quote.length > 1) return `${quote}${text}${quote}`;
  let out = "";
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    if (c === quote || c === "\\") out += `\\${c}`;
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return `${quote}${out}${quote}`;
}
