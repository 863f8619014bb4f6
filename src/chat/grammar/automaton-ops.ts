/**
 * Operations on the interval DFAs of automaton.ts: intersection (the product construction), a
 * bound on the length (the product with a counter), trimming to the states that can still reach
 * an accepting one, minimisation (Moore's partition refinement), and the shortest and longest
 * accepted lengths (to leave out length bounds that cannot bind). Products stop with
 * AutomatonTooLarge past `maxStates`.
 */
import { AutomatonTooLarge, DEFAULT_MAX_STATES, mergeEdges, type Dfa, type Edge } from "./automaton.ts";

/** Builds a DFA by exploring product states from `start`; `step` lists a state's edges to other keys. */
function explore<K>(start: K, key: (k: K) => string, accept: (k: K) => boolean, step: (k: K) => [number, number, K][], maxStates: number): Dfa {
  const ids = new Map<string, number>();
  const states: K[] = [];
  const idOf = (k: K): number => {
    const name = key(k);
    let id = ids.get(name);
    if (id === undefined) {
      if (states.length >= maxStates) throw new AutomatonTooLarge("dfa", maxStates);
      id = states.length;
      ids.set(name, id);
      states.push(k);
    }
    return id;
  };
  idOf(start);
  const accepting: boolean[] = [];
  const edges: Edge[][] = [];
  for (let id = 0; id < states.length; id++) {
    const k = states[id]!;
    accepting.push(accept(k));
    edges.push(mergeEdges(step(k).map(([lo, hi, to]) => [lo, hi, idOf(to)] as const)));
  }
  return { start: 0, accepting, edges };
}

/** The overlaps of two sorted disjoint edge lists. */
function overlaps(a: readonly Edge[], b: readonly Edge[]): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [alo, ahi, ato] = a[i]!;
    const [blo, bhi, bto] = b[j]!;
    const lo = Math.max(alo, blo);
    const hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi, ato, bto]);
    if (ahi < bhi) i++;
    else j++;
  }
  return out;
}

/** The strings both automata accept. */
export function intersect(a: Dfa, b: Dfa, maxStates = DEFAULT_MAX_STATES): Dfa {
  return explore<[number, number]>(
    [a.start, b.start],
    ([p, q]) => `${p},${q}`,
    ([p, q]) => a.accepting[p]! && b.accepting[q]!,
    ([p, q]) => overlaps(a.edges[p]!, b.edges[q]!).map(([lo, hi, pt, qt]) => [lo, hi, [pt, qt]]),
    maxStates,
  );
}

/** The strings `d` accepts with `min` to `max` characters (`max` may be Infinity). */
export function boundLength(d: Dfa, min: number, max: number, maxStates = DEFAULT_MAX_STATES): Dfa {
  // Past `min` with no upper bound, the count no longer matters: it saturates at `min`.
  const next = (n: number): number | undefined => (max === Infinity ? Math.min(n + 1, min) : n + 1 <= max ? n + 1 : undefined);
  return explore<[number, number]>(
    [d.start, 0],
    ([q, n]) => `${q},${n}`,
    ([q, n]) => d.accepting[q]! && n >= min,
    ([q, n]) => {
      const m = next(n);
      return m === undefined ? [] : d.edges[q]!.map(([lo, hi, to]) => [lo, hi, [to, m]]);
    },
    maxStates,
  );
}

/** `d` without the states that are unreachable or cannot reach an accepting state; undefined when it accepts nothing. */
export function trim(d: Dfa): Dfa | undefined {
  const n = d.accepting.length;
  const reverse: number[][] = Array.from({ length: n }, () => []);
  d.edges.forEach((edges, s) => edges.forEach(([, , to]) => reverse[to]!.push(s)));
  const live = new Array<boolean>(n).fill(false);
  const todo: number[] = [];
  d.accepting.forEach((a, s) => {
    if (a) {
      live[s] = true;
      todo.push(s);
    }
  });
  for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
    for (const p of reverse[s]!) {
      if (!live[p]) {
        live[p] = true;
        todo.push(p);
      }
    }
  }
  if (!live[d.start]) return undefined;
  const ids = new Map<number, number>([[d.start, 0]]);
  const order = [d.start];
  for (let i = 0; i < order.length; i++) {
    for (const [, , to] of d.edges[order[i]!]!) {
      if (live[to] && !ids.has(to)) {
        ids.set(to, order.length);
        order.push(to);
      }
    }
  }
  return {
    start: 0,
    accepting: order.map((s) => d.accepting[s]!),
    edges: order.map((s) => d.edges[s]!.filter(([, , to]) => live[to]).map(([lo, hi, to]) => [lo, hi, ids.get(to)!] as const)),
  };
}

