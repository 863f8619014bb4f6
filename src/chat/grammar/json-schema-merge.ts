/**
 * `allOf` for json-schema-to-gbnf.ts: merges schemas into one that (for the supported keywords)
 * accepts what all of them accept: properties and required are united (a property in several
 * becomes the allOf of its schemas), types, enums and bounds intersect, anyOf lists multiply out.
 * Top-level `$ref`s are inlined first. Different `pattern`s are all kept (the others under
 * EXTRA_PATTERNS, for string-constraints.ts to intersect). Other conflicting keywords keep the
 * first value, with a warning (an error in strict mode).
 */
import { GrammarConversionError } from "./gbnf.ts";

export type SchemaObject = Record<string, unknown>;

/** Where a merged schema keeps the patterns besides its `pattern` (an `x-` key: never a user keyword we read). */
export const EXTRA_PATTERNS = "x-parley-patterns";

export interface MergeContext {
  /** Reports an unsupported construct: throws in strict mode, else warns. */
  unsupported(keyword: string, message: string): void;
  /** The schema a local `$ref` points to. */
  resolveRef(ref: unknown): unknown;
}

export function isRecord(value: unknown): value is SchemaObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const fail = (message: string, construct: string): never => {
  throw new GrammarConversionError(message, construct);
};

const LOWER = new Set(["minimum", "exclusiveMinimum", "minLength", "minItems"]);
const UPPER = new Set(["maximum", "exclusiveMaximum", "maxLength", "maxItems"]);
const MAX_DEPTH = 32;

function types(t: unknown): string[] {
  return Array.isArray(t) ? (t as string[]) : [t as string];
}

function intersectTypes(a: unknown, b: unknown): string[] {
  const bs = types(b);
  const out = new Set<string>();
  for (const t of types(a)) {
    if (bs.includes(t)) out.add(t);
    else if ((t === "integer" && bs.includes("number")) || (t === "number" && bs.includes("integer"))) out.add("integer");
  }
  if (out.size === 0) fail(`allOf: types ${JSON.stringify(a)} and ${JSON.stringify(b)} have nothing in common`, "allOf");
  return [...out];
}

function combine(ctx: MergeContext, key: string, a: unknown, b: unknown): unknown {
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  if (key === "properties" && isRecord(a) && isRecord(b)) {
    const out: SchemaObject = { ...a };
    for (const [name, schema] of Object.entries(b)) out[name] = name in out ? { allOf: [out[name], schema] } : schema;
    return out;
  }
  if (key === "required" && Array.isArray(a) && Array.isArray(b)) return [...new Set([...a, ...b])];
  if (key === "type") return intersectTypes(a, b);
  if (key === "enum" && Array.isArray(a) && Array.isArray(b)) {
    const keep = new Set(b.map((v) => JSON.stringify(v)));
    const out = a.filter((v) => keep.has(JSON.stringify(v)));
    return out.length > 0 ? out : fail("allOf: the enums have no value in common", "allOf");
  }
  if (key === "const") return fail("allOf: two different consts", "allOf");
  if (typeof a === "number" && typeof b === "number") {
    if (LOWER.has(key)) return Math.max(a, b);
    if (UPPER.has(key)) return Math.min(a, b);
  }
  if (key === "additionalProperties" || key === "items") {
    if (a === false || b === false) return false;
    if (a === true) return b;
    if (b === true) return a;
    if (!Array.isArray(a) && !Array.isArray(b)) return { allOf: [a, b] };
  }
  if ((key === "anyOf" || key === "oneOf") && Array.isArray(a) && Array.isArray(b)) {
    return a.flatMap((x) => b.map((y) => ({ allOf: [x, y] })));
  }
  ctx.unsupported("allOf", `allOf: conflicting "${key}" values, kept the first`);
  return a;
}

/** `part` with its top-level $ref and allOf merged in. */
function resolveTop(ctx: MergeContext, part: unknown, depth: number): unknown {
  if (!isRecord(part) || (part.$ref === undefined && part.allOf === undefined)) return part;
  if (depth > MAX_DEPTH) fail("allOf / $ref nest too deep (a $ref that refers to itself?)", "$ref");
  const { $ref, allOf, ...rest } = part;
  if ($ref !== undefined) return mergeSchemas(ctx, [ctx.resolveRef($ref), allOf === undefined ? rest : { ...rest, allOf }], depth + 1);
  if (!Array.isArray(allOf) || allOf.length === 0) return fail("allOf must be a non-empty array", "allOf");
  return mergeSchemas(ctx, [rest, ...allOf], depth + 1);
}

/** One schema accepting what every one of `parts` accepts. */
export function mergeSchemas(ctx: MergeContext, parts: readonly unknown[], depth = 0): SchemaObject {
  const out: SchemaObject = {};
  let nullable = true;
  for (const raw of parts) {
    const part = resolveTop(ctx, raw, depth);
    if (part === true) continue;
    if (part === false) fail("allOf contains `false`, which matches nothing", "false");
    if (!isRecord(part)) return fail("allOf members must be schemas", "allOf");
    if (part.nullable !== true) nullable = false;
    for (const [key, value] of Object.entries(part)) {
      if (key === "nullable") continue;
      if (key === "pattern" && typeof value === "string" && typeof out.pattern === "string" && value !== out.pattern) {
        out[EXTRA_PATTERNS] = [...(Array.isArray(out[EXTRA_PATTERNS]) ? out[EXTRA_PATTERNS] : []), value];
        continue;
      }
      if (key === EXTRA_PATTERNS && Array.isArray(value) && Array.isArray(out[key])) {
        out[key] = [...out[key], ...value];
        continue;
      }
      out[key] = key in out ? combine(ctx, key, out[key], value) : value;
    }
  }
  if (nullable && parts.length > 0) out.nullable = true;
  return out;
}
