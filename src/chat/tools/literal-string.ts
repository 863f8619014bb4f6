/**
 * The contents of one string literal of a "literal-args" family (syntax.ts), for
 * literal-value.ts: after a one-character quote (`"`, `'`), Python's escapes are decoded (`\n`,
 * `\'`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`, octal, line continuation; JSON's `\/` too; an unknown
 * escape keeps its backslash, as Python does); inside a longer delimiter (Gemma 4's `<|"|>`) the
 * text is raw, a prefix of the closing delimiter held until it is known. Decoded text comes out
 * as the characters arrive.
 */
import { TriggerMatcher } from "./markup-matcher.ts";

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  "/": "/",
  "\n": "",
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\x0b",
};
const HEX_DIGITS: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };
const HEX = /^[0-9a-fA-F]$/;
const OCTAL = /^[0-7]$/;

/**
 * The contents of one string, after its opening delimiter: decoded text as it comes, and the end
 * of the string.
 */
export class StringLiteral {
  readonly #quote: string;
  readonly #closer: TriggerMatcher | undefined;
  /** The escape under way, after its backslash; undefined when none. */
  #escape: string | undefined;
  /** Text decoded by the character that closed the string (an octal escape ending there). */
  #tail = "";

  constructor(delimiter: string) {
    this.#quote = delimiter;
    this.#closer = delimiter.length > 1 ? new TriggerMatcher([delimiter]) : undefined;
  }

  /** Feeds one character: the decoded text it releases, or undefined when it closes the string. */
  step(c: string): string | undefined {
    if (this.#closer !== undefined) {
      const text = this.#closer.step(c);
      return this.#closer.matched === undefined ? text : undefined;
    }
    if (this.#escape === undefined) {
      if (c === "\\") {
        this.#escape = "";
        return "";
      }
      return c === this.#quote ? undefined : c;
    }
    const escape = this.#escape + c;
    const first = escape.charAt(0);
    const simple = SIMPLE_ESCAPES[first];
    if (simple !== undefined) return this.#done(simple);
    const digits = HEX_DIGITS[first];
    if (digits !== undefined) {
      if (escape.length > 1 && !HEX.test(c)) return this.#done(`\\${escape}`);
      if (escape.length <= digits) {
        this.#escape = escape;
        return "";
      }
      const code = Number.parseInt(escape.slice(1), 16);
      return this.#done(code > 0x10ffff ? `\\${escape}` : String.fromCodePoint(code));
    }
    if (OCTAL.test(first)) {
      if (OCTAL.test(c) && escape.length <= 3) {
        if (escape.length === 3) return this.#done(String.fromCharCode(Number.parseInt(escape, 8)));
        this.#escape = escape;
        return "";
      }
      if (escape.length === 1) return ""; // unreachable: `first` is `c`
      // The octal escape ended before `c`, which is read on its own.
      const text = String.fromCharCode(Number.parseInt(this.#escape, 8));
      this.#escape = undefined;
      const rest = this.step(c);
      if (rest !== undefined) return text + rest;
      this.#tail = text; // the string closed right after the escape
      return undefined;
    }
    return this.#done(`\\${escape}`); // unknown: the backslash stays, as in Python
  }

  /**
   * The rest of the text, when the string closed or the input ended: what the closing character
   * decoded, an escape under way as written; a held prefix of the delimiter is markup.
   */
  finish(): string {
    const escape = this.#escape;
    const tail = this.#tail;
    this.#escape = undefined;
    this.#tail = "";
    if (escape === undefined) return tail;
    if (OCTAL.test(escape.charAt(0))) return String.fromCharCode(Number.parseInt(escape, 8));
    return `\\${escape}`;
  }

  #done(text: string): string | undefined {
    this.#escape = undefined;
    return text;
  }
}
