/**
 * llama.cpp's grammar stacks, modelled for gbnf-cost.ts. A stack is a list of grammar positions:
 * the top is the element to match next, those below are where to go on when the frames above are
 * finished (llama_grammar_advance_stack pushes the rest of an alternative beneath the rule it
 * enters, unless the reference is the alternative's last element: a tail call). This module knows
 * where advancing from a position leads (terminals, with the return point beneath each and the
 * number of paths), the return points each rule's frames can have, and from those the states the
 * cost bound runs on.
 */
import type { GbnfElement, GbnfRules } from "./gbnf-parse.ts";
import { add, mul, type Accepts } from "./step-function.ts";

const MAX_CODE_POINT = 0x10ffff;

/** A stack's return point: a position id, END (nothing below) or INHERIT (its frame's own, not known yet). */
export type Context = number;
export const END = -2;
export const INHERIT = -1;

interface Position {
  readonly rule: number;
  readonly alt: number;
  readonly index: number;
}

/** A terminal reached by advancing, with the return point beneath it and the number of paths. */
export interface Reached {
  readonly terminal: number;
  readonly context: Context;
  readonly paths: number;
}

/** Where advancing from a position leads within its own frame, and how many paths finish the frame's alternative. */
export interface Expansion {
  readonly reached: readonly Reached[];
  readonly completes: number;
}

/** Thrown for a left-recursive grammar (llama.cpp refuses those; advancing one would not end). */
export class LeftRecursion extends Error {}

