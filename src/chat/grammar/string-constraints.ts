/**
 * A string schema's constraints enforced together: every `pattern`, the `format`, `minLength` /
 * `maxLength` and (for raw tool-call values) the characters the value may not hold. zod writes
 * `z.email()` as format + pattern and `z.string().regex(r).max(n)` as pattern + maxLength, so
 * the converters (json-schema-to-gbnf.ts, and the raw-value grammars of the tool-call shapes)
 * must enforce the conjunction, not one keyword of it.
 *
 * Route: one constraint alone is written directly (regex-to-gbnf.ts, the format's rule, or the
 * callers' counted characters). Several are each made an automaton (automaton.ts; a format is a
 * pattern too, json-schema-formats.ts), taken over the classes of characters they tell apart (a
 * few symbols, however many ranges `\p{L}` has), intersected, bounded in length by a counter
 * where the bounds can bind, minimised (automaton-ops.ts) and written as right-linear GBNF
 * (automaton-gbnf.ts) — exact, and deterministic, so it costs llama.cpp one parse stack. A
 * format with a length bound also tries its loose form (json-schema-formats.ts), keeping the
 * smaller automaton.
 *
 * Sizes: a product may reach `maxProductStates` states and the minimal automaton written may have
 * `maxStates`. When a finite maxLength makes it larger, the bound is lowered (as plain strings
 * are capped at 2000 characters: still only valid strings, with a warning) down to what
 * `minLength` and the other constraints allow; otherwise, as when the constraints have no string
 * in common, the schema is refused with a GrammarConversionError naming the keywords.
 */
import { AutomatonTooLarge, charsDfa, compressAlphabet, expandAlphabet, regexDfa, type Dfa } from "./automaton.ts";
import { boundLength, intersect, lengthRange, minimize, trim } from "./automaton-ops.ts";
import { dfaToGbnf } from "./automaton-gbnf.ts";
import { GrammarConversionError, type GrammarBuilder } from "./gbnf.ts";
import { formatContents, formatPattern, patternContents } from "./json-schema-formats.ts";
import { parsePattern, type Node } from "./regex-parser.ts";
import { complement, type Range } from "./regex-ranges.ts";
import { regexToGbnf } from "./regex-to-gbnf.ts";

/** The keywords (with the characters a raw value may not hold) allow no string at all. */
export class NoStringSatisfies extends GrammarConversionError {}

export interface StringKeywords {
  /** Patterns that must all match (anchors implied). */
  readonly patterns: readonly string[];
  /** A format formatPattern knows, or undefined. */
  readonly format?: string | undefined;
  /** Default 0. */
  readonly minLength?: number;
  /** Default Infinity. */
  readonly maxLength?: number;
}

export interface StringContentsOptions {
  /** "json": the contents of a JSON string, escaped; "raw": the characters as themselves. */
  readonly escape: "json" | "raw";
  /** Code points the value may not hold (default none). */
  readonly forbidden?: readonly Range[];
  /** Rule names start with this. */
  readonly hint: string;
  /** Most states of the automaton written as rules (default 2050: a 2000-character bound on a one-state pattern fits, as plain strings are capped at 2000). */
  readonly maxStates?: number;
  /** Most states an intermediate product may reach (default 20 000). */
  readonly maxProductStates?: number;
}

export interface StringContents {
  /** The rule (or expression) for the string's contents, without quotes. */
  readonly rule: string;
  /** What was narrowed (a lowered maxLength). */
  readonly warnings: string[];
}

/** Whether `stringContents` needs more than plain counted characters (some pattern or format). */
export function hasContentKeywords(k: StringKeywords): boolean {
  return k.patterns.length > 0 || k.format !== undefined;
}

