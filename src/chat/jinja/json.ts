/**
 * `json.dumps` as Hugging Face's `tojson` filter calls it: `ensure_ascii=False` (non-ASCII text
 * as is), `indent`, `separators` (default `", "` and `": "`, or `","` and `": "` with an indent),
 * `sort_keys`. Floats print as Python prints them (`1.0`), tuples as lists, int/float/bool/None
 * keys as strings; Undefined and generators are refused, as Python refuses them.
 */
import { TemplateTypeError } from "./errors.ts";
import { floatRepr, PyDict, PyFloat, PyTuple, typeName, type DictKey, type Value } from "./values.ts";

export interface DumpsOptions {
  /** Spaces (a number) or the string to indent each level with; undefined: one line (default). */
  readonly indent?: number | string | undefined;
  /** Item and key separators (default [", ", ": "], or [",", ": "] with an indent). */
  readonly separators?: readonly [string, string] | undefined;
  /** Sort dict keys (default false). */
  readonly sortKeys?: boolean;
}

const ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };

export function jsonString(s: string): string {
  return `"${s.replace(/[\x00-\x1f\\"]/g, (ch) => ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

function jsonNumber(x: number, isFloat: boolean): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return isFloat ? floatRepr(x) : String(x);
}

function keyText(key: DictKey): string {
  if (typeof key === "string") return key;
  if (key === null) return "null";
  if (typeof key === "boolean") return key ? "true" : "false";
  return Number.isInteger(key) ? String(key) : floatRepr(key);
}

export function dumps(value: Value, options: DumpsOptions = {}): string {
  const indent = options.indent === undefined ? undefined : typeof options.indent === "number" ? " ".repeat(Math.max(0, options.indent)) : options.indent;
  const [itemSep, keySep] = options.separators ?? (indent === undefined ? [", ", ": "] : [",", ": "]);
  const write = (v: Value, level: number): string => {
    if (v === null) return "null";
    if (typeof v === "string") return jsonString(v);
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return jsonNumber(v, false);
    if (v instanceof PyFloat) return jsonNumber(v.value, true);
    const open = (items: string[], l: string, r: string): string => {
      if (items.length === 0) return l + r;
      if (indent === undefined) return l + items.join(itemSep) + r;
      const inner = `\n${indent.repeat(level + 1)}`;
      return l + inner + items.join(itemSep + inner) + `\n${indent.repeat(level)}` + r;
    };
    if (Array.isArray(v) || v instanceof PyTuple)
      return open(
        (Array.isArray(v) ? v : v.items).map((x) => write(x, level + 1)),
        "[",
        "]",
      );
    if (v instanceof PyDict) {
      let entries = [...v.map];
      if (options.sortKeys === true) entries = entries.sort(([a], [b]) => compareKeys(a, b));
      return open(
        entries.map(([k, x]) => jsonString(keyText(k)) + keySep + write(x, level + 1)),
        "{",
        "}",
      );
    }
    throw new TemplateTypeError(`Object of type ${typeName(v)} is not JSON serializable`);
  };
  return write(value, 0);
}

function compareKeys(a: DictKey, b: DictKey): number {
  if (typeof a !== typeof b) throw new TemplateTypeError(`'<' not supported between instances of '${typeof a}' and '${typeof b}'`);
  return (a as string | number) < (b as string | number) ? -1 : (a as string | number) > (b as string | number) ? 1 : 0;
}
