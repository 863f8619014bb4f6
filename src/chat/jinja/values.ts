/**
 * The values a template works with, modelled on Python's so that templates behave as under
 * Jinja2: `null` is None, JS numbers are ints (floats are boxed in {@link PyFloat}, so `1.0`
 * stays a float and prints `1.0`), arrays are lists, {@link PyDict} is a dict (any hashable key,
 * insertion order, so `{1: 'a'}` works), {@link PyTuple} a tuple, {@link Undefined} Jinja2's
 * default Undefined, {@link PyIterator} a one-shot generator (what `select`, `map`, `reverse` …
 * return). Also: truthiness, equality, `str()` and `repr()` as Python writes them.
 */
import { SecurityError, TemplateTypeError, UndefinedError } from "./errors.ts";

export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyTuple {
  constructor(readonly items: readonly Value[]) {}
}

export type DictKey = string | number | boolean | null;

export class PyDict {
  readonly map: Map<DictKey, Value>;
  constructor(entries?: Iterable<readonly [DictKey, Value]>) {
    this.map = new Map(entries);
  }
  get(key: Value): Value | undefined {
    const k = dictKey(key);
    return k === undefined ? undefined : this.map.get(k);
  }
}

/** Jinja2's default Undefined: prints as "", iterates as empty, is false; most else raises. */
export class Undefined {
  /** `unsafe`: what the immutable sandbox returns for a mutating method; using it is a SecurityError. */
  constructor(
    readonly hint: string,
    readonly unsafe = false,
  ) {}
  fail(): never {
    throw this.unsafe ? new SecurityError(this.hint) : new UndefinedError(this.hint);
  }
}

/** A generator: iterable once, always true, not JSON-serializable (as in Python). */
export class PyIterator {
  constructor(
    readonly source: Iterator<Value>,
    readonly kind = "generator",
  ) {}
}

export class Namespace {
  readonly attrs = new Map<string, Value>();
}

export interface CallArgs {
  readonly args: readonly Value[];
  readonly kwargs: ReadonlyMap<string, Value>;
}

/** A function, macro, global or bound method the template may call. */
export class PyCallable {
  constructor(
    readonly name: string,
    readonly call: (args: CallArgs) => Value,
  ) {}
}

/** `loop` inside a for loop. Attributes are computed by the interpreter. */
export interface LoopState {
  readonly items: readonly Value[];
  index0: number;
  readonly depth0: number;
  readonly recurse: PyCallable | undefined;
  lastChanged: { value: Value } | undefined;
}

export class Loop {
  constructor(readonly state: LoopState) {}
}

export type Value = string | number | boolean | null | PyFloat | PyTuple | PyDict | Value[] | Undefined | PyIterator | Namespace | PyCallable | Loop;

export const UNDEFINED = new Undefined("value is undefined");

/** `value`, or `fallback` when it is absent (JS undefined; None is a value). */
export function orElse<T>(value: Value | undefined, fallback: T): Value | T {
  return value === undefined ? fallback : value;
}

/** A dict key for `value`, or undefined when it is not hashable (a list, a dict). */
export function dictKey(value: Value): DictKey | undefined {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value === null) return value;
  if (value instanceof PyFloat) return value.value;
  return undefined;
}

/** Converts plain data (JSON-like, from the caller) into template values. */
export function fromJs(value: unknown): Value {
  if (value === undefined) return UNDEFINED;
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isInteger(value) ? value : new PyFloat(value);
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(fromJs);
  if (value instanceof PyFloat || value instanceof PyTuple || value instanceof PyDict || value instanceof Undefined) return value;
  if (value instanceof PyCallable || value instanceof Namespace || value instanceof PyIterator || value instanceof Loop) return value;
  if (typeof value === "function") {
    const fn = value as (...args: unknown[]) => unknown;
    return new PyCallable(fn.name, ({ args }) => fromJs(fn(...args.map(toJs))));
  }
  if (value instanceof Map) return new PyDict([...value].map(([k, v]) => [dictKey(fromJs(k)) ?? String(k), fromJs(v)] as const));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") {
    const dict = new PyDict();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) dict.map.set(k, fromJs(v));
    return dict;
  }
  return String(value);
}

/** Converts a template value back into plain data (for JS functions given as globals). */
export function toJs(value: Value): unknown {
  if (value instanceof PyFloat) return value.value;
  if (value instanceof Undefined) return undefined;
  if (Array.isArray(value)) return value.map(toJs);
  if (value instanceof PyTuple) return value.items.map(toJs);
  if (value instanceof PyDict) return Object.fromEntries([...value.map].map(([k, v]) => [String(k), toJs(v)]));
  return value;
}

export function isNumber(value: Value): value is number | boolean | PyFloat {
  return typeof value === "number" || typeof value === "boolean" || value instanceof PyFloat;
}

/** The numeric value of an int, bool or float. */
export function num(value: number | boolean | PyFloat): number {
  return value instanceof PyFloat ? value.value : Number(value);
}

