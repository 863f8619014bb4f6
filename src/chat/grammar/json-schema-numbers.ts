/**
 * GBNF for JSON numbers limited to a range (json-schema-to-gbnf.ts): `minimum` / `maximum` /
 * `exclusiveMinimum` / `exclusiveMaximum`.
 *
 * Integers are exact: the range is split by digit count and then digit by digit, e.g.
 * [3, 1234] gives `[3-9] | [1-9] [0-9]{1,2} | "1" ([01] [0-9]{2} | "2" ([0-2] [0-9] | "3" [0-4]))`.
 * Numbers with a fraction compare the written decimal with the bound's exact decimal expansion:
 * integer part first, then the fraction digit by digit, so e.g. [0.5, 2) is exact too. The only
 * inexactness left is double rounding: a long fraction such as `0.10000000000000000001` is above
 * the decimal 0.1 but parses to the same double, so an exclusive bound can be hit that way.
 *
 * Every generated number is bounded in length, which keeps sampling short and values exact in a
 * double: at most MAX_INT_DIGITS integer digits (so unbounded integers stay below 10^15, safe
 * integers) and at most MAX_FRACTION_DIGITS fraction digits; no exponent.
 */
import { GrammarConversionError, type GrammarBuilder } from "./gbnf.ts";

export const MAX_INT_DIGITS = 15;
export const MAX_FRACTION_DIGITS = 6;
const INT_CAP = 10n ** BigInt(MAX_INT_DIGITS) - 1n;

/** One end of a range: the bound and whether it is exclusive. */
export interface NumberBound {
  readonly value: number;
  readonly exclusive: boolean;
}

const lit = (s: string): string => `"${s}"`;
const anyDigits = (n: number): string => (n === 0 ? "" : n === 1 ? "[0-9]" : `[0-9]{${n}}`);
const seq = (...parts: string[]): string => parts.filter((p) => p !== "").join(" ");
const group = (alts: string[]): string => (alts.length === 1 ? alts[0]! : `(${alts.join(" | ")})`);

function digitClass(from: number, to: number): string {
  return from === to ? lit(String(from)) : to === from + 1 ? `[${from}${to}]` : `[${from}-${to}]`;
}

/** Same-length digit strings lo <= s <= hi, lexicographically (= numerically). */
function sameLengthRange(lo: string, hi: string): string {
  if (lo === hi) return lo === "" ? "" : lit(lo);
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  const n = restLo.length;
  if (a === b) return seq(lit(String(a)), sameLengthRange(restLo, restHi));
  const alts: string[] = [];
  let from = a;
  let to = b;
  if (/[^0]/.test(restLo)) {
    alts.push(seq(lit(String(a)), sameLengthRange(restLo, "9".repeat(n))));
    from++;
  }
  const highAlt = /[^9]/.test(restHi) ? seq(lit(String(b)), sameLengthRange("0".repeat(n), restHi)) : undefined;
  if (highAlt !== undefined) to--;
  if (from <= to) alts.push(seq(digitClass(from, to), anyDigits(n)));
  if (highAlt !== undefined) alts.push(highAlt);
  return group(alts);
}

/**
 * Canonical decimal integers (no leading zeros, no sign) in [lo, hi], lo >= 0; hi is capped at
 * 10^15 - 1. Returns undefined when the range is empty.
 */
export function nonNegativeIntegerRange(lo: bigint, hi: bigint | null): string | undefined {
  const top = hi === null || hi > INT_CAP ? INT_CAP : hi;
  if (lo < 0n) throw new Error("nonNegativeIntegerRange: lo < 0");
  if (lo > top) return undefined;
  const loS = lo.toString();
  const hiS = top.toString();
  const alts: string[] = [];
  let fullFrom = -1; // first length of a run of complete lengths ([1-9] [0-9]{len-1})
  let fullTo = -1;
  const flush = (): void => {
    if (fullFrom < 0) return;
    const a = fullFrom - 1;
    const b = fullTo - 1;
    alts.push(seq("[1-9]", a === b ? anyDigits(a) : `[0-9]{${a},${b}}`));
    fullFrom = -1;
  };
  for (let len = loS.length; len <= hiS.length; len++) {
    const from = len === loS.length ? loS : "1" + "0".repeat(len - 1);
    const to = len === hiS.length ? hiS : "9".repeat(len);
    const complete = len > 1 && from === "1" + "0".repeat(len - 1) && to === "9".repeat(len);
    if (complete) {
      if (fullFrom < 0) fullFrom = len;
      fullTo = len;
      continue;
    }
    flush();
    alts.push(sameLengthRange(from, to));
  }
  flush();
  return alts.length === 1 ? alts[0]! : `(${alts.join(" | ")})`;
}

