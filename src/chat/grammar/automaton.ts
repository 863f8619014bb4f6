/**
 * Finite automata over Unicode code points, so that several string constraints of one schema
 * (`pattern`s, a `format`, `minLength` / `maxLength`, characters a raw value may not hold) can be
 * enforced together: each becomes an automaton, string-constraints.ts intersects them, and
 * automaton-gbnf.ts writes the result as a grammar.
 *
 * Transitions are on code point intervals, not single characters, so that classes such as `[^"]`
 * or `\p{L}` stay a few intervals wide. A regex AST (regex-parser.ts) becomes an NFA (Thompson's
 * construction, bounded repetitions unrolled), then a DFA by the subset construction; both steps
 * stop with AutomatonTooLarge past their state limits, for the caller to refuse with a 400.
 */
import type { Node } from "./regex-parser.ts";
import { MAX_CODE_POINT, SURROGATES, normalize, type Range } from "./regex-ranges.ts";

/** `[lo, hi, target]`: on any code point in lo..hi, go to `target`. */
export type Edge = readonly [number, number, number];

/** A deterministic automaton: each state's edges are sorted and disjoint. */
export interface Dfa {
  readonly start: number;
  readonly accepting: readonly boolean[];
  readonly edges: readonly (readonly Edge[])[];
}

/** An automaton grew past its state limit. */
export class AutomatonTooLarge extends Error {
  constructor(
    readonly what: "nfa" | "dfa",
    readonly limit: number,
  ) {
    super(`more than ${limit} ${what === "nfa" ? "NFA" : "DFA"} states`);
  }
}

export interface AutomatonLimits {
  /** Most NFA states for one regex (bounded repetitions are unrolled; default 20 000). */
  readonly maxNfaStates?: number;
  /** Most DFA states the subset construction or a product may reach (default 20 000). */
  readonly maxDfaStates?: number;
}

export const DEFAULT_MAX_STATES = 20_000;

// ---------------------------------------------------------------------------------------------
// NFA

class Nfa {
  readonly eps: number[][] = [];
  readonly edges: Edge[][] = [];

  constructor(readonly limit: number) {}

  state(): number {
    if (this.eps.length >= this.limit) throw new AutomatonTooLarge("nfa", this.limit);
    this.eps.push([]);
    this.edges.push([]);
    return this.eps.length - 1;
  }

  /** Adds `node`, starting at state `from`; returns the state where it ends. */
  add(node: Node, from: number): number {
    switch (node.t) {
      case "set": {
        const to = this.state();
        for (const [lo, hi] of node.ranges) this.edges[from]!.push([lo, hi, to]);
        return to;
      }
      case "seq": {
        let at = from;
        for (const item of node.items) at = this.add(item, at);
        return at;
      }
      case "alt": {
        const end = this.state();
        for (const option of node.options) {
          const start = this.state();
          this.eps[from]!.push(start);
          this.eps[this.add(option, start)]!.push(end);
        }
        return end;
      }
      case "rep": {
        let at = from;
        for (let i = 0; i < node.min; i++) at = this.add(node.node, at);
        if (node.max === Infinity) {
          const loop = this.state();
          this.eps[at]!.push(loop);
          this.eps[this.add(node.node, loop)]!.push(loop);
          return loop;
        }
        const end = this.state();
        for (let i = node.min; i < node.max; i++) {
          this.eps[at]!.push(end);
          at = this.add(node.node, at);
        }
        this.eps[at]!.push(end);
        return end;
      }
      case "start":
      case "end":
        return from;
    }
  }

  closure(states: Iterable<number>): number[] {
    const seen = new Set<number>(states);
    const todo = [...seen];
    for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
      for (const t of this.eps[s]!) {
        if (!seen.has(t)) {
          seen.add(t);
          todo.push(t);
        }
      }
    }
    return [...seen].sort((a, b) => a - b);
  }
}

/** Sorted interval edges `[lo, hi, target]`, adjacent intervals with one target merged. */
export function mergeEdges(edges: readonly Edge[]): Edge[] {
  const sorted = [...edges].sort((a, b) => a[0] - b[0]);
  const out: [number, number, number][] = [];
  for (const [lo, hi, to] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last[2] === to && last[1] + 1 === lo) last[1] = hi;
    else out.push([lo, hi, to]);
  }
  return out;
}

/**
 * The elementary intervals of overlapping `[lo, hi, target]` edges, each with the targets of the
 * edges covering it (intervals no edge covers are left out).
 */
export function splitIntervals(edges: readonly Edge[]): { lo: number; hi: number; targets: number[] }[] {
  const points = [...new Set(edges.flatMap(([lo, hi]) => [lo, hi + 1]))].sort((a, b) => a - b);
  const buckets: number[][] = points.map(() => []);
  const index = (p: number): number => {
    let lo = 0;
    let hi = points.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const [lo, hi, to] of edges) for (let i = index(lo); points[i]! <= hi; i++) buckets[i]!.push(to);
  const out: { lo: number; hi: number; targets: number[] }[] = [];
  for (let i = 0; i + 1 < points.length; i++) if (buckets[i]!.length > 0) out.push({ lo: points[i]!, hi: points[i + 1]! - 1, targets: buckets[i]! });
  return out;
}