export function truthy(value: Value): boolean {
  if (value === null || value instanceof Undefined) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return value.length > 0;
  if (value instanceof PyFloat) return value.value !== 0;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof PyTuple) return value.items.length > 0;
  if (value instanceof PyDict) return value.map.size > 0;
  return true;
}

/** Python's `==`. */
export function equals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (typeof a === "string" || typeof b === "string") return false;
  if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i] as Value));
  if (a instanceof PyTuple && b instanceof PyTuple) return a.items.length === b.items.length && a.items.every((x, i) => equals(x, b.items[i] as Value));
  if (a instanceof PyDict && b instanceof PyDict) {
    if (a.map.size !== b.map.size) return false;
    for (const [k, v] of a.map) {
      const other = b.map.get(k);
      if (other === undefined || !equals(v, other)) return false;
    }
    return true;
  }
  return false;
}

/** Python's type name of a value, for error messages and `tojson`. */
export function typeName(value: Value): string {
  if (value === null) return "NoneType";
  if (typeof value === "string") return "str";
  if (typeof value === "number") return "int";
  if (typeof value === "boolean") return "bool";
  if (value instanceof PyFloat) return "float";
  if (Array.isArray(value)) return "list";
  if (value instanceof PyTuple) return "tuple";
  if (value instanceof PyDict) return "dict";
  if (value instanceof Undefined) return "Undefined";
  if (value instanceof PyIterator) return value.kind;
  if (value instanceof Namespace) return "Namespace";
  if (value instanceof Loop) return "LoopContext";
  return "function";
}

/** Python's `repr()` of a float. */
export function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e16 || abs < 1e-4) {
    const [mantissa, exponent] = x.toExponential().split("e") as [string, string];
    const sign = exponent.startsWith("-") ? "-" : "+";
    return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
  }
  const text = String(x);
  return text.includes(".") ? text : `${text}.0`;
}

/** Python's `str()`. */
export function str(value: Value): string {
  if (typeof value === "string") return value;
  if (value instanceof Undefined) return "";
  return repr(value);
}

/** Python's `repr()` of a string: single quotes unless it has ' and no ". */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code < 0xa1) || code === 0xad) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (NON_PRINTABLE.test(ch)) out += code > 0xffff ? `\\U${code.toString(16).padStart(8, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + quote;
}

const NON_PRINTABLE = /^(?! )[\p{C}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python's `repr()`. */
export function repr(value: Value): string {
  if (typeof value === "string") return reprString(value);
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : floatRepr(value);
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(repr).join(", ")}]`;
  if (value instanceof PyTuple) return value.items.length === 1 ? `(${repr(value.items[0] as Value)},)` : `(${value.items.map(repr).join(", ")})`;
  if (value instanceof PyDict) return `{${[...value.map].map(([k, v]) => `${repr(k)}: ${repr(v)}`).join(", ")}}`;
  if (value instanceof Undefined) return "Undefined";
  if (value instanceof Namespace) return `<Namespace ${[...value.attrs].map(([k, v]) => `${repr(k)}: ${repr(v)}`).join(", ")}>`;
  if (value instanceof PyIterator) return `<${value.kind} object>`;
  if (value instanceof Loop) return "<LoopContext>";
  return `<function ${value.name}>`;
}

/** Iterates a value as Python's `for` does; raises for non-iterables (but Undefined is empty). */
export function iterate(value: Value): Iterable<Value> {
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return stringChars(value);
  if (value instanceof PyTuple) return value.items;
  if (value instanceof PyDict) return value.map.keys();
  if (value instanceof Undefined) return [];
  if (value instanceof PyIterator) return { [Symbol.iterator]: () => value.source };
  throw new TemplateTypeError(`'${typeName(value)}' object is not iterable`);
}

/** The items of an iterable, as an array (a copy only where needed). */
export function toList(value: Value): Value[] {
  return Array.isArray(value) ? value : [...iterate(value)];
}

/** A string's characters as Python counts them (code points). */
export function stringChars(s: string): string[] {
  return HAS_SURROGATE.test(s) ? Array.from(s) : s.split("");
}

export const HAS_SURROGATE = /[\uD800-\uDFFF]/;

/** Python's `len()`. */
export function length(value: Value): number {
  if (typeof value === "string") return HAS_SURROGATE.test(value) ? Array.from(value).length : value.length;
  if (Array.isArray(value)) return value.length;
  if (value instanceof PyTuple) return value.items.length;
  if (value instanceof PyDict) return value.map.size;
  if (value instanceof Undefined) return 0;
  if (value instanceof Namespace) return value.attrs.size;
  throw new TemplateTypeError(`object of type '${typeName(value)}' has no len()`);
}

/**
 * `table[name]` when `name` is one of the table's own entries; undefined otherwise. Name tables
 * (filters, tests, methods) are plain objects, so a bare lookup would also find what every object
 * inherits (`constructor`, `toString`…), which a template must not reach.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
