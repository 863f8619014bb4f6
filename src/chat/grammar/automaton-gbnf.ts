/**
 * A DFA (automaton.ts) → GBNF: one right-linear rule per state, `[class] next | … | ""`, so that
 * the grammar is as deterministic as the automaton (llama.cpp follows one parse stack, and a
 * reference at the end of an alternative is a tail call: stacks do not grow with the text).
 * States with a single way on and a single way in are written inline into their predecessor, so
 * fixed stretches (`-4` in a uuid) cost no rule.
 *
 * `escape: "json"` writes the characters as they appear inside a JSON string: `"`, `\` and
 * control characters as escapes (`\"`, `\\`, `\u00XX`; each escape is one character of the
 * automaton), everything else raw. `escape: "raw"` writes every character as itself.
 */
import { gbnfCharClass, gbnfLiteral, type GrammarBuilder } from "./gbnf.ts";
import type { Dfa } from "./automaton.ts";
import { complement, withoutSurrogates, type Range } from "./regex-ranges.ts";

export interface DfaGbnfOptions {
  /** How characters are written (see the file header). */
  readonly escape: "json" | "raw";
  /** Rule names start with this. */
  readonly hint: string;
}

/** A class of code points as one GBNF atom: a literal, a class or a negated class, whichever is shorter. */
function classAtom(ranges: readonly Range[]): string {
  const first = ranges[0];
  if (ranges.length === 1 && first !== undefined && first[0] === first[1]) return gbnfLiteral(String.fromCodePoint(first[0]));
  const negated = withoutSurrogates(complement(ranges));
  return negated.length < ranges.length ? gbnfCharClass(negated, true) : gbnfCharClass(ranges);
}

const JSON_SPECIAL: readonly Range[] = [
  [0x00, 0x1f],
  [0x22, 0x22],
  [0x5c, 0x5c],
];
const HEX_DIGIT = (d: number): Range[] =>
  d < 10
    ? [[0x30 + d, 0x30 + d]]
    : [
        [0x41 + d - 10, 0x41 + d - 10],
        [0x61 + d - 10, 0x61 + d - 10],
      ];

/** The GBNF atoms writing the code points of `ranges` inside a JSON string. */
function jsonAtoms(ranges: readonly Range[]): string[] {
  const plain: Range[] = [];
  const controls: number[] = [];
  const atoms: string[] = [];
  for (const [lo, hi] of ranges) {
    let start = lo;
    for (const [slo, shi] of JSON_SPECIAL) {
      if (shi < start || slo > hi) continue;
      if (slo > start) plain.push([start, slo - 1]);
      for (let c = Math.max(slo, start); c <= Math.min(shi, hi); c++) {
        if (c === 0x22) atoms.push(gbnfLiteral('\\"'));
        else if (c === 0x5c) atoms.push(gbnfLiteral("\\\\"));
        else controls.push(c);
      }
      start = shi + 1;
    }
    if (start <= hi) plain.push([start, hi]);
  }
  // Control characters as \u00XX: one alternative per high digit, the low digit as a class.
  for (const high of [0, 1]) {
    const lows = controls.filter((c) => c >> 4 === high).flatMap((c) => HEX_DIGIT(c & 15));
    if (lows.length > 0) atoms.push(`${gbnfLiteral(`\\u00${high}`)} ${classAtom(lows.sort((a, b) => a[0] - b[0]))}`);
  }
  if (plain.length > 0) atoms.unshift(classAtom(plain));
  return atoms;
}

/**
 * Adds rules matching exactly the strings `dfa` accepts (a trimmed DFA: every state on some
 * accepting path) to `builder`; returns the name of the start rule.
 */
export function dfaToGbnf(dfa: Dfa, builder: GrammarBuilder, options: DfaGbnfOptions): string {
  const n = dfa.accepting.length;
  // Each state's alternatives: [atom, target], and "" where it accepts. A long class (`\p{L}` is
  // hundreds of ranges) becomes a rule of its own, written once however many states use it.
  const atomsOf = new Map<string, string[]>();
  const atomsFor = (ranges: Range[]): string[] => {
    const key = ranges.join(";");
    let atoms = atomsOf.get(key);
    if (atoms === undefined) {
      atoms = (options.escape === "json" ? jsonAtoms(ranges) : [classAtom(ranges)]).map((atom) => (atom.length > 48 ? builder.addRule(`${options.hint}-class`, atom) : atom));
      atomsOf.set(key, atoms);
    }
    return atoms;
  };
  const alternatives: [string, number][][] = [];
  for (let s = 0; s < n; s++) {
    const byTarget = new Map<number, Range[]>();
    for (const [lo, hi, to] of dfa.edges[s]!) {
      const list = byTarget.get(to);
      if (list === undefined) byTarget.set(to, [[lo, hi]]);
      else list.push([lo, hi]);
    }
    const alts: [string, number][] = [];
    for (const [to, ranges] of byTarget) for (const atom of atomsFor(ranges)) alts.push([atom, to]);
    alternatives.push(alts);
  }
  const isFinal = (s: number): boolean => alternatives[s]!.length === 0;
  const incoming = new Array<number>(n).fill(0);
  for (const alts of alternatives) for (const [, to] of alts) incoming[to]!++;
  // Inline: a state other than the start with one way in and one way on (never on a cycle, as every state can accept).
  const inline = (s: number): boolean => s !== dfa.start && incoming[s] === 1 && !dfa.accepting[s] && alternatives[s]!.length === 1;
  const names = new Map<number, string>();
  const order: number[] = [];
  const nameOf = (s: number): string => {
    let name = names.get(s);
    if (name === undefined) {
      names.set(s, (name = builder.reserve(`${options.hint}-${names.size}`)));
      order.push(s);
    }
    return name;
  };
  const tail = (s: number): string => {
    if (isFinal(s)) return "";
    if (!inline(s)) return nameOf(s);
    const [atom, to] = alternatives[s]![0]!;
    return [atom, tail(to)].filter((p) => p !== "").join(" ");
  };
  const start = nameOf(dfa.start);
  // Defining a rule names the states it refers to, which are defined in turn.
  for (let i = 0; i < order.length; i++) {
    const s = order[i]!;
    const body = alternatives[s]!.map(([atom, to]) => [atom, tail(to)].filter((p) => p !== "").join(" "));
    if (dfa.accepting[s]) body.push('""');
    builder.define(nameOf(s), body.join(" | "));
  }
  return start;
}