/** The rule for string contents satisfying every keyword of `k` (see the file header). */
export function stringContents(k: StringKeywords, builder: GrammarBuilder, options: StringContentsOptions): StringContents {
  const min = k.minLength ?? 0;
  const max = k.maxLength ?? Infinity;
  const forbidden = options.forbidden ?? [];
  const sources = [...(k.format === undefined ? [] : [formatSource(k.format)]), ...k.patterns];
  const nodes = sources.map((source) => parsePattern(source));
  if (nodes.length === 1 && min === 0 && max === Infinity && !nodes.some((node) => touches(node, forbidden))) {
    if (k.format !== undefined) return { rule: formatContents(k.format, builder)!, warnings: [] };
    const rule = options.escape === "json" ? patternContents(k.patterns[0]!, builder, `${options.hint}-pattern`) : regexToGbnf(k.patterns[0]!, builder, `${options.hint}-pattern`);
    return { rule, warnings: [] };
  }
  const names = keywordNames(k);
  const key = JSON.stringify([sources, min, max, forbidden, options.escape]);
  let known = written.get(builder);
  if (known === undefined) written.set(builder, (known = new Map()));
  const cached = known.get(key);
  if (cached !== undefined) return { rule: cached, warnings: [] };
  // With a length bound, a format's loose form may give the smaller (or the only) automaton.
  const loose = k.format !== undefined && (min > 0 || max < Infinity) ? formatPattern(k.format, true) : undefined;
  const variants = [nodes, ...(loose === undefined || loose === sources[0] ? [] : [[parsePattern(loose), ...nodes.slice(1)]])];
  let best: { dfa: Dfa; warnings: string[] } | undefined;
  let refusal: unknown;
  for (const variant of variants) {
    try {
      const result = productDfa(variant, forbidden, min, max, names, options);
      const better =
        best === undefined || result.warnings.length < best.warnings.length || (result.warnings.length === best.warnings.length && result.dfa.accepting.length < best.dfa.accepting.length);
      if (better) best = result;
    } catch (error) {
      if (!(error instanceof GrammarConversionError)) throw error;
      refusal ??= error;
    }
  }
  if (best === undefined) throw refusal;
  const rule = dfaToGbnf(best.dfa, builder, { escape: options.escape, hint: `${options.hint}-s` });
  known.set(key, rule);
  return { rule, warnings: best.warnings };
}

/** The rules written per grammar for each set of keywords (a schema often repeats one string type). */
const written = new WeakMap<GrammarBuilder, Map<string, string>>();

function formatSource(format: string): string {
  const source = formatPattern(format);
  if (source === undefined) throw new Error(`unknown format ${format}`);
  return source;
}

function keywordNames(k: StringKeywords): string {
  const names = [
    ...(k.format === undefined ? [] : [`format "${k.format}"`]),
    ...(k.patterns.length === 0 ? [] : [k.patterns.length === 1 ? "pattern" : `${k.patterns.length} patterns`]),
    ...(k.minLength === undefined || k.minLength === 0 ? [] : [`minLength ${k.minLength}`]),
    ...(k.maxLength === undefined || k.maxLength === Infinity ? [] : [`maxLength ${k.maxLength}`]),
  ];
  return names.join(" + ");
}

/** The keyword list as a construct name: `format + pattern + maxLength`. */
function construct(names: string): string {
  return names.replace(/ "[^"]*"| \d+/g, "").replace(/\d+ patterns/, "pattern");
}

/** The minimal DFA of the conjunction. */
function productDfa(nodes: readonly Node[], forbidden: readonly Range[], min: number, max: number, names: string, options: StringContentsOptions): { dfa: Dfa; warnings: string[] } {
  const maxStates = options.maxStates ?? 2050;
  const limits = { maxNfaStates: options.maxProductStates ?? 20_000, maxDfaStates: options.maxProductStates ?? 20_000 };
  const tooLarge = (limit = limits.maxDfaStates): never => {
    throw new GrammarConversionError(`${names} together need an automaton of more than ${limit} states to enforce exactly`, construct(names));
  };
  const nothing = (): never => {
    throw new NoStringSatisfies(`no string satisfies ${names} together${forbidden.length > 0 ? " (without the characters that would end the value)" : ""}`, construct(names));
  };
  let classes: Range[][];
  let dfa: Dfa | undefined;
  try {
    const operands = nodes.map((node) => regexDfa(node, limits));
    if (forbidden.length > 0) operands.push(charsDfa(complement(forbidden)));
    if (operands.length === 0) operands.push(charsDfa([[0, 0x10ffff]]));
    // Over the classes of characters the operands tell apart: a few symbols, whatever the ranges.
    const compressed = compressAlphabet(operands);
    classes = compressed.classes;
    for (const next of compressed.dfas) {
      dfa = trim(dfa === undefined ? next : intersect(dfa, next, limits.maxDfaStates));
      if (dfa === undefined) return nothing();
      dfa = minimize(dfa);
    }
  } catch (error) {
    if (error instanceof AutomatonTooLarge) return tooLarge();
    throw error;
  }
  if (dfa === undefined) return nothing();
  const { shortest, longest } = lengthRange(dfa);
  const lo = min > shortest ? min : 0;
  if (lo > 0 && lo > longest) return nothing();
  let hi = max < longest ? max : Infinity;
  if (lo === 0 && hi === Infinity) return { dfa: expandAlphabet(dfa, classes), warnings: dfa.accepting.length > maxStates ? tooLarge(maxStates) : [] };
  // A bound that binds: the product with a counter, lowering a finite maxLength while it is too large.
  for (;;) {
    let bounded: Dfa | undefined | "too large";
    try {
      const t = trim(boundLength(dfa, lo, hi, limits.maxDfaStates));
      bounded = t === undefined ? undefined : minimize(t);
    } catch (error) {
      if (!(error instanceof AutomatonTooLarge)) throw error;
      bounded = "too large";
    }
    if (bounded === undefined) return hi === max || hi === Infinity ? nothing() : tooLarge();
    if (bounded !== "too large" && bounded.accepting.length <= maxStates) {
      const rest = names.replace(/ \+ maxLength \d+/, "");
      return {
        dfa: expandAlphabet(bounded, classes),
        warnings: hi === max || hi === Infinity ? [] : [`maxLength ${max} beside ${rest} is enforced as ${hi}: a longer bound would need too large a grammar`],
      };
    }
    // Aim for the state limit, assuming states grow with the bound (at least halving when unknown).
    const aim = bounded === "too large" ? hi / 2 : (hi * maxStates) / bounded.accepting.length - 1;
    const lower = Math.max(lo, shortest, Math.floor(Math.min(aim, hi - 1)));
    if (hi === Infinity || lower >= hi) return tooLarge(bounded === "too large" ? limits.maxDfaStates : maxStates);
    hi = lower;
  }
}

