/**
 * Function names written outside the JSON arguments (named-call-parser.ts): which characters a
 * name is made of, and the name itself once the family's decorations are stripped (Kimi K2's
 * `functions.get_weather:0` is `get_weather`).
 */
import { isJsonWhitespace } from "./json-scanner.ts";
import type { NamedJsonSyntax } from "./syntax.ts";

/** Longest name (or call id) read before the markup counts as malformed. */
export const MAX_NAME_LENGTH = 256;

const NOT_IN_NAMES = "<>[]{}()|｜\"'`,;=";

/** Names are runs of characters other than whitespace and markup punctuation. */
export function isNameChar(c: string): boolean {
  return !isJsonWhitespace(c) && !NOT_IN_NAMES.includes(c);
}

/** The function's name in `text` without `namePrefix` and, with `nameIndexSeparator`, the call number after it. */
export function bareName(syntax: NamedJsonSyntax, text: string): string {
  const { namePrefix, nameIndexSeparator } = syntax;
  let name = namePrefix !== undefined && namePrefix !== "" && text.startsWith(namePrefix) ? text.slice(namePrefix.length) : text;
  if (nameIndexSeparator !== undefined && nameIndexSeparator !== "") {
    const at = name.lastIndexOf(nameIndexSeparator);
    if (at !== -1 && /^[0-9]*$/.test(name.slice(at + nameIndexSeparator.length))) name = name.slice(0, at);
  }
  return name;
}