/** The code points an element accepts, as sorted disjoint ranges without U+0000 (or "token"). */
export function accepted(element: Exclude<GbnfElement, { kind: "ref" }>): Accepts {
  if (element.kind === "token") return "token";
  const ranges = element.ranges
    .filter(([lo, hi]) => lo <= hi)
    .map(([lo, hi]) => [lo, Math.min(hi, MAX_CODE_POINT)] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  let out = merged;
  if (element.negated) {
    out = [];
    let next = 0;
    for (const [lo, hi] of merged) {
      if (lo > next) out.push([next, lo - 1]);
      next = Math.max(next, hi + 1);
    }
    if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  }
  // llama.cpp never lets a grammar produce U+0000 (a token whose text starts with it is masked).
  return out.flatMap(([lo, hi]) => (lo === 0 ? (hi === 0 ? [] : [[1, hi] as [number, number]]) : [[lo, hi] as [number, number]]));
}

/** The states of the cost bound (terminal, return point beneath its frame) and who reads whom. */
export interface Graph {
  /** The grammar's initial stacks, advanced. */
  readonly initial: Expansion;
  /** Every return point but END. */
  readonly points: readonly number[];
  /** The return points beneath the frame a return point belongs to. */
  readonly below: (q: number) => readonly Context[];
  readonly states: readonly { readonly t: number; readonly q: Context; readonly following: Expansion }[];
  /** Terminal → return point → state index. */
  readonly stateOf: ReadonlyMap<number, ReadonlyMap<Context, number>>;
  /** Terminal → states whose successors include it. */
  readonly readersOfTerminal: ReadonlyMap<number, ReadonlySet<number>>;
  /** Return point → states that pop into it. */
  readonly readersOfPop: ReadonlyMap<Context, readonly number[]>;
  /** Terminal → return points whose frames begin with it. */
  readonly pointsReading: ReadonlyMap<number, ReadonlySet<number>>;
}

export class StackModel {
  readonly #rules: GbnfRules["rules"];
  readonly #root: number;
  readonly #positions: Position[] = [];
  readonly #ids = new Map<number, number>();
  /** Terminal position → what it accepts. */
  readonly accepts = new Map<number, Accepts>();
  readonly #expansions = new Map<number, Expansion>();
  readonly #expanding = new Set<number>();
  #graphCache: Graph | undefined;

  constructor({ rules, root }: GbnfRules) {
    this.#rules = rules;
    this.#root = root;
    rules.forEach((alternatives, r) =>
      alternatives.forEach((alt, a) =>
        alt.forEach((element, i) => {
          if (element.kind !== "ref") this.accepts.set(this.#id(r, a, i), accepted(element));
        }),
      ),
    );
  }

  #id(rule: number, alt: number, index: number): number {
    const key = (rule * 0x10000 + alt) * 0x100000 + index; // rules, alternatives and lengths are bounded far below
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#positions.length;
      this.#positions.push({ rule, alt, index });
      this.#ids.set(key, id);
    }
    return id;
  }

  /** Advancing from a position within its frame (llama_grammar_advance_stack, with path counts). */
  expand(id: number): Expansion {
    const known = this.#expansions.get(id);
    if (known !== undefined) return known;
    if (this.#expanding.has(id)) throw new LeftRecursion("left recursion");
    this.#expanding.add(id);
    const { rule, alt, index } = this.#positions[id]!;
    const element = this.#rules[rule]?.[alt]?.[index];
    const reached = new Map<number, Reached>();
    const reach = (terminal: number, context: Context, paths: number) => {
      const key = terminal * 0x1000000 + context + 2;
      reached.set(key, { terminal, context, paths: add(reached.get(key)?.paths ?? 0, paths) });
    };
    let completes = 0;
    if (element === undefined) {
      completes = 1;
    } else if (element.kind !== "ref") {
      reach(id, INHERIT, 1);
    } else {
      const length = this.#rules[rule]![alt]!.length;
      // The continuation goes beneath the sub-rule's frame, unless the reference is last (a tail call).
      const pushed = index + 1 < length ? this.#id(rule, alt, index + 1) : INHERIT;
      (this.#rules[element.rule] ?? []).forEach((_, b) => {
        const sub = this.expand(this.#id(element.rule, b, 0));
        for (const r of sub.reached) reach(r.terminal, r.context === INHERIT ? pushed : r.context, r.paths);
        if (sub.completes > 0) {
          const after = this.expand(this.#id(rule, alt, index + 1));
          for (const r of after.reached) reach(r.terminal, r.context, mul(r.paths, sub.completes));
          completes = add(completes, mul(after.completes, sub.completes));
        }
      });
    }
    this.#expanding.delete(id);
    const expansion = { reached: [...reached.values()], completes };
    this.#expansions.set(id, expansion);
    return expansion;
  }

  /** The states and who reads whom, built once. */
  graph(): Graph {
    if (this.#graphCache !== undefined) return this.#graphCache;
    const initial = this.#startExpansion();
    const returnPoints = this.#returnPoints();
    const points = [...new Set(returnPoints.flat())].filter((q) => q !== END);
    const below = (q: number) => returnPoints[this.#positions[q]!.rule]!;
    // States: (terminal, return point beneath its frame), with what follows the terminal in its frame.
    const states: { readonly t: number; readonly q: Context; readonly following: Expansion }[] = [];
    const stateOf = new Map<number, Map<Context, number>>();
    for (const t of this.accepts.keys()) {
      const { rule, alt, index } = this.#positions[t]!;
      const following = this.expand(this.#id(rule, alt, index + 1));
      const byContext = new Map<Context, number>();
      for (const q of returnPoints[rule]!) {
        byContext.set(q, states.length);
        states.push({ t, q, following });
      }
      stateOf.set(t, byContext);
    }
    // Who reads whom: states reading a terminal's value, states reading a return point's pop, return points reading a terminal.
    const readersOfTerminal = new Map<number, Set<number>>();
    const readersOfPop = new Map<Context, number[]>();
    const pointsReading = new Map<number, Set<number>>();
    const note = <K, T>(map: Map<K, Set<T>>, key: K, value: T) => {
      let set = map.get(key);
      if (set === undefined) map.set(key, (set = new Set()));
      set.add(value);
    };
    states.forEach(({ q, following }, i) => {
      for (const r of following.reached) note(readersOfTerminal, r.terminal, i);
      if (following.completes > 0) readersOfPop.set(q, [...(readersOfPop.get(q) ?? []), i]);
    });
    for (const q of points) for (const r of this.expand(q).reached) note(pointsReading, r.terminal, q);

    this.#graphCache = { initial, points, below, states, stateOf, readersOfTerminal, readersOfPop, pointsReading };
    return this.#graphCache;
  }

  /** The grammar's initial stacks: every alternative of root, advanced. */
  #startExpansion(): Expansion {
    const reached: Reached[] = [];
    let completes = 0;
    this.#rules[this.#root]?.forEach((_, a) => {
      const e = this.expand(this.#id(this.#root, a, 0));
      reached.push(...e.reached);
      completes = add(completes, e.completes);
    });
    return { reached, completes };
  }

  /**
   * Per rule, the return points a frame of it can have: after a non-final reference to it, the
   * rest of that alternative; a final reference (a tail call) passes on its own rule's; root's
   * frame has nothing below.
   */
  #returnPoints(): Context[][] {
    const rules = this.#rules;
    const all = rules.map(() => new Set<Context>());
    const tailParents = rules.map(() => [] as number[]);
    all[this.#root]!.add(END);
    rules.forEach((alternatives, r) =>
      alternatives.forEach((alt, a) =>
        alt.forEach((element, i) => {
          if (element.kind !== "ref") return;
          if (i + 1 < alt.length) all[element.rule]!.add(this.#id(r, a, i + 1));
          else tailParents[element.rule]!.push(r);
        }),
      ),
    );
    for (let changed = true; changed; ) {
      changed = false;
      rules.forEach((_, r) => {
        const mine = all[r]!;
        for (const parent of tailParents[r]!) {
          for (const q of all[parent]!) {
            if (!mine.has(q)) {
              mine.add(q);
              changed = true;
            }
          }
        }
      });
    }
    return all.map((set) => [...set]);
  }
}
