/**
 * Code point range sets for the regex → GBNF converter: the Range type, normalize / complement /
 * surrogate removal, the predefined classes, and Unicode property scanning.
 */
export type Range = readonly [number, number];

export const MAX_CODE_POINT = 0x10ffff;
export const SURROGATES: Range = [0xd800, 0xdfff];

// ---------------------------------------------------------------------------------------------
// Code point sets

export function normalize(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** `ranges` without the surrogate code points, which UTF-8 text never contains. */
export function withoutSurrogates(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const [lo, hi] of normalize(ranges)) {
    if (hi < SURROGATES[0] || lo > SURROGATES[1]) out.push([lo, hi]);
    else {
      if (lo < SURROGATES[0]) out.push([lo, SURROGATES[0] - 1]);
      if (hi > SURROGATES[1]) out.push([SURROGATES[1] + 1, hi]);
    }
  }
  return out;
}

export const DIGIT: Range[] = [[0x30, 0x39]];
export const WORD: Range[] = normalize([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
export const LINE_TERMINATORS: Range[] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];

let allCodePoints: string | undefined;
const BMP_UNITS = 0x10000 - 0x800;

/** The code point at UTF-16 index `i` of `allCodePoints`. */
function codePointAtIndex(i: number): number {
  if (i < SURROGATES[0]) return i;
  if (i < BMP_UNITS) return i + 0x800;
  return 0x10000 + (i - BMP_UNITS) / 2;
}

const scannedSets = new Map<string, Range[]>();

/** The code points JavaScript's `[<classBody>]` (u flag) matches, found by scanning every one. */
export function scanClass(classBody: string): Range[] {
  const cached = scannedSets.get(classBody);
  if (cached !== undefined) return cached;
  if (allCodePoints === undefined) {
    const parts: string[] = [];
    const chunk: number[] = [];
    for (let cp = 0; cp <= MAX_CODE_POINT; cp++) {
      if (cp === SURROGATES[0]) cp = SURROGATES[1] + 1;
      chunk.push(cp);
      if (chunk.length === 4096) parts.push(String.fromCodePoint(...chunk.splice(0)));
    }
    parts.push(String.fromCodePoint(...chunk));
    allCodePoints = parts.join("");
  }
  const ranges: Range[] = [];
  for (const match of allCodePoints.matchAll(new RegExp(`[${classBody}]+`, "gu"))) {
    const start = match.index;
    const end = start + match[0].length;
    ranges.push([codePointAtIndex(start), codePointAtIndex(end) - 1]);
  }
  const result = normalize(ranges);
  scannedSets.set(classBody, result);
  return result;
}
