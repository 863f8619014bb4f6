/**
 * Character-at-a-time JSON scanning for the streaming tool-call parser (tool-call-parser.ts).
 *
 * The scanners only find where a JSON string or value ends (tracking nesting, strings and escapes)
 * and reject what can never become JSON; they build nothing. They are lenient where leniency
 * costs nothing: raw control characters inside strings and the spelling of numbers and literals
 * are not checked.
 */

/** Result of feeding one character to a scanner. */
export type ScanStep =
  /** Consumed; the value goes on. */
  | "more"
  /** Consumed; it was the value's last character. */
  | "done"
  /** Not consumed: the value (a number or literal) ended just before it. */
  | "done-before"
  /** This character can not continue the value. */
  | "error";

/** JSON whitespace: space, tab, line feed, carriage return. */
export function isJsonWhitespace(c: string): boolean {
  return c === " " || c === "\n" || c === "\r" || c === "\t";
}

/** `text` without its leading JSON whitespace. */
export function trimJsonWhitespaceStart(text: string): string {
  let i = 0;
  while (i < text.length && isJsonWhitespace(text.charAt(i))) i++;
  return text.slice(i);
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const HEX = /^[0-9a-fA-F]$/;
/** Characters that end a number or literal (or can not start a value). */
const STRUCTURAL = ',:{}[]"';

/** Scans the body of a JSON string, after its opening quote, up to and including the closing quote. */
export class JsonStringScanner {
  #escape = false;
  #hexLeft = 0;

  /** Feeds one character: "done" for the closing quote. */
  step(c: string): "more" | "done" | "error" {
    if (this.#hexLeft > 0) {
      this.#hexLeft--;
      return HEX.test(c) ? "more" : "error";
    }
    if (this.#escape) {
      this.#escape = false;
      if (c === "u") this.#hexLeft = 4;
      else if (SIMPLE_ESCAPES[c] === undefined) return "error";
      return "more";
    }
    if (c === "\\") this.#escape = true;
    return c === '"' ? "done" : "more";
  }

  /** True when the next character is read as plain string text (no escape under way). */
  get plain(): boolean {
    return !this.#escape && this.#hexLeft === 0;
  }
}

/**
 * Scans one JSON value from its first (non-whitespace) character: an object or array ends with its
 * closing bracket, a string with its closing quote, and a number or literal just before the first
 * character that can not belong to it ("done-before").
 */
export class JsonValueScanner {
  /** Closing brackets still expected, innermost last. */
  readonly #closers: string[] = [];
  #string: JsonStringScanner | undefined;
  #scalar = false;
  #started = false;

  /** Feeds one character. */
  step(c: string): ScanStep {
    if (this.#string !== undefined) {
      const step = this.#string.step(c);
      if (step !== "done") return step;
      this.#string = undefined;
      return this.#closers.length === 0 ? "done" : "more";
    }
    if (this.#scalar) return isJsonWhitespace(c) || STRUCTURAL.includes(c) ? "done-before" : "more";
    if (!this.#started) {
      this.#started = true;
      if (isJsonWhitespace(c) || (STRUCTURAL.includes(c) && c !== "{" && c !== "[" && c !== '"')) return "error";
      if (c !== "{" && c !== "[" && c !== '"') this.#scalar = true;
    }
    if (c === '"') this.#string = new JsonStringScanner();
    else if (c === "{") this.#closers.push("}");
    else if (c === "[") this.#closers.push("]");
    else if (c === "}" || c === "]") {
      if (this.#closers.pop() !== c) return "error";
      return this.#closers.length === 0 ? "done" : "more";
    }
    return "more";
  }

  /** True inside a string with no escape under way: only `"` and `\` change the state. */
  get inPlainString(): boolean {
    return this.#string?.plain === true;
  }
}

/**
 * Decodes the body of a JSON string (the text between its quotes). Lenient: raw control characters
 * are kept, an unknown escape stands for its character, and an escape cut off at the end of the
 * text (a truncated string) is left out.
 */
export function decodeJsonString(body: string): string {
  let out = "";
  let i = 0;
  while (i < body.length) {
    const slash = body.indexOf("\\", i);
    if (slash === -1) return out + body.slice(i);
    out += body.slice(i, slash);
    const escape = body.charAt(slash + 1);
    if (escape === "") return out;
    if (escape === "u") {
      const hex = body.slice(slash + 2, slash + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) return out;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i = slash + 6;
      continue;
    }
    out += SIMPLE_ESCAPES[escape] ?? escape;
    i = slash + 2;
  }
  return out;
}
