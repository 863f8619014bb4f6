/**
 * JSON Schema → GBNF for values written in a "literal-args" family's own literal syntax
 * (syntax.ts `valueGrammar: "literal"`, Gemma 4's `{city:<|"|>Oslo<|"|>,days:3}`), for
 * literal-call-grammar.ts. What the grammar accepts, literal-value.ts reads back as JSON valid
 * against the schema. Compact: no whitespace, items joined by `itemSeparator`.
 *
 * Supported as in the JSON converter (json-schema-to-gbnf.ts), reusing its number, format and
 * pattern pieces: `type` (one or a list), `enum` / `const`, `anyOf` / `oneOf` (alternatives),
 * `allOf` (merged), local `$ref`s (recursion allowed), `nullable`; objects: `properties` (in
 * declared order, or sorted with `sortedKeys`), `required`, `additionalProperties` (absent: closed
 * when properties are declared, else open; extra keys never reuse a declared name); arrays:
 * `items`, `minItems`, `maxItems`; strings: `minLength` / `maxLength`, `format` and `pattern`s,
 * together (string-constraints.ts), on text without the delimiter's first character (for a
 * quote: nor a backslash or a control character; a pattern that only matches such text is
 * reported); numbers: bounds. Keys are bare where the syntax says
 * so and the name allows, else quoted. Everything else is reported (KeywordReporter): an error
 * for `strict` tools, else a warning.
 */
import { avoidingText } from "../grammar/avoid-text.ts";
import { GBNF_MAX_REPETITION, GrammarConversionError, gbnfCharClass, gbnfLiteral, type GrammarBuilder } from "../grammar/gbnf.ts";
import { checkKeywords, schemaCount, schemaPatterns, TYPED_KEYWORDS, TYPES, type KeywordReporter } from "../grammar/json-schema-keywords.ts";
import { isRecord, mergeSchemas, type MergeContext, type SchemaObject } from "../grammar/json-schema-merge.ts";
import { integerRangeGbnf, numberRangeGbnf, type NumberBound } from "../grammar/json-schema-numbers.ts";
import { hasContentKeywords, rawStringContents, readStringKeywords } from "../grammar/string-constraints.ts";
import { resolveLocalRef } from "./parameter-types.ts";
import { literalKey, literalText } from "./literal-text.ts";
import type { LiteralArgsSyntax } from "./syntax.ts";

const fail = (message: string, construct: string): never => {
  throw new GrammarConversionError(message, construct);
};

