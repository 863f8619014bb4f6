/**
 * Literal values of the "literal-args" shape (syntax.ts) turned into JSON text as they stream,
 * for literal-call-parser.ts: Python literals (LFM2: `"Oslo"`, `'it\'s'`, `3`, `True`, `None`,
 * `[1, 2]`, `{"k": v}`) and Gemma 4's (`<|"|>Oslo<|"|>`, `{k:v}`).
 *
 * - Strings: between one of `stringDelimiters` (literal-string.ts: Python's escapes after a
 *   quote, raw text inside a longer delimiter); their contents stream as they come.
 * - Bare words (numbers, `literals`, anything else) are buffered until they end: a number in a
 *   Python spelling is written as JSON (`1_000`, `+1`, `.5`, `5.`); a word of `literals` as its
 *   value; any other word, or any bare value of a parameter typed as a string (`bareString`), as
 *   a string. Nothing is dropped.
 * - Lists and dicts nest; dict keys are quoted or bare (a bare key is its text); a trailing comma
 *   is allowed. A dict key is written when its value begins.
 *
 * The reader emits JSON text through a callback; `finish()` closes what is open, so the emitted
 * text is always one valid JSON value (or nothing, for a value that never began).
 */
import { isJsonWhitespace } from "./json-scanner.ts";
import { StringLiteral } from "./literal-string.ts";
import { StringEscaper } from "./xml-value.ts";

/** What a reader needs to know of the family's literal syntax. */
export interface LiteralSyntax {
  readonly stringDelimiters: readonly string[];
  readonly literals: Readonly<Record<string, boolean | null>>;
}

/** Characters that end a bare word (besides whitespace). */
const NOT_BARE = ",()[]{}<>\"'=";

/** Whether `c` can be part of a bare word (a dict key's also ends at `:`). */
export function isBareChar(c: string, key = false): boolean {
  return !isJsonWhitespace(c) && !NOT_BARE.includes(c) && !(key && c === ":");
}

/** A bare word as JSON text (see the file header). */
export function bareWordJson(word: string, syntax: LiteralSyntax, asString: boolean): string {
  if (asString) return JSON.stringify(word);
  if (Object.hasOwn(syntax.literals, word)) return JSON.stringify(syntax.literals[word]);
  const number = pythonNumber(word);
  return number ?? JSON.stringify(word);
}

/** A number in JSON or Python spelling, as JSON text; undefined when `word` is none. */
function pythonNumber(word: string): string | undefined {
  if (!/^[-+]?([0-9][0-9_]*)?(\.[0-9_]*)?([eE][-+]?[0-9_]+)?$/.test(word) || !/[0-9]/.test(word)) return undefined;
  if (/(^|[^0-9])_|_($|[^0-9])/.test(word)) return undefined; // `_` only between digits
  let text = word.replace(/_/g, "").replace(/^\+/, "");
  text = text
    .replace(/^(-?)\./, "$10.")
    .replace(/\.($|[eE])/, ".0$1")
    .replace(/^(-?)0+(?=[0-9])/, "$1");
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "number" && Number.isFinite(value) ? text : undefined;
  } catch {
    return undefined;
  }
}

interface Frame {
  readonly kind: "list" | "dict";
  /** list: "value" (a value or the end), "after" (a comma or the end); dict: "key", "colon", "value", "after". */
  state: "key" | "colon" | "value" | "after";
  items: number;
  key: string;
}

/** One literal value, read a character at a time and written out as JSON (see the file header). */
export class LiteralValueReader {
  readonly #syntax: LiteralSyntax;
  readonly #emit: (text: string) => void;
  readonly #bareString: boolean;
  #prefix: string;
  readonly #stack: Frame[] = [];
  /** The delimiter being matched, and how much of it was read; undefined when none. */
  #opening: { delimiters: string[]; read: string; forKey: boolean } | undefined;
  #string: StringLiteral | undefined;
  #escaper = new StringEscaper();
  #stringIsKey = false;
  #bare: string | undefined;
  #bareIsKey = false;
  #started = false;
  #done = false;

  /**
   * @param prefix emitted when the value begins (the key before it), never if it does not.
   * @param bareString a bare value is a string (the parameter is typed as one).
   */
  constructor(syntax: LiteralSyntax, emit: (text: string) => void, options: { readonly prefix?: string; readonly bareString?: boolean } = {}) {
    this.#syntax = syntax;
    this.#emit = emit;
    this.#prefix = options.prefix ?? "";
    this.#bareString = options.bareString ?? false;
  }

