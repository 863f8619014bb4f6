/**
 * Random texts a GBNF grammar accepts, for generation-validated tests: a random walk over the
 * rules llama.cpp builds from the grammar (gbnf-parse.ts). Alternatives are picked at random;
 * past `softLength` characters the walk takes the alternative with the shortest completion, so it
 * ends. Characters are picked from the element's set, mostly printable ASCII when the set has
 * some, sometimes any code point of it (to reach escapes and non-ASCII text).
 *
 * The sampler follows the grammar's text, not llama.cpp's engine: tests check a share of its
 * outputs with llama.cpp's own matcher (support/grammar.ts) as well.
 */
import { parseGbnf, type GbnfAlternative, type GbnfElement, type GbnfRules } from "../../src/chat/grammar/gbnf-parse.ts";

export interface SamplerOptions {
  /** Characters after which the walk heads for the shortest ending (default 80). */
  readonly softLength?: number;
  /** Share of characters picked from the whole set rather than its printable ASCII part (default 0.1). */
  readonly wildShare?: number;
}

/** A seeded xorshift generator in [0, 1). */
export function random(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

type Ranges = [number, number][];

function chars(element: Extract<GbnfElement, { kind: "chars" }>): Ranges {
  const sorted = [...element.ranges].map(([lo, hi]) => [lo, hi] as [number, number]).sort((a, b) => a[0] - b[0]);
  if (!element.negated) return sorted;
  const out: Ranges = [];
  let next = 1; // llama.cpp never produces U+0000
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  // Never surrogates (not text).
  return out.flatMap(([lo, hi]): Ranges => {
    if (hi < 0xd800 || lo > 0xdfff) return [[lo, hi]];
    return [...(lo < 0xd800 ? [[lo, 0xd7ff] as [number, number]] : []), ...(hi > 0xdfff ? [[0xe000, hi] as [number, number]] : [])];
  });
}

function pick(ranges: Ranges, rnd: () => number, wildShare: number): number {
  const ascii = ranges.flatMap(([lo, hi]): Ranges => (lo > 0x7e || hi < 0x20 ? [] : [[Math.max(lo, 0x20), Math.min(hi, 0x7e)]]));
  const from = ascii.length > 0 && rnd() >= wildShare ? ascii : ranges.filter(([lo]) => lo > 0);
  const total = from.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  let k = Math.floor(rnd() * total);
  for (const [lo, hi] of from) {
    if (k <= hi - lo) return lo + k;
    k -= hi - lo + 1;
  }
  throw new Error("empty character set");
}

/** A sampler for one grammar: `sample(seed)` returns one accepted text. */
export function gbnfSampler(grammar: string, options: SamplerOptions = {}): (seed: number) => string {
  const rules = parseGbnf(grammar);
  const shortest = shortestLengths(rules);
  const soft = options.softLength ?? 80;
  const wild = options.wildShare ?? 0.1;
  const altLength = (alt: GbnfAlternative): number => alt.reduce((n, e) => n + (e.kind === "ref" ? shortest[e.rule]! : 1), 0);
  return (seed) => {
    const rnd = random(seed);
    const out: number[] = [];
    // A stack of elements still to produce (last = next).
    const todo: GbnfElement[] = [{ kind: "ref", rule: rules.root }];
    for (let element = todo.pop(); element !== undefined; element = todo.pop()) {
      if (element.kind === "token") throw new Error("token elements are not sampled");
      if (element.kind === "chars") {
        out.push(pick(chars(element), rnd, wild));
        continue;
      }
      const alts = rules.rules[element.rule]!.filter((alt) => Number.isFinite(altLength(alt)));
      let alt: GbnfAlternative;
      if (out.length < soft) alt = alts[Math.floor(rnd() * alts.length)]!;
      else alt = alts.reduce((a, b) => (altLength(b) < altLength(a) ? b : a));
      for (let i = alt.length - 1; i >= 0; i--) todo.push(alt[i]!);
      if (out.length > 100_000) throw new Error("the sampler did not end");
    }
    return String.fromCodePoint(...out);
  };
}

/** The fewest characters each rule can match (Infinity: none). */
function shortestLengths({ rules }: GbnfRules): number[] {
  const best = rules.map(() => Infinity);
  for (let changed = true; changed; ) {
    changed = false;
    rules.forEach((alts, id) => {
      for (const alt of alts) {
        const n = alt.reduce((sum, e) => sum + (e.kind === "ref" ? best[e.rule]! : 1), 0);
        if (n < best[id]!) {
          best[id] = n;
          changed = true;
        }
      }
    });
  }
  return best;
}
