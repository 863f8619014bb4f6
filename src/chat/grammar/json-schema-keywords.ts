/**
 * JSON Schema keyword classes for json-schema-to-gbnf.ts: which keywords are supported, which are
 * annotations, which are unsupported validation, and the check that reports the rest.
 */
import { GrammarConversionError } from "./gbnf.ts";
import { EXTRA_PATTERNS, type SchemaObject } from "./json-schema-merge.ts";

export const ANNOTATION_KEYWORDS: readonly string[] = [
  "title",
  "description",
  "default",
  "examples",
  "example",
  "$schema",
  "$id",
  "$anchor",
  "$comment",
  "deprecated",
  "readOnly",
  "writeOnly",
  "contentMediaType",
  "contentEncoding",
  "discriminator",
  "$defs",
  "definitions",
];
export const UNSUPPORTED_KEYWORDS: readonly string[] = [
  "uniqueItems",
  "multipleOf",
  "patternProperties",
  "propertyNames",
  "if",
  "then",
  "else",
  "not",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
  "contains",
  "minContains",
  "maxContains",
  "minProperties",
  "maxProperties",
  "unevaluatedProperties",
  "unevaluatedItems",
  "$dynamicRef",
  "$recursiveRef",
];
export const TYPED_KEYWORDS: Record<string, readonly string[]> = {
  object: ["properties", "required", "additionalProperties"],
  array: ["items", "prefixItems", "additionalItems", "minItems", "maxItems"],
  string: ["minLength", "maxLength", "pattern", "format"],
  number: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
};
const SUPPORTED = new Set([...Object.values(TYPED_KEYWORDS).flat(), "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "nullable"]);
const ANNOTATIONS = new Set(ANNOTATION_KEYWORDS);
const UNSUPPORTED = new Set(UNSUPPORTED_KEYWORDS);
export const TYPES = new Set(["string", "number", "integer", "boolean", "null", "object", "array"]);

export interface KeywordReporter {
  /** Unsupported: an error with `strict`, else a warning. */
  unsupported(keyword: string, message: string): void;
  readonly warnings: Set<string>;
}

/** Reports unsupported (or, as warnings, unknown) keywords of `s`; harmless values pass. */
export function checkKeywords(s: SchemaObject, reporter: KeywordReporter): void {
  for (const key of Object.keys(s)) {
    if (SUPPORTED.has(key) || ANNOTATIONS.has(key) || key.startsWith("x-")) continue;
    const value = s[key];
    if (key === "uniqueItems" && value === false) continue;
    if ((key === "minProperties" || key === "minContains") && value === 0) continue;
    if (key === "multipleOf" && value === 1 && s.type === "integer") continue;
    if (UNSUPPORTED.has(key)) reporter.unsupported(key, `unsupported keyword "${key}" ignored`);
    else reporter.warnings.add(`unknown keyword "${key}" ignored`);
  }
}

/** `s` without annotations. */
export function constraining(s: SchemaObject): SchemaObject {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !ANNOTATIONS.has(k)));
}

/** A count keyword's value (`minLength`, `maxItems`…), `fallback` when absent; anything but a non-negative integer is refused. */
export function schemaCount(s: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const value = s[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new GrammarConversionError(`${key} must be a non-negative integer`, key);
  return value;
}

/** Every pattern a string schema's value must match: `pattern`, and those an `allOf` merge added. */
export function schemaPatterns(s: Readonly<Record<string, unknown>>): string[] {
  if (s.pattern !== undefined && typeof s.pattern !== "string") throw new GrammarConversionError("pattern must be a string", "pattern");
  const extra = Array.isArray(s[EXTRA_PATTERNS]) ? (s[EXTRA_PATTERNS] as unknown[]).filter((p): p is string => typeof p === "string") : [];
  return [...(s.pattern === undefined ? [] : [s.pattern]), ...extra];
}