/** Whether a regex can match some code point of `ranges`. */
function touches(node: Node, ranges: readonly Range[]): boolean {
  switch (node.t) {
    case "set":
      return node.ranges.some(([lo, hi]) => ranges.some(([flo, fhi]) => lo <= fhi && flo <= hi));
    case "seq":
      return node.items.some((n) => touches(n, ranges));
    case "alt":
      return node.options.some((n) => touches(n, ranges));
    case "rep":
      return node.max > 0 && touches(node.node, ranges);
    default:
      return false;
  }
}

/** Reports keywords that cannot be enforced: an error for `strict`, else a warning. */
export interface UnsupportedReporter {
  unsupported(keyword: string, message: string): void;
}

/**
 * The string keywords of schema `s`: its patterns (json-schema-keywords.ts schemaPatterns, read by
 * the caller), a known format, and the lengths. An unknown format beside a pattern is an
 * annotation (zod writes its own formats — cuid, ulid, e164… — with the pattern that defines
 * them); alone, it is reported.
 */
export function readStringKeywords(s: Readonly<Record<string, unknown>>, patterns: readonly string[], min: number, max: number, reporter: UnsupportedReporter): StringKeywords {
  if (min > max) throw new GrammarConversionError(`minLength ${min} is above maxLength ${max}`, "minLength");
  let format: string | undefined;
  if (s.format !== undefined) {
    if (formatPattern(String(s.format)) !== undefined) format = String(s.format);
    else if (patterns.length === 0) reporter.unsupported("format", `unsupported format "${String(s.format)}" ignored`);
  }
  return { patterns, format, minLength: min, maxLength: max };
}

/**
 * The contents of a raw value (a tool-call parameter written as itself) satisfying `k`, none of
 * `forbidden` in it; undefined when only values holding a forbidden character would satisfy the
 * patterns — reported as unsupported (the caller then writes free text, as before).
 */
export function rawStringContents(
  k: StringKeywords,
  builder: GrammarBuilder,
  forbidden: readonly Range[],
  hint: string,
  reporter: UnsupportedReporter & { readonly warnings: Set<string> },
): string | undefined {
  try {
    const { rule, warnings } = stringContents(k, builder, { escape: "raw", forbidden, hint });
    for (const warning of warnings) reporter.warnings.add(warning);
    return rule;
  } catch (error) {
    if (!(error instanceof NoStringSatisfies)) throw error;
    stringContents(k, builder, { escape: "raw", hint }); // a contradiction of the schema's own is its own error
    const shown = forbidden.map(([lo, hi]) => (lo === hi ? JSON.stringify(String.fromCodePoint(lo)) : "control characters")).join(", ");
    reporter.unsupported(k.patterns.length > 0 ? "pattern" : "format", `${k.patterns.length > 0 ? "pattern" : "format"} only matches values holding ${shown}, not enforced on a raw value`);
    return undefined;
  }
}