/** Integers in [min, max] (null: unbounded) as canonical JSON integers. */
export function integerRangeGbnf(builder: GrammarBuilder, min: bigint | null, max: bigint | null): string {
  if (min !== null && max !== null && min > max) {
    throw new GrammarConversionError(`integer range [${min}, ${max}] is empty`, "minimum");
  }
  const alts: string[] = [];
  // negative: -m with m in [max(1, -max), -min]
  if (min === null || min < 0n) {
    const mLo = max !== null && max < 0n ? -max : 1n;
    const mHi = min === null ? null : -min;
    const neg = nonNegativeIntegerRange(mLo, mHi);
    if (neg !== undefined) alts.push(seq(lit("-"), neg));
  }
  if (max === null || max >= 0n) {
    const pos = nonNegativeIntegerRange(min !== null && min > 0n ? min : 0n, max);
    if (pos !== undefined) alts.push(pos);
  }
  if (alts.length === 0) throw new GrammarConversionError(`integer range [${min}, ${max}] is empty`, "minimum");
  return builder.addRule("integer-range", alts.join(" | "));
}

/** The exact, exponent-free decimal expansion of a finite double: [integer part, fraction digits]. */
export function exactDecimal(x: number): [bigint, string] {
  const a = Math.abs(x);
  if (Number.isInteger(a)) return [BigInt(a), ""];
  // Shortest round-trip digits, expanded out of exponent notation.
  const [mantissa, expPart] = a.toExponential().split("e") as [string, string];
  const exp = Number(expPart);
  const digits = mantissa.replace(".", "");
  const pointAt = exp + 1; // digits before the decimal point
  let intPart: string;
  let frac: string;
  if (pointAt <= 0) {
    intPart = "0";
    frac = "0".repeat(-pointAt) + digits;
  } else if (pointAt >= digits.length) {
    intPart = digits + "0".repeat(pointAt - digits.length);
    frac = "";
  } else {
    intPart = digits.slice(0, pointAt);
    frac = digits.slice(pointAt);
  }
  return [BigInt(intPart), frac.replace(/0+$/, "")];
}

/** A bound on the fraction digits 0.xxx: the digits (no trailing zeros) and strictness. */
interface FracBound {
  readonly digits: string;
  readonly strict: boolean;
}

const FREE = `[0-9]{0,${MAX_FRACTION_DIGITS}}`;

/**
 * Digit strings s (empty when allowEmpty) with lo <(=) 0.s <(=) hi, comparing the decimal values.
 * undefined: no such string.
 */
function fractionDigits(lo: FracBound | null, hi: FracBound | null, allowEmpty: boolean): string | undefined {
  if (lo !== null && lo.digits === "" && !lo.strict) lo = null;
  if (hi !== null && hi.digits === "" && hi.strict) return undefined;
  const loPositive = lo !== null && lo.digits === "" && lo.strict; // 0.s > 0
  const hiZero = hi !== null && hi.digits === ""; // 0.s <= 0
  if (loPositive && hiZero) return undefined;
  if (lo === null && hi === null) return allowEmpty ? FREE : `[0-9]{1,${MAX_FRACTION_DIGITS}}`;
  if (loPositive && hi === null) return `"0"{0,${MAX_FRACTION_DIGITS - 1}} [1-9] ${FREE}`;
  if (lo === null && hiZero) return allowEmpty ? `"0"{0,${MAX_FRACTION_DIGITS}}` : `"0"{1,${MAX_FRACTION_DIGITS}}`;
  const alts: string[] = [];
  if (allowEmpty && lo === null) alts.push(""); // hi is not "< 0" here
  const a = lo === null ? -1 : Number(lo.digits[0] ?? "0");
  const b = hi === null ? 10 : Number(hi.digits[0] ?? "0");
  const next = (bound: FracBound): FracBound => ({ digits: bound.digits.slice(1), strict: bound.strict });
  // digit == a (lower bound continues), a < digit < b (free), digit == b (upper bound continues)
  if (a === b && lo !== null && hi !== null) {
    const rest = fractionDigits(next(lo), next(hi), true);
    if (rest !== undefined) alts.push(seq(lit(String(a)), rest));
  } else {
    if (lo !== null && a < b) {
      const rest = fractionDigits(next(lo), null, true);
      if (rest !== undefined) alts.push(seq(lit(String(a)), rest));
    }
    const from = a + 1;
    const to = b - 1;
    if (from <= to) alts.push(seq(digitClass(Math.max(from, 0), Math.min(to, 9)), FREE));
    if (hi !== null && a < b) {
      const rest = fractionDigits(null, next(hi), true);
      if (rest !== undefined) alts.push(seq(lit(String(b)), rest));
    }
  }
  const real = alts.filter((x) => x !== "");
  if (real.length === 0) return alts.length > 0 ? "" : undefined;
  return alts.includes("") ? `(${real.join(" | ")})?` : group(real);
}

