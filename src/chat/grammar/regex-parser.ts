/**
 * The regex AST (`Node`) and its parser: ECMAScript `u`-flag pattern text → Node, with
 * unsupported constructs rejected by a GrammarConversionError naming them.
 */
import { GBNF_MAX_REPETITION, GrammarConversionError } from "./gbnf.ts";
import { DIGIT, LINE_TERMINATORS, MAX_CODE_POINT, SURROGATES, WORD, complement, scanClass, withoutSurrogates, type Range } from "./regex-ranges.ts";
import { isNever, simplify } from "./regex-simplify.ts";

export type Node =
  | { readonly t: "set"; readonly ranges: readonly Range[] } // one code point; no ranges: matches nothing
  | { readonly t: "seq"; readonly items: readonly Node[] }
  | { readonly t: "alt"; readonly options: readonly Node[] }
  | { readonly t: "rep"; readonly node: Node; readonly min: number; readonly max: number }
  | { readonly t: "start" }
  | { readonly t: "end" };

/** Largest repetition bound accepted (bigger ones would build huge grammars). */
const MAX_COUNT = GBNF_MAX_REPETITION * GBNF_MAX_REPETITION;

function setNode(ranges: readonly Range[]): Node {
  return { t: "set", ranges: withoutSurrogates(ranges) };
}

// ---------------------------------------------------------------------------------------------
// Parser (input already known to be a valid `u` regex, except when looking for a better error)

const SYNTAX_CHARS = "^$\\.*+?()[]{}|/";

class Parser {
  readonly #chars: string[];
  #pos = 0;

  constructor(readonly pattern: string) {
    this.#chars = Array.from(pattern);
  }

  parse(): Node {
    const node = this.#alternation();
    if (this.#pos < this.#chars.length) this.#invalid(`unexpected '${this.#peek()}'`);
    return node;
  }

  #peek(offset = 0): string | undefined {
    return this.#chars[this.#pos + offset];
  }

