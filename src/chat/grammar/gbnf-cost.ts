/**
 * The cost bound of gbnf-analysis.ts: the most parse stacks llama.cpp's candidate masking can
 * visit for one token of `tokenChars` characters (llama_grammar_reject_candidates_for_stack walks,
 * for each character of a token, every stack that accepted the previous one, after advancing it).
 *
 * States are (terminal position, return point beneath its frame): two stacks at the same
 * terminal but returning to different places (the space of the first `ws` in `ws ws`, and of the
 * second) have different futures. W_k(t, q) = 1 + max over characters c of the sum, over the
 * stacks that advancing past t produces and that accept c, of their W_{k−1}. Where advancing
 * finishes the frame, the stacks come from its return point q; deeper than that, the worst
 * return point is assumed (per character). Sums over a character are exact, so unambiguous
 * grammars cost k and ambiguity shows as growth in k: `("a" | "aa")*` grows as Fibonacci,
 * `[ab]* [ab]* … [ab]*` as a polynomial of the loops' count.
 */
import type { GbnfElement, GbnfRules } from "./gbnf-parse.ts";
import { add, CAP, fromWeights, maxValue, mul, ONE, pointwise, scale, sum, ZERO, type Accepts, type Step } from "./step-function.ts";

const MAX_CODE_POINT = 0x10ffff;

/** A stack's return point: a position id, END (nothing below) or INHERIT (its frame's own, not known yet). */
type Context = number;
const END = -2;
const INHERIT = -1;

interface Position {
  readonly rule: number;
  readonly alt: number;
  readonly index: number;
}

/** A terminal reached by advancing, with the return point beneath it and the number of paths. */
interface Reached {
  readonly terminal: number;
  readonly context: Context;
  readonly paths: number;
}

/** Where advancing from a position leads within its own frame, and how many paths finish the frame's alternative. */
interface Expansion {
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

export interface CostOptions {
  /** Length of the arbitrary strings considered (default 6). */
  readonly anyChars?: number;
  /** Length of the one-character runs considered (default 32). */
  readonly runChars?: number;
  /** Stop counting once the bound passes this (default: count on to CAP). */
  readonly stopAbove?: number;
}

/**
 * The bound for `grammar` (see the file header): the worse of any string of `anyChars`
 * characters and any run of one character `runChars` long; CAP when it is beyond counting.
 */
export function tokenCost(grammar: GbnfRules, options: CostOptions = {}): number {
  const model = new CostModel(grammar, options.stopAbove ?? CAP);
  const any = model.anyString(options.anyChars ?? 6);
  return any > (options.stopAbove ?? CAP) ? any : Math.max(any, model.runs(options.runChars ?? 32));
}

function sameStep(a: Step, b: Step): boolean {
  return a.starts.length === b.starts.length && a.starts.every((s, i) => s === b.starts[i] && a.values[i] === b.values[i]);
}

/** The states of the bounds (terminal, return point) and their dependencies. */
interface Graph {
  readonly initial: Expansion;
  /** Every return point but END. */
  readonly points: readonly number[];
  /** The return points beneath the frame a return point belongs to. */
  readonly below: (q: number) => readonly Context[];
  readonly states: readonly { readonly t: number; readonly q: Context; readonly following: Expansion }[];
  readonly stateOf: ReadonlyMap<number, ReadonlyMap<Context, number>>;
  readonly readersOfTerminal: ReadonlyMap<number, ReadonlySet<number>>;
  readonly readersOfPop: ReadonlyMap<Context, readonly number[]>;
  readonly pointsReading: ReadonlyMap<number, ReadonlySet<number>>;
}

class CostModel {
  readonly #rules: GbnfRules["rules"];
  readonly #root: number;
  readonly #positions: Position[] = [];
  readonly #ids = new Map<number, number>();
  /** Terminal position → what it accepts. */
  readonly #accepts = new Map<number, Accepts>();
  readonly #expansions = new Map<number, Expansion>();
  readonly #expanding = new Set<number>();
  readonly #indicators = new Map<number, Step>();

