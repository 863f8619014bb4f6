/**
 * The cost bound of gbnf-analysis.ts: the most parse stacks llama.cpp's candidate masking can
 * visit for one token (llama_grammar_reject_candidates_for_stack walks, for each character of a
 * token, every stack that accepted the previous one, after advancing it), for any token of a few
 * characters and for long runs of one character (the long tokens real vocabularies have).
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
import type { GbnfRules } from "./gbnf-parse.ts";
import { END, INHERIT, StackModel, type Context, type Expansion } from "./gbnf-stacks.ts";
import { add, CAP, fromWeights, maxValue, ONE, pointwise, scale, sum, ZERO, type Step } from "./step-function.ts";

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

class CostModel {
  readonly #stacks: StackModel;
  readonly #indicators = new Map<number, Step>();
  readonly #stopAbove: number;

  constructor(grammar: GbnfRules, stopAbove: number) {
    this.#stacks = new StackModel(grammar);
    this.#stopAbove = stopAbove;
  }

  /** 1 on the characters terminal `t` accepts, 0 elsewhere. */
  #indicator(t: number): Step {
    let step = this.#indicators.get(t);
    if (step === undefined) this.#indicators.set(t, (step = fromWeights([[this.#stacks.accepts.get(t)!, 1]])));
    return step;
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
    const { initial, points, below, states, stateOf, readersOfTerminal, readersOfPop, pointsReading } = this.#stacks.graph();
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
    let dirtyTerminals = new Set(this.#stacks.accepts.keys());
    for (let k = 2; k <= algebra.chars + 1 && worst < CAP && worst <= this.#stopAbove; k++) {
      // own(q): what the frame at return point q offers by itself; pop(q): that, plus what lies
      // below when the frame can finish (per character; recursion through nullable continuations
      // grows with nesting depth, so the fixpoint has bounded rounds).
      const stalePoints = new Set<number>();
      for (const t of dirtyTerminals) for (const q of pointsReading.get(t) ?? []) stalePoints.add(q);
      for (const q of k === 2 ? points : stalePoints) own.set(q, local(this.#stacks.expand(q), undefined));
      const nextPop = new Map<Context, Step>([[END, ZERO], ...own]);
      for (let round = 0, changed = true; changed && round < 32; round++) {
        changed = false;
        for (const q of points) {
          const { completes } = this.#stacks.expand(q);
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
}
