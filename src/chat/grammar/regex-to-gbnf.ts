/**
 * ECMAScript regular expression (`u` flag semantics) → llama.cpp GBNF.
 *
 * The grammar matches exactly the strings `new RegExp("^(?:" + pattern + ")$", "u")` matches:
 * anchors are implied, and a `^` / `$` is accepted (and dropped) only where it can only match
 * at the start / end of the whole string. Greedy and lazy quantifiers give the same language.
 *
 * Unsupported, rejected with a GrammarConversionError naming the construct: backreferences,
 * lookahead / lookbehind, `\b` / `\B`, inline modifiers, anchors elsewhere than the ends, lone
 * surrogates and patterns that can match nothing.
 */
import { GBNF_MAX_REPETITION, GrammarBuilder, gbnfCharClass, gbnfLiteral } from "./gbnf.ts";
import { type Node, parsePattern } from "./regex-parser.ts";
import { complement, withoutSurrogates, type Range } from "./regex-ranges.ts";

// ---------------------------------------------------------------------------------------------
// Emission

interface Expr {
  readonly text: string;
  /**
   * atom: can take a quantifier as is (literal, class, rule name); seq (also a quantified atom):
   * needs a rule to be quantified; alt: also needs parentheses inside a sequence.
   */
  readonly kind: "atom" | "seq" | "alt";
}

class Emitter {
  constructor(
    readonly builder: GrammarBuilder,
    readonly hint: string,
  ) {}

  emit(node: Node): Expr {
    switch (node.t) {
      case "set":
        return { text: this.#set(node.ranges), kind: "atom" };
      case "start":
      case "end":
        return { text: '""', kind: "atom" };
      case "seq": {
        const parts: Expr[] = [];
        let literal = "";
        const flush = () => {
          if (literal !== "") parts.push({ text: gbnfLiteral(literal), kind: "atom" });
          literal = "";
        };
        for (const item of node.items) {
          const only = item.t === "set" && item.ranges.length === 1 ? item.ranges[0] : undefined;
          if (only !== undefined && only[0] === only[1]) {
            literal += String.fromCodePoint(only[0]);
            continue;
          }
          flush();
          parts.push(this.emit(item));
        }
        flush();
        if (parts.length === 0) return { text: '""', kind: "atom" };
        if (parts.length === 1) return parts[0]!;
        return { text: parts.map((part) => (part.kind === "alt" ? `(${part.text})` : part.text)).join(" "), kind: "seq" };
      }
      case "alt":
        return { text: node.options.map((option) => this.emit(option).text).join(" | "), kind: "alt" };
      case "rep":
        return this.#repeat(node.node, node.min, node.max);
    }
  }

  #set(ranges: readonly Range[]): string {
    const first = ranges[0];
    if (ranges.length === 1 && first !== undefined && first[0] === first[1]) return gbnfLiteral(String.fromCodePoint(first[0]));
    // Surrogates never occur in (valid UTF-8) text, so either form is exact; gbnfCharClass also
    // excludes them and code points above U+10FFFF from the negated form. (GBNF `[^]` would be an
    // empty sequence and `.` would accept those invalid code points.)
    const negated = withoutSurrogates(complement(ranges));
    return negated.length < ranges.length ? gbnfCharClass(negated, true) : gbnfCharClass(ranges);
  }

  /** `atom` quantified with counts both at most GBNF_MAX_REPETITION. */
  #quantify(atom: string, min: number, max: number): string {
    if (max === 0) return '""';
    if (min === 1 && max === 1) return atom;
    if (min === 0 && max === 1) return `${atom}?`;
    if (min === 0 && max === Infinity) return `${atom}*`;
    if (min === 1 && max === Infinity) return `${atom}+`;
    if (max === Infinity) return `${atom}{${min},}`;
    if (min === max) return `${atom}{${min}}`;
    return `${atom}{${min},${max}}`;
  }

  #repeat(node: Node, min: number, max: number): Expr {
    const body = this.emit(node);
    const atom = body.kind === "atom" ? body.text : this.builder.addRule(this.hint, body.text);
    const K = GBNF_MAX_REPETITION;
    if (min <= K && (max <= K || max === Infinity)) {
      const text = this.#quantify(atom, min, max);
      return { text, kind: text === atom || text === '""' ? "atom" : "seq" };
    }
    // Counts above llama.cpp's limit: split into chunks of K.
    const chunk = () => this.builder.addRule(this.hint, `${atom}{${K}}`);
    const parts: string[] = [];
    if (min > K) {
      parts.push(this.#quantify(chunk(), Math.floor(min / K), Math.floor(min / K)));
      if (min % K > 0) parts.push(this.#quantify(atom, min % K, min % K));
    } else if (min > 0) parts.push(this.#quantify(atom, min, min));
    const optional = max - min;
    if (optional === Infinity) parts.push(`${atom}*`);
    else if (optional <= K) {
      if (optional > 0) parts.push(this.#quantify(atom, 0, optional));
    } else {
      // atom{0,p} = chunk{0,q-1} atom{0,K-1} | chunk{q} atom{0,r}, with p = qK + r (unambiguous).
      const q = Math.floor(optional / K);
      const r = optional % K;
      const below = [this.#quantify(chunk(), 0, q - 1), this.#quantify(atom, 0, K - 1)].filter((part) => part !== '""');
      const full = [this.#quantify(chunk(), q, q), this.#quantify(atom, 0, r)].filter((part) => part !== '""');
      parts.push(this.builder.addRule(this.hint, `${below.join(" ")} | ${full.join(" ")}`));
    }
    return { text: parts.length === 0 ? '""' : parts.join(" "), kind: "seq" };
  }
}

// ---------------------------------------------------------------------------------------------
// API

/**
 * Adds rules matching exactly the whole of `pattern` (ECMAScript, `u` flag, anchors implied) to
 * `builder` and returns the name of the rule to reference.
 */
export function regexToGbnf(pattern: string, builder: GrammarBuilder, nameHint = "regex"): string {
  const node = parsePattern(pattern);
  const name = builder.reserve(nameHint);
  const body = new Emitter(builder, `${nameHint}-part`).emit(node);
  builder.define(name, body.text);
  return name;
}

/** A complete GBNF grammar whose root matches exactly the whole of `pattern`. */
export function regexGrammar(pattern: string): string {
  const builder = new GrammarBuilder();
  const node = parsePattern(pattern);
  const body = new Emitter(builder, "regex-part").emit(node);
  return builder.toString(body.text);
}