  readonly #stopAbove: number;

  constructor({ rules, root }: GbnfRules, stopAbove: number) {
    this.#rules = rules;
    this.#root = root;
    this.#stopAbove = stopAbove;
    rules.forEach((alternatives, r) =>
      alternatives.forEach((alt, a) =>
        alt.forEach((element, i) => {
          if (element.kind !== "ref") this.#accepts.set(this.#id(r, a, i), accepted(element));
        }),
      ),
    );
  }

  /** 1 on the characters terminal `t` accepts, 0 elsewhere. */
  #indicator(t: number): Step {
    let step = this.#indicators.get(t);
    if (step === undefined) this.#indicators.set(t, (step = fromWeights([[this.#accepts.get(t)!, 1]])));
    return step;
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
  #expand(id: number): Expansion {
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
        const sub = this.#expand(this.#id(element.rule, b, 0));
        for (const r of sub.reached) reach(r.terminal, r.context === INHERIT ? pushed : r.context, r.paths);
        if (sub.completes > 0) {
          const after = this.#expand(this.#id(rule, alt, index + 1));
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

  /**
   * The bound for any string of `chars` characters: W_k(t, q) = 1 + max over c of Σ over the
   * successors accepting c of W_{k−1}.
   */
  anyString(chars: number): number {
    const { worst } = this.#run<number>({
      chars,
      start: () => 1,
      contribution: (u, value) => scale(this.#indicator(u), value),
      finish: (_, successors) => add(1, maxValue(successors)),
      merge: (a, b) => Math.max(a, b),
      peak: (value) => value,
      same: (a, b) => a === b,
    });
    return worst;
  }

  /**
   * The bound for runs of one character (`aaaa…`, the long tokens of real vocabularies): per
   * character c, R_k(t, q) = [t accepts c] (1 + Σ over the successors accepting c of R_{k−1}).
   */
  runs(chars: number): number {
    const only = (t: number, f: Step) => pointwise(f, this.#indicator(t), (value, accepts) => (accepts > 0 ? value : 0));
    const { worst } = this.#run<Step>({
      chars,
      start: (t) => this.#indicator(t),
      contribution: (_, value) => value,
      finish: (t, successors) => only(t, pointwise(successors, ONE, add)),
      merge: (a, b) => pointwise(a, b, Math.max),
      peak: maxValue,
      same: sameStep,
    });
    return worst;
  }

