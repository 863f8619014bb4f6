/**
 * Raw per-parameter values (xml-call-parser.ts) as JSON text: ValueReader finds where a value
 * ends; a string value is escaped as it streams, any other value converted once it is complete,
 * by its ParameterKind (parameter-types.ts). Never drops data: text that should be JSON but is not
 * becomes a string.
 */
import { isJsonWhitespace, trimJsonWhitespaceStart } from "./json-scanner.ts";
import { TriggerMatcher } from "./markup-matcher.ts";
import type { ParameterKind } from "./parameter-types.ts";
import type { XmlParamsSyntax } from "./syntax.ts";

/**
 * One value, from right after `paramNameClose` to its closing tag: the whitespace `paramNameClose`
 * ends with, when it comes first, and the whitespace `paramClose` starts with, when it comes last,
 * are markup (Qwen3-Coder's `>\n` … `\n</parameter>`); either may be left out.
 */
export class ValueReader {
  readonly #lead: string;
  readonly #closers: string[];
  #kind: ParameterKind | undefined;
  #leadAt = 0;
  #closer = new TriggerMatcher([]);
  #escaper = new StringEscaper();
  #raw = "";
  /** The closing tag was read: the value is complete. */
  ended = false;

  constructor(syntax: XmlParamsSyntax) {
    const nameClose = syntax.paramNameClose;
    this.#lead = nameClose.slice(trimEnd(nameClose).length);
    const closeLead = syntax.paramClose.slice(0, syntax.paramClose.length - trimJsonWhitespaceStart(syntax.paramClose).length);
    const tag = closingTag(syntax.paramClose);
    this.#closers = closeLead === "" ? [tag] : [tag, closeLead + tag];
  }

  /** A value of this kind begins: returns its opening text (a string's quote). */
  start(kind: ParameterKind | undefined): string {
    this.#kind = kind;
    this.#leadAt = 0;
    this.#closer = new TriggerMatcher(this.#closers);
    this.#escaper = new StringEscaper();
    this.#raw = "";
    this.ended = false;
    return kind === "string" ? '"' : "";
  }

  /** End of the run of characters from `i` that are value text as they are; `i` when none. */
  plainRun(text: string, i: number): number {
    if (this.#leadAt < this.#lead.length || this.#closer.prefix !== "") return i;
    let j = i;
    while (j < text.length && !this.#closer.startsTrigger(text.charAt(j))) j++;
    return j;
  }

  /** Value text as it is (a run from plainRun): returns the arguments text it gives now. */
  text(text: string): string {
    if (text === "") return "";
    if (this.#kind === "string") return this.#escaper.push(text);
    this.#raw += text;
    return "";
  }

  /** Feeds one character: returns the arguments text it gives now (all of the value's end when it closes it; see `ended`). */
  step(c: string): string {
    if (this.#leadAt < this.#lead.length) {
      if (c === this.#lead.charAt(this.#leadAt)) {
        this.#leadAt++;
        return "";
      }
      this.#leadAt = this.#lead.length; // left out: lenient
    }
    const out = this.text(this.#closer.step(c));
    if (this.#closer.matched === undefined) return out;
    this.ended = true;
    return out + this.end();
  }

  /** The value ends here (a held prefix of the closing tag is markup): returns its last arguments text. */
  end(): string {
    this.#closer.take();
    const raw = this.#raw;
    this.#raw = "";
    return this.#kind === "string" ? `${this.#escaper.finish()}"` : jsonValueText(raw, this.#kind);
  }
}

/** The tag that ends a value: the first piece of `paramClose` (`</parameter>` of `\n</parameter>\n`). */
export function closingTag(paramClose: string): string {
  return paramClose.split(/[ \t\n\r]+/).find((piece) => piece !== "") ?? "";
}

/**
 * Escapes string contents for JSON as they stream. A high surrogate at the end of a piece is held
 * until the next one, so a pair split between pieces is written as it would be whole: the
 * escaped pieces concatenate to the escaping of the whole text, however it was cut.
 */
export class StringEscaper {
  #high = "";

  /** The escaped form of `text` (without quotes), less a trailing high surrogate kept for later. */
  push(text: string): string {
    let s = this.#high + text;
    this.#high = "";
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#high = s.slice(-1);
      s = s.slice(0, -1);
    }
    return s === "" ? "" : JSON.stringify(s).slice(1, -1);
  }

  /** The end of the string: a held lone surrogate, escaped. */
  finish(): string {
    const s = this.#high;
    this.#high = "";
    return s === "" ? "" : JSON.stringify(s).slice(1, -1);
  }
}

/** Python's spellings, as templates that render values with `| string` write them. */
const PYTHON_LITERALS: Readonly<Record<string, string>> = { True: "true", False: "false", None: "null" };

/**
 * A complete raw value that is not a declared string, as JSON text: the text itself (without
 * surrounding whitespace) when it is JSON; for a "json" parameter also Python's `True` / `False`
 * / `None`; else the raw text as a JSON string.
 */
export function jsonValueText(raw: string, kind: ParameterKind | undefined): string {
  const text = trimJsonWhitespace(raw);
  if (text !== "") {
    try {
      JSON.parse(text);
      return text;
    } catch {
      // not JSON: below
    }
    const literal = kind === "json" ? PYTHON_LITERALS[text] : undefined;
    if (literal !== undefined) return literal;
  }
  return JSON.stringify(raw);
}

function trimEnd(text: string): string {
  let end = text.length;
  while (end > 0 && isJsonWhitespace(text.charAt(end - 1))) end--;
  return text.slice(0, end);
}

function trimJsonWhitespace(text: string): string {
  return trimEnd(trimJsonWhitespaceStart(text));
}
