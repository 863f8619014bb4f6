/**
 * JSON Schema → llama.cpp GBNF, for `response_format: {type: "json_schema"}`: every string the
 * grammar accepts is JSON valid against the schema (for the supported subset below), so a
 * grammar-constrained model can only write valid output.
 *
 * Output is compact JSON: no whitespace between tokens, object properties in the order the
 * schema declares them. `whitespace` (vLLM's `guided_whitespace_pattern`) is a regex, converted
 * with regex-to-gbnf.ts, allowed after `{` `[` `,` `:` and before `}` `]` `,` `:`.
 *
 * Supported: `type` (one or a list), `enum`, `const`, `anyOf` / `oneOf` (alternatives; oneOf's
 * exclusivity is not enforced), `allOf` (merged), `$ref` to `#`, `#/$defs/…`, `#/definitions/…`
 * or any local JSON pointer (recursion allowed), `nullable`; objects: `properties`, `required`,
 * `additionalProperties` (false, true or a schema; when absent, objects with `properties` are
 * closed as in OpenAI's strict mode, objects without are open), optional properties may each be
 * left out, extra properties come after the declared ones and never reuse their names; arrays:
 * `items`, `prefixItems` (or draft-7 `items: […]` + `additionalItems`), `minItems`, `maxItems`;
 * strings: `minLength` / `maxLength` (in characters; an escape is one character), `pattern`
 * (regex-to-gbnf.ts; the pattern is treated as anchored at both ends, a subset of what it
 * matches unanchored), `format` (json-schema-formats.ts; an unknown format beside a pattern is
 * an annotation), all of them together (string-constraints.ts: the intersection, exactly, or a
 * 400 naming the keywords); numbers: bounds, exact for integers
 * and decimals (json-schema-numbers.ts); `true` / `{}` = any JSON value. Generated numbers and
 * strings without bounds are still finite: integers below 10^15, fractions up to 6 digits, and
 * exponents up to 2 digits; integers never have a fraction or exponent.
 *
 * Unsupported validation keywords are errors with `strict`, else warnings (and ignored); see
 * UNSUPPORTED_KEYWORDS (json-schema-keywords.ts). Invalid schemas are GrammarConversionErrors.
 */
import { GBNF_MAX_REPETITION, GrammarBuilder, gbnfLiteral } from "./gbnf.ts";
import { anyJsonValue } from "./json-schema-any.ts";
import { jsonCharRule } from "./json-schema-formats.ts";
import { TYPED_KEYWORDS, TYPES, checkKeywords, constraining, schemaPatterns } from "./json-schema-keywords.ts";
import { mergeSchemas, isRecord, type SchemaObject, type MergeContext } from "./json-schema-merge.ts";
import { integerRangeGbnf, numberRangeGbnf, type NumberBound } from "./json-schema-numbers.ts";
import { objectGbnf } from "./json-schema-objects.ts";
import { JsonPunctuation, QUOTE, fail, seq, type SchemaVisitor } from "./json-schema-syntax.ts";
import { regexToGbnf } from "./regex-to-gbnf.ts";
import { readStringKeywords, stringContents } from "./string-constraints.ts";

export { ANNOTATION_KEYWORDS, UNSUPPORTED_KEYWORDS } from "./json-schema-keywords.ts";

export interface JsonSchemaToGbnfOptions {
  /** Throw on unsupported keywords instead of warning (default false). */
  readonly strict?: boolean;
  /** "compact" (default): no whitespace; else a regex for the whitespace allowed between tokens. */
  readonly whitespace?: "compact" | string;
}

export interface JsonSchemaGrammar {
  readonly grammar: string;
  readonly warnings: string[];
}

/** Converts a JSON Schema to a GBNF grammar whose root matches exactly-valid JSON text. */
export function jsonSchemaToGbnf(schema: unknown, options: JsonSchemaToGbnfOptions = {}): JsonSchemaGrammar {
  const builder = new GrammarBuilder();
  const { rule, warnings } = jsonSchemaRule(schema, builder, options);
  return { grammar: builder.toString(rule), warnings };
}