/** The optional `.digits` part of a number whose fraction must satisfy lo / hi. */
function fractionPart(lo: FracBound | null, hi: FracBound | null): string | undefined {
  const zeroOk = (lo === null || (lo.digits === "" && !lo.strict)) && !(hi !== null && hi.digits === "" && hi.strict);
  const digits = fractionDigits(lo, hi, false);
  if (digits === undefined) return zeroOk ? "" : undefined;
  const dotted = seq(lit("."), digits);
  return zeroOk ? `(${dotted})?` : dotted.includes(" ") ? `(${dotted})` : dotted;
}

interface Magnitude {
  readonly int: bigint;
  readonly frac: string;
  readonly strict: boolean;
}

/** Non-negative decimals m (written without sign) with lo <(=) m <(=) hi. */
function magnitudeRange(lo: Magnitude | null, hi: Magnitude | null): string[] {
  const li = lo?.int ?? 0n;
  const loFrac = lo === null ? null : { digits: lo.frac, strict: lo.strict };
  const hiFrac = hi === null ? null : { digits: hi.frac, strict: hi.strict };
  const out: string[] = [];
  const push = (ints: string | undefined, frac: string | undefined): void => {
    if (ints !== undefined && frac !== undefined) out.push(seq(ints, frac));
  };
  if (hi !== null && li > hi.int) return out;
  if (hi !== null && li === hi.int) {
    push(nonNegativeIntegerRange(li, li), fractionPart(loFrac, hiFrac));
    return out;
  }
  push(nonNegativeIntegerRange(li, li), fractionPart(loFrac, null));
  const free = fractionPart(null, null);
  if (hi === null) {
    push(nonNegativeIntegerRange(li + 1n, null), free);
  } else {
    if (li + 1n <= hi.int - 1n) push(nonNegativeIntegerRange(li + 1n, hi.int - 1n), free);
    push(nonNegativeIntegerRange(hi.int, hi.int), fractionPart(null, hiFrac));
  }
  return out;
}

function magnitude(bound: NumberBound): Magnitude {
  const [int, frac] = exactDecimal(bound.value);
  return { int, frac, strict: bound.exclusive };
}

/** JSON numbers (fraction allowed, no exponent) within lo / hi (null: unbounded). */
export function numberRangeGbnf(builder: GrammarBuilder, lo: NumberBound | null, hi: NumberBound | null): string {
  const alts: string[] = [];
  // v >= 0
  if (hi === null || hi.value > 0 || (hi.value === 0 && !hi.exclusive)) {
    const low = lo !== null && (lo.value > 0 || (lo.value === 0 && lo.exclusive)) ? magnitude(lo) : null;
    for (const alt of magnitudeRange(low, hi === null ? null : magnitude(hi))) alts.push(alt);
  }
  // v < 0, written "-" m with m > 0
  if (lo === null || lo.value < 0) {
    const mLo: Magnitude = hi !== null && hi.value < 0 ? magnitude(hi) : { int: 0n, frac: "", strict: true };
    const mHi = lo === null ? null : magnitude(lo);
    const neg = magnitudeRange(mLo, mHi);
    if (neg.length > 0) alts.push(seq(lit("-"), group(neg)));
  }
  if (alts.length === 0) throw new GrammarConversionError("number range is empty", "minimum");
  return builder.addRule("number-range", alts.join(" | "));
}