/** The DFA of a (simplified) regex AST: it accepts exactly the strings the whole pattern matches. */
export function regexDfa(node: Node, limits: AutomatonLimits = {}): Dfa {
  const nfa = new Nfa(limits.maxNfaStates ?? DEFAULT_MAX_STATES);
  const start = nfa.state();
  const end = nfa.add(node, start);
  const maxDfa = limits.maxDfaStates ?? DEFAULT_MAX_STATES;
  const ids = new Map<string, number>();
  const sets: number[][] = [];
  const accepting: boolean[] = [];
  const edges: Edge[][] = [];
  const idOf = (set: number[]): number => {
    const key = set.join(",");
    let id = ids.get(key);
    if (id === undefined) {
      if (sets.length >= maxDfa) throw new AutomatonTooLarge("dfa", maxDfa);
      id = sets.length;
      ids.set(key, id);
      sets.push(set);
      accepting.push(set.includes(end));
    }
    return id;
  };
  idOf(nfa.closure([start]));
  for (let id = 0; id < sets.length; id++) {
    const out: Edge[] = [];
    for (const { lo, hi, targets } of splitIntervals(sets[id]!.flatMap((s) => nfa.edges[s]!))) out.push([lo, hi, idOf(nfa.closure(targets))]);
    edges.push(mergeEdges(out));
  }
  return { start: 0, accepting, edges };
}

/** One state, accepting, looping on every code point of `ranges` (surrogates left out): the strings made of those characters. */
export function charsDfa(ranges: readonly Range[]): Dfa {
  const edges: Edge[] = [];
  for (const [lo, hi] of normalize(ranges)) {
    if (hi < SURROGATES[0] || lo > SURROGATES[1]) edges.push([lo, Math.min(hi, MAX_CODE_POINT), 0]);
    else {
      if (lo < SURROGATES[0]) edges.push([lo, SURROGATES[0] - 1, 0]);
      if (hi > SURROGATES[1]) edges.push([SURROGATES[1] + 1, Math.min(hi, MAX_CODE_POINT), 0]);
    }
  }
  return { start: 0, accepting: [true], edges: [edges] };
}

/**
 * The same automata over a small alphabet: code points that no state of any of `dfas` tells
 * apart form one class, a symbol of its own (`\p{L}`'s hundreds of ranges become one symbol), so
 * products and minimisation work on a few edges per state. `classes[c]`: the code points of
 * symbol c, for expandAlphabet.
 */
export function compressAlphabet(dfas: readonly Dfa[]): { dfas: Dfa[]; classes: Range[][] } {
  const points = [...new Set(dfas.flatMap((d) => d.edges.flatMap((edges) => edges.flatMap(([lo, hi]) => [lo, hi + 1]))))].sort((a, b) => a - b);
  const intervals = points.slice(0, -1).map((lo, i): Range => [lo, points[i + 1]! - 1]);
  // For each interval, the target of every state of every automaton (-1: none).
  const targets: number[][] = intervals.map(() => []);
  for (const d of dfas) {
    for (const edges of d.edges) {
      let e = 0;
      intervals.forEach(([lo], k) => {
        while (e < edges.length && edges[e]![1] < lo) e++;
        const edge = edges[e];
        targets[k]!.push(edge !== undefined && edge[0] <= lo ? edge[2] : -1);
      });
    }
  }
  const ids = new Map<string, number>();
  const classes: Range[][] = [];
  const classOf: number[] = intervals.map((interval, k) => {
    if (targets[k]!.every((t) => t === -1)) return -1;
    const key = targets[k]!.join(",");
    let id = ids.get(key);
    if (id === undefined) {
      ids.set(key, (id = classes.length));
      classes.push([]);
    }
    classes[id]!.push(interval);
    return id;
  });
  const remapped = dfas.map(
    (d): Dfa => ({
      ...d,
      edges: d.edges.map((edges) => {
        const byClass = new Map<number, number>();
        let e = 0;
        intervals.forEach(([lo], k) => {
          while (e < edges.length && edges[e]![1] < lo) e++;
          const edge = edges[e];
          if (edge !== undefined && edge[0] <= lo && classOf[k]! >= 0) byClass.set(classOf[k]!, edge[2]);
        });
        return mergeEdges([...byClass].map(([c, to]) => [c, c, to] as const));
      }),
    }),
  );
  return { dfas: remapped, classes: classes.map((ranges) => normalize(ranges)) };
}

/** A DFA over the symbols of compressAlphabet back over code points. */
export function expandAlphabet(d: Dfa, classes: readonly (readonly Range[])[]): Dfa {
  return {
    ...d,
    edges: d.edges.map((edges) => mergeEdges(edges.flatMap(([c1, c2, to]) => classes.slice(c1, c2 + 1).flatMap((ranges) => ranges.map(([lo, hi]) => [lo, hi, to] as const))))),
  };
}