/**
 * Adds the rules for `schema` to an existing grammar (several schemas can share one, e.g. one per
 * tool) and returns the name of the rule matching valid JSON text.
 */
export function jsonSchemaRule(schema: unknown, builder: GrammarBuilder, options: JsonSchemaToGbnfOptions & { readonly hint?: string } = {}): { rule: string; warnings: string[] } {
  const converter = new Converter(schema, options, builder);
  const rule = converter.visit(schema, options.hint ?? "value");
  return { rule, warnings: [...converter.warnings] };
}

class Converter implements MergeContext, SchemaVisitor {
  readonly builder: GrammarBuilder;
  readonly warnings = new Set<string>();
  readonly #refs = new Map<string, string>();
  readonly json: JsonPunctuation;
  readonly #strict: boolean;
  #anyValue: string | undefined;

  constructor(
    readonly root: unknown,
    options: JsonSchemaToGbnfOptions,
    builder: GrammarBuilder,
  ) {
    this.builder = builder;
    this.#strict = options.strict ?? false;
    const ws = options.whitespace ?? "compact";
    this.json = new JsonPunctuation(ws === "compact" ? "" : regexToGbnf(ws, this.builder, "ws"));
  }

  /** Unsupported: an error with `strict`, else a warning. */
  unsupported(keyword: string, message: string): void {
    if (this.#strict) fail(message, keyword);
    this.warnings.add(message);
  }

  resolveRef(ref: unknown): unknown {
    if (typeof ref !== "string") return fail("$ref must be a string", "$ref");
    if (!ref.startsWith("#")) return fail(`only local $refs are supported: ${ref}`, "$ref");
    let target: unknown = this.root;
    const pointer = decodeURIComponent(ref.slice(1));
    if (pointer !== "" && !pointer.startsWith("/")) fail(`unsupported $ref ${ref}`, "$ref");
    for (const raw of pointer === "" ? [] : pointer.slice(1).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      target = isRecord(target) || Array.isArray(target) ? (target as Record<string, unknown>)[key] : undefined;
      if (target === undefined) fail(`$ref ${ref} points to nothing`, "$ref");
    }
    return target;
  }

  visit(schema: unknown, hint: string): string {
    if (schema === true) return this.#any();
    if (schema === false) return fail("the schema `false` matches nothing", "false");
    if (!isRecord(schema)) return fail(`a schema must be an object or a boolean, got ${JSON.stringify(schema)}`, "schema");
    const s = schema;
    checkKeywords(s, this);
    const rest = constraining(s);
    if (s.$ref !== undefined) {
      delete rest.$ref;
      if (Object.keys(rest).length === 0) return this.#ref(s.$ref, hint);
      return this.visit(mergeSchemas(this, [{ $ref: s.$ref }, rest]), hint);
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf) || s.allOf.length === 0) fail("allOf must be a non-empty array", "allOf");
      delete rest.allOf;
      return this.visit(mergeSchemas(this, [rest, ...(s.allOf as unknown[])]), hint);
    }
    if (s.anyOf !== undefined || s.oneOf !== undefined) {
      const lists = [s.anyOf, s.oneOf].filter((x) => x !== undefined);
      for (const list of lists) if (!Array.isArray(list) || list.length === 0) fail("anyOf / oneOf must be a non-empty array", "anyOf");
      delete rest.anyOf;
      delete rest.oneOf;
      let branches: unknown[] = lists[0] as unknown[];
      if (lists.length === 2) branches = branches.flatMap((a) => (lists[1] as unknown[]).map((b) => ({ allOf: [a, b] })));
      if (Object.keys(rest).length > 0) branches = branches.map((b) => ({ allOf: [rest, b] }));
      const alts = branches.map((b, i) => this.visit(b, `${hint}-${i}`));
      return this.builder.addRule(hint, [...new Set(alts)].join(" | "));
    }
    if (s.nullable === true) {
      delete rest.nullable;
      return this.builder.addRule(hint, `${this.visit(rest, hint)} | "null"`);
    }
    let types: string[] | undefined;
    if (s.type !== undefined) {
      types = Array.isArray(s.type) ? s.type : [s.type];
      for (const t of types) if (typeof t !== "string" || !TYPES.has(t)) fail(`unknown type ${JSON.stringify(t)}`, "type");
      if (types.length === 0) fail("type: [] matches nothing", "type");
    }
    if (s.const !== undefined || s.enum !== undefined) {
      const values = s.const !== undefined ? [s.const] : s.enum;
      if (!Array.isArray(values)) return fail("enum must be an array", "enum");
      const ok = values.filter((v) => types === undefined || types.includes(jsonType(v)) || (types.includes("number") && jsonType(v) === "integer"));
      if (ok.length === 0) fail("no enum / const value has the schema's type", "enum");
      return this.builder.addRule(hint, [...new Set(ok.map((v) => gbnfLiteral(JSON.stringify(v))))].join(" | "));
    }
    if (types === undefined) {
      types = Object.entries(TYPED_KEYWORDS)
        .filter(([, keys]) => keys.some((k) => k in s))
        .map(([t]) => t);
      if (types.length === 0) return this.#any();
    }
    const alts = [...new Set(types)].map((t) => this.#typed(t, s, hint));
    return alts.length === 1 ? alts[0]! : this.builder.addRule(hint, alts.join(" | "));
  }

