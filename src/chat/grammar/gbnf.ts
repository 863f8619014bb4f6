/**
 * Small helpers for writing llama.cpp GBNF grammars, shared by the grammar converters
 * (regex-to-gbnf.ts, json-schema-to-gbnf.ts).
 *
 * Facts about llama.cpp's GBNF parser (src/llama-grammar.cpp) that these helpers rely on:
 * - rule names are `[a-zA-Z0-9-]+`; the grammar starts at `root`;
 * - inside `"..."` and `[...]` the only escapes are `\xHH`, `\uHHHH`, `\UHHHHHHHH`, `\t`, `\r`,
 *   `\n`, `\\`, `\"`, `\[`, `\]`, `\-` (no `\f`, `\v`, `\0`, `\^`); anything else is a raw UTF-8
 *   code point;
 * - in `[...]`, `^` right after `[` negates, and `a-b` is a range unless `-` is followed by `]`;
 * - `.` is any code point, newline included;
 * - a quantifier after a `"literal"` repeats the whole literal;
 * - `{m,n}` with n > 2000 silently becomes `{m,}`, and m > 2000 is an error
 *   (MAX_REPETITION_THRESHOLD); a quantified `( ... )` group counts the rules generated inside it
 *   toward that limit, so quantify rule names rather than big groups.
 */

/**
 * Code points llama.cpp's lenient UTF-8 decoder can produce from bytes that are not valid UTF-8:
 * UTF-8-encoded surrogates (ED A0..BF xx) and values above U+10FFFF (F4 90+, F5..FF leads, up to
 * 22 bits). A negated class `[^...]` or `.` accepts them, so the model could emit invalid UTF-8:
 * add these ranges to every negated class (gbnfCharClass does when `negated`). Overlong encodings
 * (C0 80, E0 80 80, ...) decode to ordinary code points and cannot be excluded by a grammar.
 */
export const GBNF_NON_UTF8_RANGES: readonly (readonly [number, number])[] = [
  [0xd800, 0xdfff],
  [0x110000, 0x3fffff],
];

/** llama.cpp's MAX_REPETITION_THRESHOLD: the largest count `{m,n}` can take. */
export const GBNF_MAX_REPETITION = 2000;

/** Input a converter cannot express as a grammar; `construct` names what was unsupported. */
export class GrammarConversionError extends Error {
  constructor(
    message: string,
    readonly construct: string,
  ) {
    super(message);
    this.name = "GrammarConversionError";
  }
}

function hex(codePoint: number, digits: number): string {
  return codePoint.toString(16).toUpperCase().padStart(digits, "0");
}

/** `\xHH`, `\uHHHH` or `\UHHHHHHHH`, whichever is shortest. */
function escapeCodePoint(codePoint: number): string {
  if (codePoint <= 0xff) return `\\x${hex(codePoint, 2)}`;
  if (codePoint <= 0xffff) return `\\u${hex(codePoint, 4)}`;
  return `\\U${hex(codePoint, 8)}`;
}

/** Code points written as themselves in the grammar text (visible, not confusable with syntax). */
const RAW_NON_ASCII = /^[\p{L}\p{N}\p{P}\p{S}\p{M}]$/u;

function escapeCommon(codePoint: number): string | undefined {
  switch (codePoint) {
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x5c:
      return "\\\\";
  }
  if (codePoint < 0x20 || codePoint === 0x7f) return escapeCodePoint(codePoint);
  if (codePoint >= 0x80) {
    // Lone surrogates (never produced by UTF-8 text) and invisible or unassigned code points are escaped.
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) return escapeCodePoint(codePoint);
    if (!RAW_NON_ASCII.test(String.fromCodePoint(codePoint))) return escapeCodePoint(codePoint);
  }
  return undefined;
}

/** One code point escaped for use inside a `"..."` literal. */
export function gbnfLiteralChar(codePoint: number): string {
  if (codePoint === 0x22) return '\\"';
  return escapeCommon(codePoint) ?? String.fromCodePoint(codePoint);
}