const INT = '"-"? ("0" | [1-9] [0-9]{0,14})';
/** Extra keys: identifiers. */
const KEY_FIRST: [number, number][] = [
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const KEY_REST: [number, number][] = [[0x30, 0x39], ...KEY_FIRST];

/** Writes rules for values of one family's literal syntax into a grammar shared with the rest of the call. */
export class LiteralValueGrammar implements KeywordReporter, MergeContext {
  readonly warnings = new Set<string>();
  readonly #syntax: LiteralArgsSyntax;
  readonly #builder: GrammarBuilder;
  readonly #root: unknown;
  readonly #strict: boolean;
  readonly #delimiter: string;
  readonly #refs = new Map<string, string>();
  #any: string | undefined;

  /** @param root the tool's parameters schema, which `$ref`s point into. */
  constructor(syntax: LiteralArgsSyntax, builder: GrammarBuilder, root: unknown, strict: boolean) {
    this.#syntax = syntax;
    this.#builder = builder;
    this.#root = root;
    this.#strict = strict;
    this.#delimiter = syntax.stringDelimiters[0] ?? '"';
  }

  unsupported(keyword: string, message: string): void {
    if (this.#strict) fail(message, keyword);
    this.warnings.add(message);
  }

  resolveRef(ref: unknown): unknown {
    if (typeof ref !== "string" || !ref.startsWith("#")) return fail(`only local $refs are supported: ${String(ref)}`, "$ref");
    const target = resolveLocalRef({ $ref: ref }, this.#root);
    return target === undefined ? fail(`$ref ${ref} points to nothing`, "$ref") : target;
  }

  /** The rule for a value valid against `schema`. */
  visit(schema: unknown, hint: string): string {
    if (schema === true) return this.#anyValue();
    if (!isRecord(schema)) return fail(`a schema must be an object or a boolean, got ${JSON.stringify(schema)}`, "schema");
    const s = schema;
    checkKeywords(s, this);
    if (s.$ref !== undefined) {
      const { $ref, ...rest } = s;
      if (Object.keys(rest).some((k) => !["description", "title", "default", "examples"].includes(k))) return this.visit(mergeSchemas(this, [{ $ref }, rest]), hint);
      return this.#ref(String($ref), hint);
    }
    if (s.allOf !== undefined) {
      const { allOf, ...rest } = s;
      if (!Array.isArray(allOf) || allOf.length === 0) fail("allOf must be a non-empty array", "allOf");
      return this.visit(mergeSchemas(this, [rest, ...(allOf as unknown[])]), hint);
    }
    if (s.anyOf !== undefined || s.oneOf !== undefined) {
      const { anyOf, oneOf, ...rest } = s;
      const list = anyOf ?? oneOf;
      if (anyOf !== undefined && oneOf !== undefined) this.unsupported("oneOf", "oneOf beside anyOf ignored");
      if (!Array.isArray(list) || list.length === 0) return fail("anyOf / oneOf must be a non-empty array", "anyOf");
      const alts = list.map((branch, i) => this.visit(Object.keys(rest).length === 0 ? branch : { allOf: [rest, branch] }, `${hint}-${i}`));
      return this.#builder.addRule(hint, [...new Set(alts)].join(" | "));
    }
    if (s.nullable === true) {
      const { nullable: _, ...rest } = s;
      return this.#builder.addRule(hint, `${this.visit(rest, hint)} | ${this.#word(null)}`);
    }
    let types: string[] | undefined;
    if (s.type !== undefined) {
      types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
      for (const t of types) if (typeof t !== "string" || !TYPES.has(t)) fail(`unknown type ${JSON.stringify(t)}`, "type");
      if (types.length === 0) fail("type: [] matches nothing", "type");
    }
    if (s.const !== undefined || s.enum !== undefined) {
      const values = s.const !== undefined ? [s.const] : s.enum;
      if (!Array.isArray(values) || values.length === 0) return fail("enum must be a non-empty array", "enum");
      return this.#builder.addRule(hint, [...new Set(values.map((v) => gbnfLiteral(literalText(this.#syntax, v))))].join(" | "));
    }
    if (types === undefined) {
      types = Object.entries(TYPED_KEYWORDS)
        .filter(([, keys]) => keys.some((k) => k in s))
        .map(([t]) => t);
      if (types.length === 0) return this.#anyValue();
    }
    const alts = [...new Set(types)].map((t) => this.#typed(t, s, hint));
    return alts.length === 1 ? alts[0]! : this.#builder.addRule(hint, alts.join(" | "));
  }

  #ref(ref: string, hint: string): string {
    const known = this.#refs.get(ref);
    if (known !== undefined) return known;
    const target = this.resolveRef(ref);
    const name = this.#builder.reserve(ref.split("/").pop() || hint);
    this.#refs.set(ref, name);
    this.#builder.define(name, this.visit(target, name));
    return name;
  }

  #typed(type: string, s: SchemaObject, hint: string): string {
    switch (type) {
      case "null":
        return this.#word(null);
      case "boolean":
        return this.#builder.addRule("boolean", `${this.#word(true)} | ${this.#word(false)}`);
      case "integer":
      case "number":
        return this.#number(type, s);
      case "string":
        return this.#string(s, hint);
      case "object":
        return this.#object(s, hint);
      default:
        return this.#array(s, hint);
    }
  }

  #word(value: boolean | null): string {
    return gbnfLiteral(literalText(this.#syntax, value));
  }

  #number(type: string, s: SchemaObject): string {
    const bound = (key: string, exclusiveKey: string): NumberBound | null => {
      const candidates: NumberBound[] = [];
      const inclusive = s[key];
      const exclusive = s[exclusiveKey];
      if (typeof inclusive === "number") candidates.push({ value: inclusive, exclusive: exclusive === true });
      if (typeof exclusive === "number") candidates.push({ value: exclusive, exclusive: true });
      const lower = key === "minimum";
      const tighter = (a: NumberBound, b: NumberBound): NumberBound => (a.value === b.value ? (a.exclusive ? a : b) : a.value > b.value === lower ? a : b);
      return candidates.length === 0 ? null : candidates.reduce(tighter);
    };
    const lo = bound("minimum", "exclusiveMinimum");
    const hi = bound("maximum", "exclusiveMaximum");
    if (lo !== null && hi !== null && (lo.value > hi.value || (lo.value === hi.value && (lo.exclusive || hi.exclusive)))) fail(`minimum ${lo.value} is above maximum ${hi.value}`, "minimum");
    if (type === "integer") {
      if (lo === null && hi === null) return this.#builder.addRule("integer", INT);
      const min = lo === null ? null : lo.exclusive ? BigInt(Math.floor(lo.value)) + 1n : BigInt(Math.ceil(lo.value));
      const max = hi === null ? null : hi.exclusive ? BigInt(Math.ceil(hi.value)) - 1n : BigInt(Math.floor(hi.value));
      return integerRangeGbnf(this.#builder, min, max);
    }
    if (lo === null && hi === null) return this.#builder.addRule("number", `${INT} ("." [0-9]{1,6})? ([eE] [-+]? [0-9]{1,2})?`);
    return numberRangeGbnf(this.#builder, lo, hi);
  }

  /** String contents: raw for a long delimiter; for a quote, no quote, backslash or control character (so no escapes). */
  #string(s: SchemaObject, hint: string): string {
    const quote = gbnfLiteral(this.#delimiter);
    const forbidden = this.#delimiter.length > 1 ? [this.#delimiter.codePointAt(0)!] : [this.#delimiter.codePointAt(0)!, 0x5c];
    const min = schemaCount(s, "minLength", 0);
    const max = schemaCount(s, "maxLength", Infinity);
    const ranges: [number, number][] = forbidden.map((cp) => [cp, cp]);
    if (this.#delimiter.length === 1) ranges.push([0, 0x1f]);
    const keywords = readStringKeywords(s, schemaPatterns(s), min, max, this);
    if (hasContentKeywords(keywords)) {
      const rule = rawStringContents(keywords, this.#builder, ranges, hint, this);
      if (rule !== undefined) return this.#builder.addRule(hint, `${quote} ${rule} ${quote}`);
    }
    const char = this.#builder.addRule("str-char", gbnfCharClass(ranges, true));
    let contents: string;
    if (min === 0 && max === Infinity) contents = this.#delimiter.length > 1 ? avoidingText(this.#builder, [this.#delimiter], "str") : `${char}*`;
    else {
      if (min > GBNF_MAX_REPETITION) fail(`minLength above ${GBNF_MAX_REPETITION} is not supported`, "minLength");
      contents = max === Infinity ? `${char}{${min},}` : `${char}{${min},${Math.min(max, GBNF_MAX_REPETITION)}}`;
    }
    return this.#builder.addRule(min === 0 && max === Infinity ? "string" : hint, `${quote} ${contents} ${quote}`);
  }

  /** A dict key as written: bare where the syntax says so and the name allows, else quoted. */
  key(name: string): string {
    return literalKey(this.#syntax, name);
  }

  #object(s: SchemaObject, hint: string): string {
    const props = s.properties ?? {};
    if (!isRecord(props)) return fail("properties must be an object", "properties");
    const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : []);
    const extra = s.additionalProperties ?? Object.keys(props).length === 0;
    const names = [...new Set([...Object.keys(props), ...required])];
    if (this.#syntax.sortedKeys === true) names.sort();
    const sep = gbnfLiteral(this.#syntax.itemSeparator);
    const entries = names.map((name) => ({
      rule: `${gbnfLiteral(`${this.key(name)}:`)} ${this.visit(props[name] ?? extra, name)}`,
      required: required.has(name),
    }));
    const extraEntry = extra === false ? undefined : this.#builder.addRule(`${hint}-extra`, `${extraKey(this.#builder, names)} ":" ${this.visit(extra, `${hint}-extra`)}`);
    return this.#builder.addRule(hint, `"{" ${itemList(this.#builder, entries, sep, extraEntry, hint)} "}"`);
  }

  #array(s: SchemaObject, hint: string): string {
    if (s.prefixItems !== undefined || Array.isArray(s.items)) this.unsupported("prefixItems", "prefixItems (tuple items) ignored");
    const item = this.visit(isRecord(s.items) || typeof s.items === "boolean" ? s.items : true, `${hint}-item`);
    const min = schemaCount(s, "minItems", 0);
    const max = schemaCount(s, "maxItems", Infinity);
    if (min > max) fail(`minItems ${min} is above maxItems ${max}`, "minItems");
    if (min > GBNF_MAX_REPETITION) fail(`minItems above ${GBNF_MAX_REPETITION} is not supported`, "minItems");
    if (max === 0) return this.#builder.addRule(hint, '"[" "]"');
    const next = this.#builder.addRule(`${hint}-next`, `${gbnfLiteral(this.#syntax.itemSeparator)} ${item}`);
    const rest = max === Infinity ? `${next}{${Math.max(min - 1, 0)},}` : `${next}{${Math.max(min - 1, 0)},${Math.min(max - 1, GBNF_MAX_REPETITION)}}`;
    const contents = min === 0 ? `( ${item} ${rest} )?` : `${item} ${rest}`;
    return this.#builder.addRule(hint, `"[" ${contents} "]"`);
  }

  /** Any value of the syntax. */
  #anyValue(): string {
    if (this.#any !== undefined) return this.#any;
    const b = this.#builder;
    const value = b.reserve("any-value");
    this.#any = value;
    const sep = gbnfLiteral(this.#syntax.itemSeparator);
    const key = this.#syntax.dictKeys === "bare" ? extraKey(b, []) : this.#string({}, "key");
    const member = b.addRule("any-member", `${key} ":" ${value}`);
    const object = b.addRule("any-object", `"{" ( ${member} ( ${sep} ${member} )* )? "}"`);
    const array = b.addRule("any-array", `"[" ( ${value} ( ${sep} ${value} )* )? "]"`);
    b.define(value, [object, array, this.#string({}, "string"), this.#number("number", {}), this.#word(true), this.#word(false), this.#word(null)].join(" | "));
    return value;
  }
}

/**
 * Items joined by `sep`, required ones always and optional ones optionally, in order, then any
 * number of `extra` items; as a GBNF expression (maybe empty).
 */
export function itemList(builder: GrammarBuilder, items: readonly { rule: string; required: boolean }[], sep: string, extra: string | undefined, hint: string): string {
  const join = (...parts: string[]): string => parts.filter((p) => p !== "").join(" ");
  const n = items.length;
  // tail[i]: the items from i on, after at least one was written (each after a separator).
  const tail: string[] = new Array<string>(n + 1);
  tail[n] = extra === undefined ? "" : `( ${sep} ${extra} )*`;
  for (let i = n - 1; i >= 1; i--) {
    const item = `${sep} ${items[i]!.rule}`;
    const body = join(items[i]!.required ? item : `( ${item} )?`, tail[i + 1]!);
    tail[i] = body === "" ? "" : builder.addRule(`${hint}-rest`, body);
  }
  const firsts: string[] = [];
  let allOptional = true;
  for (let i = 0; i < n; i++) {
    firsts.push(join(items[i]!.rule, tail[i + 1]!));
    if (items[i]!.required) {
      allOptional = false;
      break;
    }
  }
  if (allOptional && extra !== undefined) firsts.push(join(extra, tail[n]!));
  if (firsts.length === 0) return "";
  if (allOptional) return `( ${firsts.join(" | ")} )?`;
  return firsts.length > 1 ? `( ${firsts.join(" | ")} )` : firsts[0]!;
}

/** A bare identifier key that is none of `names` (a trie keeps it off them). */
export function extraKey(builder: GrammarBuilder, names: readonly string[]): string {
  const node = (suffixes: readonly string[], first: boolean): string => {
    const cls = first ? KEY_FIRST : KEY_REST;
    const inClass = (cp: number): boolean => cls.some(([lo, hi]) => cp >= lo && cp <= hi);
    const children = new Map<string, string[]>();
    for (const s of suffixes) {
      if (s === "" || !inClass(s.charCodeAt(0))) continue;
      children.set(s.charAt(0), [...(children.get(s.charAt(0)) ?? []), s.slice(1)]);
    }
    const alts: string[] = [];
    const canEnd = !first && !suffixes.includes("");
    for (const [c, rest] of children) alts.push(`${gbnfLiteral(c)} ${node(rest, false)}`);
    const taken = new Set([...children.keys()].map((c) => c.charCodeAt(0)));
    const others: [number, number][] = [];
    for (const [lo, hi] of cls) {
      let start = lo;
      for (let cp = lo; cp <= hi + 1; cp++) {
        if (cp === hi + 1 || taken.has(cp)) {
          if (cp > start) others.push([start, cp - 1]);
          start = cp + 1;
        }
      }
    }
    if (others.length > 0) alts.push(`${gbnfCharClass(others)} ${gbnfCharClass(KEY_REST)}{0,63}`);
    return builder.addRule("key", canEnd ? `( ${alts.join(" | ")} )?` : alts.join(" | "));
  };
  return node(names, true);
}