  #ref(ref: unknown, hint: string): string {
    const key = String(ref);
    const known = this.#refs.get(key);
    if (known !== undefined) return known;
    const target = this.resolveRef(ref);
    const name = this.builder.reserve(key.split("/").pop() || hint);
    this.#refs.set(key, name);
    this.builder.define(name, this.visit(target, name));
    return name;
  }

  #typed(type: string, s: SchemaObject, hint: string): string {
    switch (type) {
      case "null":
        return '"null"';
      case "boolean":
        return this.builder.addRule("boolean", '"true" | "false"');
      case "integer":
      case "number":
        return this.#number(type, s);
      case "string":
        return this.#string(s, hint);
      case "object":
        return objectGbnf(this, s, hint);
      default:
        return this.#array(s, hint);
    }
  }

  #number(type: string, s: SchemaObject): string {
    const num = (key: string): number | undefined => {
      const v = s[key];
      if (v === undefined || typeof v === "boolean") return undefined;
      if (typeof v !== "number" || !Number.isFinite(v)) return fail(`${key} must be a finite number`, key);
      return v;
    };
    const bound = (inclusive: number | undefined, exclusive: number | undefined, legacy: unknown, lower: boolean): NumberBound | null => {
      const cands: NumberBound[] = [];
      if (inclusive !== undefined) cands.push({ value: inclusive, exclusive: legacy === true });
      if (exclusive !== undefined) cands.push({ value: exclusive, exclusive: true });
      const tighter = (a: NumberBound, b: NumberBound): NumberBound => (a.value === b.value ? (a.exclusive ? a : b) : a.value > b.value === lower ? a : b);
      return cands.length === 0 ? null : cands.reduce(tighter);
    };
    const lo = bound(num("minimum"), num("exclusiveMinimum"), s.exclusiveMinimum, true);
    const hi = bound(num("maximum"), num("exclusiveMaximum"), s.exclusiveMaximum, false);
    if (lo !== null && hi !== null && (lo.value > hi.value || (lo.value === hi.value && (lo.exclusive || hi.exclusive)))) {
      fail(`minimum ${lo.value} is above maximum ${hi.value}`, "minimum");
    }
    const INT = '"-"? ("0" | [1-9] [0-9]{0,14})';
    if (type === "integer") {
      if (lo === null && hi === null) return this.builder.addRule("integer", INT);
      const min = lo === null ? null : lo.exclusive ? BigInt(Math.floor(lo.value)) + 1n : BigInt(Math.ceil(lo.value));
      const max = hi === null ? null : hi.exclusive ? BigInt(Math.ceil(hi.value)) - 1n : BigInt(Math.floor(hi.value));
      return integerRangeGbnf(this.builder, min, max);
    }
    if (lo === null && hi === null) return this.builder.addRule("number", `${INT} ("." [0-9]{1,6})? ([eE] [-+]? [0-9]{1,2})?`);
    return numberRangeGbnf(this.builder, lo, hi);
  }

  #count(s: SchemaObject, key: string, fallback: number): number {
    const v = s[key] ?? fallback;
    if (typeof v !== "number" || !(Number.isInteger(v) || v === Infinity) || v < 0) fail(`${key} must be a non-negative integer`, key);
    return v as number;
  }

  /** `unit{min,max}` for a rule name `unit`, within llama.cpp's repetition limit. */
  #repeat(unit: string, min: number, max: number, what: string): string {
    if (min > GBNF_MAX_REPETITION) fail(`${what} above ${GBNF_MAX_REPETITION} is not supported`, what);
    if (max !== Infinity && max > GBNF_MAX_REPETITION) max = GBNF_MAX_REPETITION;
    if (max === 0) return "";
    if (max === Infinity) return min === 0 ? `${unit}*` : min === 1 ? `${unit}+` : `${unit}{${min},}`;
    return min === max ? (min === 1 ? unit : `${unit}{${min}}`) : min === 0 && max === 1 ? `${unit}?` : `${unit}{${min},${max}}`;
  }

  #string(s: SchemaObject, hint: string): string {
    const min = this.#count(s, "minLength", 0);
    const max = this.#count(s, "maxLength", Infinity);
    const patterns = schemaPatterns(s);
    const { format } = readStringKeywords(s, patterns, min, max, this);
    if (patterns.length > 0 || format !== undefined) {
      const { rule, warnings } = stringContents({ patterns, format, minLength: min, maxLength: max }, this.builder, { escape: "json", hint });
      for (const warning of warnings) this.warnings.add(warning);
      return this.builder.addRule(format !== undefined && patterns.length === 0 && min === 0 && max === Infinity ? `${hint}-${format}` : hint, seq(QUOTE, rule, QUOTE));
    }
    const contents = this.#repeat(jsonCharRule(this.builder), min, max, "minLength");
    return min === 0 && max === Infinity ? this.builder.addRule("string", seq(QUOTE, contents, QUOTE)) : this.builder.addRule(hint, seq(QUOTE, contents, QUOTE));
  }

  #any(): string {
    return (this.#anyValue ??= anyJsonValue(this.builder, this.json, () => [this.#number("number", {}), this.#typed("boolean", {}, "")]));
  }

  #array(s: SchemaObject, hint: string): string {
    const prefixRaw = s.prefixItems ?? (Array.isArray(s.items) ? s.items : []);
    if (!Array.isArray(prefixRaw)) return fail("prefixItems must be an array", "prefixItems");
    let prefix: unknown[] = prefixRaw;
    const itemSchema = Array.isArray(s.items) ? (s.additionalItems ?? true) : (s.items ?? true);
    const min = this.#count(s, "minItems", 0);
    let max = this.#count(s, "maxItems", Infinity);
    if (itemSchema === false) max = Math.min(max, prefix.length);
    if (min > max) fail(`minItems ${min} is above the most items allowed (${max})`, "minItems");
    prefix = prefix.slice(0, max === Infinity ? prefix.length : max);
    const sep = this.json.sep(",");
    const k = prefix.length;
    const item = max > k ? this.visit(itemSchema, `${hint}-item`) : "";
    const next = item === "" ? "" : this.builder.addRule(`${hint}-next`, seq(sep, item));
    let contents: string;
    if (k === 0) {
      contents = max === 0 ? "" : seq(item, this.#repeat(next, Math.max(min - 1, 0), max - 1, "minItems"));
      if (min === 0 && contents !== "") contents = `(${contents})?`;
    } else {
      contents = item === "" ? "" : this.#repeat(next, Math.max(min - k, 0), max - k, "minItems");
      for (let i = k - 1; i >= 0; i--) {
        const element = this.visit(prefix[i], `${hint}-${i}`);
        const part = seq(i === 0 ? "" : sep, element, contents);
        contents = i >= min ? `(${part})?` : part;
      }
    }
    return this.builder.addRule(hint, seq(this.json.open("["), contents, this.json.close("]")));
  }
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}