  #next(): string {
    const ch = this.#chars[this.#pos++];
    if (ch === undefined) this.#invalid("unexpected end of pattern");
    return ch;
  }

  #eat(text: string): boolean {
    const chars = Array.from(text);
    if (chars.every((ch, i) => this.#peek(i) === ch)) {
      this.#pos += chars.length;
      return true;
    }
    return false;
  }

  #invalid(message: string): never {
    throw new GrammarConversionError(`invalid regex /${this.pattern}/: ${message}`, "invalid regex");
  }

  #unsupported(construct: string, what = construct): never {
    throw new GrammarConversionError(`regex /${this.pattern}/ uses ${what}, which grammars cannot express`, construct);
  }

  #alternation(): Node {
    const options = [this.#sequence()];
    while (this.#eat("|")) options.push(this.#sequence());
    return options.length === 1 ? options[0]! : { t: "alt", options };
  }

  #sequence(): Node {
    const items: Node[] = [];
    for (let ch = this.#peek(); ch !== undefined && ch !== "|" && ch !== ")"; ch = this.#peek()) {
      items.push(this.#quantified(this.#atom()));
    }
    return items.length === 1 ? items[0]! : { t: "seq", items };
  }

  #quantified(node: Node): Node {
    let min: number;
    let max: number;
    const ch = this.#peek();
    if (ch === "*") [min, max] = [0, Infinity];
    else if (ch === "+") [min, max] = [1, Infinity];
    else if (ch === "?") [min, max] = [0, 1];
    else if (ch === "{") {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.#chars.slice(this.#pos, this.#pos + 40).join(""));
      if (match === null) this.#invalid("incomplete quantifier");
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === "" ? Infinity : Number(match[3]);
      this.#pos += match[0].length - 1;
      if (max < min) this.#invalid("numbers out of order in {} quantifier");
    } else return node;
    this.#pos++;
    this.#eat("?"); // lazy: same language
    if (node.t === "start" || node.t === "end") this.#invalid("nothing to repeat");
    if (min > MAX_COUNT || (max !== Infinity && max > MAX_COUNT)) {
      this.#unsupported("repetition count", `a repetition count above ${MAX_COUNT}`);
    }
    if (["*", "+", "?", "{"].includes(this.#peek() ?? "")) this.#invalid("nothing to repeat");
    return { t: "rep", node, min, max };
  }

  #atom(): Node {
    const ch = this.#next();
    switch (ch) {
      case "^":
        return { t: "start" };
      case "$":
        return { t: "end" };
      case ".":
        return setNode(complement(LINE_TERMINATORS));
      case "(":
        return this.#group();
      case "[":
        return this.#charClass();
      case "\\":
        return this.#escape(false);
      case "*":
      case "+":
      case "?":
      case "{":
      case "}":
      case "]":
      case ")":
        this.#invalid(`lone '${ch}'`);
    }
    return this.#literal(ch.codePointAt(0)!);
  }

  #literal(codePoint: number): Node {
    if (codePoint >= SURROGATES[0] && codePoint <= SURROGATES[1]) {
      this.#unsupported("lone surrogate", `the lone surrogate U+${codePoint.toString(16).toUpperCase()}`);
    }
    return { t: "set", ranges: [[codePoint, codePoint]] };
  }

  #group(): Node {
    if (this.#eat("?")) {
      if (this.#eat(":")) {
        // non-capturing
      } else if (this.#eat("=") || this.#eat("!")) {
        this.#unsupported("lookahead", "a lookahead (?= ) / (?! )");
      } else if (this.#eat("<=") || this.#eat("<!")) {
        this.#unsupported("lookbehind", "a lookbehind (?<= ) / (?<! )");
      } else if (this.#eat("<")) {
        while (this.#peek() !== ">") this.#next();
        this.#next();
      } else if (this.#eat("P=")) {
        this.#unsupported("backreference", "a named backreference (?P=name)");
      } else if (/^[a-zA-Z-]$/.test(this.#peek() ?? "")) {
        this.#unsupported("inline modifiers", "inline modifiers (?flags: )");
      } else this.#invalid("invalid group");
    }
    const node = this.#alternation();
    if (this.#next() !== ")") this.#invalid("unterminated group");
    return node;
  }

  #charClass(): Node {
    const negated = this.#eat("^");
    const ranges: Range[] = [];
    while (!this.#eat("]")) {
      const first = this.#classAtom();
      if (this.#peek() === "-" && this.#peek(1) !== "]" && this.#peek(1) !== undefined) {
        this.#pos++;
        const last = this.#classAtom();
        if (typeof first !== "number" || typeof last !== "number") this.#invalid("invalid character class range");
        if (last < first) this.#invalid("range out of order in character class");
        ranges.push([first, last]);
      } else if (typeof first === "number") ranges.push([first, first]);
      else ranges.push(...first);
    }
    return setNode(negated ? complement(ranges) : ranges);
  }

  /** A code point, or the ranges of a class escape such as `\d`. */
  #classAtom(): number | readonly Range[] {
    const ch = this.#next();
    if (ch !== "\\") return ch.codePointAt(0)!;
    if (this.#peek() === "b") {
      this.#pos++;
      return 0x08;
    }
    if (this.#peek() === "-") {
      this.#pos++;
      return 0x2d;
    }
    const isClassEscape = /^[dDwWsSpP]$/.test(this.#peek() ?? "");
    const node = this.#escape(true);
    if (node.t !== "set") throw new Error("unreachable");
    const only = node.ranges[0];
    if (!isClassEscape && only !== undefined) return only[0];
    return node.ranges;
  }

  #hex(digits: number): number {
    let text = "";
    for (let i = 0; i < digits; i++) {
      const ch = this.#next();
      if (!/^[0-9a-fA-F]$/.test(ch)) this.#invalid("invalid escape");
      text += ch;
    }
    return parseInt(text, 16);
  }

  /** After a `\`. */
  #escape(inClass: boolean): Node {
    const ch = this.#next();
    switch (ch) {
      case "d":
        return setNode(DIGIT);
      case "D":
        return setNode(complement(DIGIT));
      case "w":
        return setNode(WORD);
      case "W":
        return setNode(complement(WORD));
      case "s":
        return setNode(scanClass("\\s"));
      case "S":
        return setNode(complement(scanClass("\\s")));
      case "b":
      case "B":
        return this.#unsupported("word boundary", `the word boundary \\${ch}`);
      case "k":
        return this.#unsupported("backreference", "a named backreference \\k<name>");
      case "p":
      case "P": {
        if (this.#next() !== "{") this.#invalid("invalid property name");
        let name = "";
        while (this.#peek() !== "}") name += this.#next();
        this.#next();
        let ranges: Range[];
        try {
          ranges = scanClass(`\\p{${name}}`);
        } catch {
          this.#invalid(`invalid property name \\p{${name}}`);
        }
        return setNode(ch === "p" ? ranges : complement(ranges));
      }
      case "f":
        return this.#literal(0x0c);
      case "n":
        return this.#literal(0x0a);
      case "r":
        return this.#literal(0x0d);
      case "t":
        return this.#literal(0x09);
      case "v":
        return this.#literal(0x0b);
      case "0":
        if (/^[0-9]$/.test(this.#peek() ?? "")) this.#invalid("invalid decimal escape");
        return this.#literal(0);
      case "c": {
        const letter = this.#next();
        if (!/^[a-zA-Z]$/.test(letter)) this.#invalid("invalid unicode escape");
        return this.#literal(letter.charCodeAt(0) % 32);
      }
      case "x":
        return this.#literal(this.#hex(2));
      case "u": {
        if (this.#eat("{")) {
          let text = "";
          while (this.#peek() !== "}") text += this.#next();
          this.#next();
          const value = /^[0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : NaN;
          if (!(value <= MAX_CODE_POINT)) this.#invalid("invalid unicode escape");
          return this.#literal(value);
        }
        const unit = this.#hex(4);
        if (unit >= 0xd800 && unit <= 0xdbff && this.#peek() === "\\" && this.#peek(1) === "u") {
          const save = this.#pos;
          this.#pos += 2;
          const low = /^[0-9a-fA-F]{4}$/.test(this.#chars.slice(this.#pos, this.#pos + 4).join("")) ? this.#hex(4) : -1;
          if (low >= 0xdc00 && low <= 0xdfff) return this.#literal(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
          this.#pos = save;
        }
        return this.#literal(unit);
      }
    }
    if (/^[1-9]$/.test(ch)) return this.#unsupported("backreference", `the backreference \\${ch}`);
    if (SYNTAX_CHARS.includes(ch) || (inClass && ch === "-")) return this.#literal(ch.codePointAt(0)!);
    return this.#invalid(`invalid escape \\${ch}`);
  }
}

/**
 * `pattern` with Python's named groups `(?P<name>…)` (pydantic passes Python patterns through)
 * written as ECMAScript's `(?<name>…)`: the same language. Escapes and classes are skipped.
 */
function pythonNamedGroups(pattern: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      out += pattern.slice(i, i + 2);
      i++;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (!inClass && pattern.startsWith("(?P<", i)) {
      out += "(?<";
      i += 3;
      continue;
    }
    out += c;
  }
  return out;
}

/** Parses and simplifies `pattern`, or throws a GrammarConversionError. */
export function parsePattern(original: string): Node {
  const pattern = original.includes("(?P<") ? pythonNamedGroups(original) : original;
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    // Prefer naming an unsupported construct (e.g. inline modifiers, which Node 20 rejects).
    try {
      new Parser(pattern).parse();
    } catch (parseError) {
      if (parseError instanceof GrammarConversionError && parseError.construct !== "invalid regex") throw parseError;
    }
    throw new GrammarConversionError(`invalid regex /${pattern}/: ${(error as Error).message}`, "invalid regex");
  }
  const node = simplify(new Parser(pattern).parse(), true, true, pattern);
  if (isNever(node)) {
    throw new GrammarConversionError(`regex /${pattern}/ matches no string`, "empty character class");
  }
  return node;
}