  /**
   * The dynamic programme both bounds share, over states (terminal, return point): `contribution`
   * turns a successor's value into a per-character step function, `finish` makes a state's new
   * value from the sum of its successors', `merge` takes the worst of two values.
   */
  #run<V>(algebra: {
    readonly chars: number;
    readonly start: (t: number) => V;
    readonly contribution: (t: number, value: V) => Step;
    readonly finish: (t: number, successors: Step) => V;
    readonly merge: (a: V, b: V) => V;
    readonly peak: (value: V) => number;
    readonly same: (a: V, b: V) => boolean;
  }): { worst: number } {
    const { initial, points, below, states, stateOf, readersOfTerminal, readersOfPop, pointsReading } = this.#graph();
    let value: V[] = states.map(({ t }) => algebra.start(t));
    const worstOf = (t: number) => [...(stateOf.get(t)?.values() ?? [])].reduce((acc, i) => algebra.merge(acc, value[i]!), algebra.start(t));
    const local = (e: Expansion, frame: Context | undefined): Step =>
      sum(
        e.reached.map((r) => {
          const context = r.context === INHERIT ? frame : r.context;
          const i = context === undefined ? undefined : stateOf.get(r.terminal)?.get(context);
          return scale(algebra.contribution(r.terminal, i === undefined ? worstOf(r.terminal) : value[i]!), r.paths);
        }),
      );

    let worst = maxValue(local(initial, END));
    const own = new Map<number, Step>();
    let pop = new Map<Context, Step>([[END, ZERO]]);
    let dirtyTerminals = new Set(this.#accepts.keys());
    for (let k = 2; k <= algebra.chars + 1 && worst < CAP && worst <= this.#stopAbove; k++) {
      // own(q): what the frame at return point q offers by itself; pop(q): that, plus what lies
      // below when the frame can finish (per character; recursion through nullable continuations
      // grows with nesting depth, so the fixpoint has bounded rounds).
      const stalePoints = new Set<number>();
      for (const t of dirtyTerminals) for (const q of pointsReading.get(t) ?? []) stalePoints.add(q);
      for (const q of k === 2 ? points : stalePoints) own.set(q, local(this.#expand(q), undefined));
      const nextPop = new Map<Context, Step>([[END, ZERO], ...own]);
      for (let round = 0, changed = true; changed && round < 32; round++) {
        changed = false;
        for (const q of points) {
          const { completes } = this.#expand(q);
          if (completes === 0) continue;
          const deeper = below(q).reduce<Step>((acc, p) => pointwise(acc, nextPop.get(p) ?? ZERO, Math.max), ZERO);
          const merged = pointwise(nextPop.get(q)!, pointwise(own.get(q)!, scale(deeper, completes), add), Math.max);
          if (!sameStep(merged, nextPop.get(q)!)) {
            nextPop.set(q, merged);
            changed = true;
          }
        }
      }
      // Only states whose inputs changed are recomputed.
      const stale = new Set<number>();
      for (const t of dirtyTerminals) for (const i of readersOfTerminal.get(t) ?? []) stale.add(i);
      for (const [q, step] of nextPop) if (k === 2 || !sameStep(step, pop.get(q) ?? ZERO)) for (const i of readersOfPop.get(q) ?? []) stale.add(i);
      pop = nextPop;
      const next = [...value];
      dirtyTerminals = new Set();
      for (const i of stale) {
        const { t, q, following } = states[i]!;
        const successors = following.completes === 0 ? local(following, q) : pointwise(local(following, q), scale(pop.get(q) ?? ZERO, following.completes), add);
        const v = algebra.finish(t, successors);
        if (algebra.same(v, value[i]!)) continue;
        next[i] = v;
        dirtyTerminals.add(t);
        worst = Math.max(worst, algebra.peak(v));
      }
      // Values that did not change will not change any more: longer tokens cost the same.
      if (dirtyTerminals.size === 0) break;
      value = next;
      worst = Math.max(worst, maxValue(local(initial, END)));
    }
    return { worst: Math.min(worst, CAP) };
  }

  #graphCache: Graph | undefined;

  /** The states and who reads whom, shared by both bounds. */
  #graph(): Graph {
    if (this.#graphCache !== undefined) return this.#graphCache;
    const initial = this.#startExpansion();
    const returnPoints = this.#returnPoints();
    const points = [...new Set(returnPoints.flat())].filter((q) => q !== END);
    const below = (q: number) => returnPoints[this.#positions[q]!.rule]!;
    // States: (terminal, return point beneath its frame), with what follows the terminal in its frame.
    const states: { readonly t: number; readonly q: Context; readonly following: Expansion }[] = [];
    const stateOf = new Map<number, Map<Context, number>>();
    for (const t of this.#accepts.keys()) {
      const { rule, alt, index } = this.#positions[t]!;
      const following = this.#expand(this.#id(rule, alt, index + 1));
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
    for (const q of points) for (const r of this.#expand(q).reached) note(pointsReading, r.terminal, q);

    this.#graphCache = { initial, points, below, states, stateOf, readersOfTerminal, readersOfPop, pointsReading };
    return this.#graphCache;
  }

  /** The grammar's initial stacks: every alternative of root, advanced. */
  #startExpansion(): Expansion {
    const reached: Reached[] = [];
    let completes = 0;
    this.#rules[this.#root]?.forEach((_, a) => {
      const e = this.#expand(this.#id(this.#root, a, 0));
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