/** The DFA of the classes `cls` (state → class) of a trimmed `d`, classes numbered in order of first visit. */
function quotient(d: Dfa, cls: readonly number[]): Dfa {
  const ids = new Map<number, number>([[cls[d.start]!, 0]]);
  const reps = [d.start];
  for (let i = 0; i < reps.length; i++) {
    for (const [, , to] of d.edges[reps[i]!]!) {
      if (!ids.has(cls[to]!)) {
        ids.set(cls[to]!, reps.length);
        reps.push(to);
      }
    }
  }
  return {
    start: 0,
    accepting: reps.map((s) => d.accepting[s]!),
    edges: reps.map((s) => mergeEdges(d.edges[s]!.map(([lo, hi, to]) => [lo, hi, ids.get(cls[to]!)!] as const))),
  };
}

const signature = (d: Dfa, s: number, cls: (state: number) => number, own: number): string =>
  `${own}|${mergeEdges(d.edges[s]!.map(([lo, hi, to]) => [lo, hi, cls(to)] as const))
    .map((e) => e.join(":"))
    .join(" ")}`;

/** The strongly connected components of `d`, successors' components first (Tarjan, iterative). */
function components(d: Dfa): number[][] {
  const n = d.accepting.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const [v, i] = top;
      const edges = d.edges[v]!;
      if (i < edges.length) {
        top[1]++;
        const w = edges[i]![2];
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] === index[v]) {
        const component: number[] = [];
        for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
          onStack[w] = false;
          component.push(w);
          if (w === v) break;
        }
        out.push(component);
      }
    }
  }
  return out;
}

/**
 * The minimal DFA of a trimmed `d`, or close to it. Components are taken successors first, so
 * every edge leaving a component leads to states already classed: a state outside any cycle gets
 * its class from its signature at once (Revuz's pass for acyclic automata, which is exact), and
 * the states of a cycle are refined together (Moore's algorithm) — exact within the component,
 * though two equivalent cycles in different components stay apart.
 */
export function minimize(d: Dfa): Dfa {
  const n = d.accepting.length;
  const cls = new Array<number>(n).fill(-1);
  const classes = new Map<string, number>();
  const classOf = (sig: string): number => {
    let c = classes.get(sig);
    if (c === undefined) classes.set(sig, (c = classes.size));
    return c;
  };
  for (const component of components(d)) {
    const only = component[0]!;
    if (component.length === 1 && !d.edges[only]!.some(([, , to]) => to === only)) {
      cls[only] = classOf(signature(d, only, (t) => cls[t]!, d.accepting[only] ? 1 : 0));
      continue;
    }
    // Local refinement: local classes inside (negative ids, never equal to a global one), global ones outside.
    const local = new Map<number, number>(component.map((s) => [s, d.accepting[s] ? -2 : -1]));
    let count = new Set(local.values()).size;
    for (;;) {
      const current = new Map(local);
      const lookup = (t: number): number => current.get(t) ?? cls[t]!;
      const sigs = new Map<string, number>();
      for (const s of component) {
        const sig = signature(d, s, lookup, current.get(s)!);
        let c = sigs.get(sig);
        if (c === undefined) sigs.set(sig, (c = -1 - sigs.size));
        local.set(s, c);
      }
      if (sigs.size === count) break;
      count = sigs.size;
    }
    const tag = classes.size;
    for (const s of component) cls[s] = classOf(`cycle ${tag} ${local.get(s)}`);
  }
  return quotient(d, cls);
}

/** The shortest and longest accepted lengths of a trimmed DFA (longest: Infinity when it has a cycle). */
export function lengthRange(d: Dfa): { shortest: number; longest: number } {
  const n = d.accepting.length;
  const dist = new Array<number>(n).fill(-1);
  dist[d.start] = 0;
  const queue = [d.start];
  let shortest = Infinity;
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i]!;
    if (d.accepting[s]) shortest = Math.min(shortest, dist[s]!);
    for (const [, , to] of d.edges[s]!) {
      if (dist[to] === -1) {
        dist[to] = dist[s]! + 1;
        queue.push(to);
      }
    }
  }
  // Longest path by depth-first search; a back edge means a cycle (every state of a trimmed DFA lies on an accepting path).
  const longestFrom = new Array<number>(n).fill(-1);
  const onStack = new Array<boolean>(n).fill(false);
  let cyclic = false;
  const visit = (root: number): void => {
    const stack: [number, number][] = [[root, 0]];
    onStack[root] = true;
    while (stack.length > 0 && !cyclic) {
      const top = stack[stack.length - 1]!;
      const [s, i] = top;
      const edges = d.edges[s]!;
      if (i < edges.length) {
        top[1]++;
        const to = edges[i]![2];
        if (onStack[to]) cyclic = true;
        else if (longestFrom[to] === -1) {
          onStack[to] = true;
          stack.push([to, 0]);
        }
        continue;
      }
      let best = d.accepting[s] ? 0 : -Infinity;
      for (const [, , to] of edges) best = Math.max(best, longestFrom[to]! + 1);
      longestFrom[s] = best;
      onStack[s] = false;
      stack.pop();
    }
  };
  visit(d.start);
  return { shortest, longest: cyclic ? Infinity : longestFrom[d.start]! };
}