  /** Whether the value has begun (something was emitted). */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Feeds one character: "more"; "done" when it ended the value; "done-before" when the value
   * (a bare word) ended just before it, `c` not consumed; "error" when it cannot continue the
   * value (nothing emitted for it).
   */
  step(c: string): "more" | "done" | "done-before" | "error" {
    if (this.#done) return "error";
    if (this.#string !== undefined) {
      const text = this.#string.step(c);
      if (text !== undefined) {
        this.#stringText(text);
        return "more";
      }
      this.#stringText(this.#string.finish());
      this.#endString();
      return this.#afterValue();
    }
    if (this.#opening !== undefined) return this.#openingStep(c);
    if (this.#bare !== undefined) {
      if (isBareChar(c, this.#bareIsKey)) {
        this.#bare += c;
        return "more";
      }
      this.#endBare();
      if (this.#stack.length === 0) {
        this.#done = true;
        return "done-before";
      }
      return this.step(c);
    }
    const frame = this.#stack.at(-1);
    if (isJsonWhitespace(c)) return "more";
    if (frame === undefined) return this.#valueStart(c);
    switch (frame.state) {
      case "value":
        if (c === "]" && frame.kind === "list") return this.#close(frame);
        return this.#valueStart(c);
      case "key":
        if (c === "}") return this.#close(frame);
        if (this.#syntax.stringDelimiters.some((d) => d.startsWith(c))) return this.#openingStep(c, true);
        if (!isBareChar(c, true)) return "error";
        this.#bare = c;
        this.#bareIsKey = true;
        return "more";
      case "colon":
        if (c !== ":") return "error";
        frame.state = "value";
        return "more";
      case "after":
        if (c === ",") {
          frame.state = frame.kind === "list" ? "value" : "key";
          return "more";
        }
        return c === (frame.kind === "list" ? "]" : "}") ? this.#close(frame) : "error";
    }
  }

  /** The end of the text: closes what is open (a dict key without its value is dropped). */
  finish(): void {
    if (this.#string !== undefined) {
      this.#stringText(this.#string.finish());
      this.#endString();
    } else if (this.#bare !== undefined) {
      this.#endBare();
    }
    this.#opening = undefined;
    for (let frame = this.#stack.pop(); frame !== undefined; frame = this.#stack.pop()) this.#emit(frame.kind === "list" ? "]" : "}");
    this.#done = true;
  }

  /** A value begins with `c` (a string delimiter, a bracket or a bare word). */
  #valueStart(c: string): "more" | "error" {
    if (c === "[" || c === "{") {
      this.#begin(c);
      this.#stack.push({ kind: c === "[" ? "list" : "dict", state: c === "[" ? "value" : "key", items: 0, key: "" });
      return "more";
    }
    if (this.#syntax.stringDelimiters.some((d) => d.startsWith(c))) return this.#openingStep(c, false);
    if (!isBareChar(c)) return "error";
    this.#bare = c;
    this.#bareIsKey = false;
    return "more";
  }

  /** The next character of a string's opening delimiter. */
  #openingStep(c: string, forKey = this.#opening?.forKey ?? false): "more" | "error" {
    const read = (this.#opening?.read ?? "") + c;
    const delimiters = (this.#opening?.delimiters ?? this.#syntax.stringDelimiters).filter((d) => d.startsWith(read));
    if (delimiters.length === 0) return "error";
    const whole = delimiters.find((d) => d === read);
    if (whole === undefined) {
      this.#opening = { delimiters, read, forKey };
      return "more";
    }
    this.#opening = undefined;
    this.#string = new StringLiteral(whole);
    this.#stringIsKey = forKey;
    if (forKey) this.#stack.at(-1)!.key = "";
    else this.#begin('"');
    return "more";
  }

  /** Emits the text a value begins with, after the separator and key in front of it. */
  #begin(text: string): void {
    const frame = this.#stack.at(-1);
    let lead = "";
    if (frame !== undefined) {
      lead = frame.items > 0 ? ", " : "";
      if (frame.kind === "dict") lead += `${JSON.stringify(frame.key)}: `;
      frame.items++;
      frame.state = "after";
    } else {
      lead = this.#prefix;
      this.#prefix = "";
    }
    this.#started = true;
    this.#emit(lead + text);
  }

  #stringText(text: string): void {
    if (text === "") return;
    if (this.#stringIsKey) this.#stack.at(-1)!.key += text;
    else this.#emit(this.#escaper.push(text));
  }

  #endString(): void {
    this.#string = undefined;
    if (this.#stringIsKey) {
      this.#stack.at(-1)!.state = "colon";
      return;
    }
    this.#emit(`${this.#escaper.finish()}"`);
  }

  #endBare(): void {
    const word = this.#bare ?? "";
    this.#bare = undefined;
    const frame = this.#stack.at(-1);
    if (this.#bareIsKey && frame !== undefined) {
      frame.key = word;
      frame.state = "colon";
      return;
    }
    this.#begin(bareWordJson(word, this.#syntax, this.#bareString && frame === undefined));
  }

  #close(frame: Frame): "more" | "done" {
    this.#stack.pop();
    this.#emit(frame.kind === "list" ? "]" : "}");
    return this.#afterValue();
  }

  /** A value ended: the whole value when no container is open. */
  #afterValue(): "more" | "done" {
    if (this.#stack.length > 0) return "more";
    this.#done = true;
    return "done";
  }
}
