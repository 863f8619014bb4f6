/**
 * Step functions over the characters a grammar terminal can accept, for gbnf-cost.ts: a value per
 * code point (1..U+10FFFF) plus one for whole tokens (`<[id]>` elements), piecewise constant.
 * Counts saturate at CAP instead of overflowing.
 */

/** What a terminal accepts: sorted disjoint inclusive code point ranges, or a whole token. */
export type Accepts = readonly (readonly [number, number])[] | "token";

/**
 * `starts[i]` is where `values[i]` begins (it holds until the next start); starts[0] is TOKEN,
 * the point that stands for whole tokens, below every code point.
 */
export interface Step {
  readonly starts: readonly number[];
  readonly values: readonly number[];
}

const TOKEN = -1;
export const CAP = 1e15;
export const add = (a: number, b: number) => Math.min(CAP, a + b);
export const mul = (a: number, b: number) => Math.min(CAP, a * b);

export const ZERO: Step = { starts: [TOKEN], values: [0] };
export const ONE: Step = { starts: [TOKEN], values: [1] };

/** Σ weight over the terminals accepting each character. */
export function fromWeights(weighted: readonly (readonly [Accepts, number])[]): Step {
  const events: [number, number][] = [];
  for (const [accepts, weight] of weighted) {
    if (weight === 0) continue;
    if (accepts === "token") events.push([TOKEN, weight], [TOKEN + 1, -weight]);
    else for (const [lo, hi] of accepts) events.push([lo, weight], [hi + 1, -weight]);
  }
  return fromEvents(events);
}

/** The step function whose value changes by `delta` at each event's point. */
function fromEvents(events: [number, number][]): Step {
  if (events.length === 0) return ZERO;
  events.sort((a, b) => a[0] - b[0]);
  const starts = [TOKEN];
  const values = [0];
  let sum = 0;
  for (let i = 0; i < events.length; ) {
    const x = events[i]![0];
    for (; i < events.length && events[i]![0] === x; i++) sum += events[i]![1];
    const value = Math.min(CAP, Math.max(0, sum));
    if (x === starts[starts.length - 1]) values[values.length - 1] = value;
    else if (value !== values[values.length - 1]) {
      starts.push(x);
      values.push(value);
    }
  }
  return { starts, values };
}

/** `op(f(c), g(c))` for every character c. */
export function pointwise(f: Step, g: Step, op: (a: number, b: number) => number): Step {
  const starts: number[] = [];
  const values: number[] = [];
  let i = 0;
  let j = 0;
  while (i < f.starts.length || j < g.starts.length) {
    const fx = f.starts[i] ?? Infinity;
    const gx = g.starts[j] ?? Infinity;
    const x = Math.min(fx, gx);
    if (fx === x) i++;
    if (gx === x) j++;
    const value = op(f.values[i - 1] ?? 0, g.values[j - 1] ?? 0);
    if (values.length === 0 || value !== values[values.length - 1]) {
      starts.push(x);
      values.push(value);
    }
  }
  return { starts, values };
}

/** Σ of the functions, character by character (one sweep, whatever their number). */
export function sum(steps: readonly Step[]): Step {
  if (steps.length === 0) return ZERO;
  if (steps.length === 1) return steps[0]!;
  const events: [number, number][] = [];
  for (const f of steps) {
    let previous = 0;
    f.starts.forEach((start, i) => {
      const value = f.values[i]!;
      if (value !== previous) events.push([start, value - previous]);
      previous = value;
    });
  }
  return fromEvents(events);
}

export function scale(f: Step, factor: number): Step {
  return factor === 1 ? f : { starts: f.starts, values: f.values.map((v) => mul(v, factor)) };
}

export function maxValue(f: Step): number {
  return Math.max(0, ...f.values);
}