/** A quoted, escaped GBNF literal matching exactly `text` (iterated by code point). */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) out += gbnfLiteralChar(ch.codePointAt(0)!);
  return out + '"';
}

/** One code point escaped for use inside `[...]` (also safe as the first character or a range end). */
export function gbnfCharClassChar(codePoint: number): string {
  switch (codePoint) {
    case 0x5b:
      return "\\[";
    case 0x5d:
      return "\\]";
    case 0x2d:
      return "\\-";
    case 0x5e: // `^`: there is no `\^` escape, and a raw `^` first would negate the class
      return "\\x5E";
  }
  if (codePoint > 0x10ffff) return escapeCodePoint(codePoint);
  return escapeCommon(codePoint) ?? String.fromCodePoint(codePoint);
}

/**
 * A GBNF character class from inclusive code point ranges, e.g. `[a-z0-9_]`; `negated` gives
 * `[^...]` and also excludes GBNF_NON_UTF8_RANGES (unless already covered). Ranges are written in
 * the order given.
 */
export function gbnfCharClass(ranges: readonly (readonly [number, number])[], negated = false): string {
  let out = negated ? "[^" : "[";
  const all = negated ? [...ranges, ...GBNF_NON_UTF8_RANGES.filter(([lo, hi]) => !ranges.some(([a, b]) => a <= lo && hi <= b))] : ranges;
  for (const [lo, hi] of all) {
    out += gbnfCharClassChar(lo);
    if (hi > lo + 1) out += "-" + gbnfCharClassChar(hi);
    else if (hi === lo + 1) out += gbnfCharClassChar(hi);
  }
  return out + "]";
}

/** Lower-case `hint` reduced to `[a-z0-9-]`, never empty. */
export function sanitizeRuleName(hint: string): string {
  const name = hint
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return name === "" ? "rule" : name;
}

/**
 * Collects the rules of one grammar. `addRule` names a body (re-using the name of an identical
 * body added before); `reserve` + `define` allow recursive rules. `toString(root)` writes
 * `root ::= <root>` first, then the other rules in the order they were first named.
 */
export class GrammarBuilder {
  readonly #bodies = new Map<string, string | undefined>();
  readonly #byBody = new Map<string, string>();

  /** A fresh rule name from `hint` (`hint`, `hint-2`, `hint-3`, ...), not yet defined. */
  reserve(hint: string): string {
    const base = sanitizeRuleName(hint);
    let name = base;
    for (let i = 2; name === "root" || this.#bodies.has(name); i++) name = `${base}-${i}`;
    this.#bodies.set(name, undefined);
    return name;
  }

  /** Sets the body of a name from `reserve`. */
  define(name: string, body: string): void {
    if (!this.#bodies.has(name)) throw new Error(`rule ${name} was not reserved`);
    if (this.#bodies.get(name) !== undefined) throw new Error(`rule ${name} is already defined`);
    this.#bodies.set(name, body);
    if (!this.#byBody.has(body)) this.#byBody.set(body, name);
  }

  /** The name of a rule with this body: an existing one with the same body, else a new one from `hint`. */
  addRule(hint: string, body: string): string {
    const existing = this.#byBody.get(body);
    if (existing !== undefined) return existing;
    const name = this.reserve(hint);
    this.define(name, body);
    return name;
  }

  /** Whether `name` has been reserved or defined. */
  has(name: string): boolean {
    return this.#bodies.has(name);
  }

  /** The complete grammar: `root ::= <root>` (an expression, e.g. a rule name) and every rule. */
  toString(root: string): string {
    const lines = [`root ::= ${root}`];
    for (const [name, body] of this.#bodies) {
      if (body === undefined) throw new Error(`rule ${name} was reserved but never defined`);
      lines.push(`${name} ::= ${body}`);
    }
    return lines.join("\n") + "\n";
  }
}
