/**
 * Attribute and item access as Jinja2's sandboxed environment does it. `obj.name` looks for an
 * attribute first (a method such as `dict.items` or `str.startswith`), then an item; `obj[key]`
 * the other way round. A miss gives Undefined, never an error, except on Undefined itself. The
 * methods are Python's, for str, dict, list and tuple; those that would change their object
 * (`list.append`, `dict.update`, …) are refused as Hugging Face's immutable sandbox refuses them.
 */
import { TemplateError, TemplateTypeError } from "./errors.ts";
import { strFormat } from "./pyformat.ts";
import { dictKey, equals, HAS_SURROGATE, iterate, Loop, orElse, Namespace, PyCallable, PyDict, PyTuple, str, typeName, Undefined, type CallArgs, type Value, ownEntry } from "./values.ts";
import { loopAttribute } from "./loop.ts";
import { STRING_METHODS } from "./string-methods.ts";

const MUTATING: Readonly<Record<string, ReadonlySet<string>>> = {
  list: new Set(["append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"]),
  dict: new Set(["clear", "pop", "popitem", "setdefault", "update"]),
};

type Method = (self: never, call: CallArgs) => Value;

const DICT_METHODS: Readonly<Record<string, (self: PyDict, call: CallArgs) => Value>> = {
  items: (d) => [...d.map].map(([k, v]) => new PyTuple([k, v])),
  keys: (d) => [...d.map.keys()],
  values: (d) => [...d.map.values()],
  get: (d, { args }) => orElse(d.get(orElse(args[0], null)), orElse(args[1], null)),
  copy: (d) => new PyDict(d.map),
};

const SEQUENCE_METHODS: Readonly<Record<string, (self: readonly Value[], call: CallArgs) => Value>> = {
  index: (items, { args }) => {
    const i = items.findIndex((x) => equals(x, args[0] ?? null));
    if (i < 0) throw new TemplateError(`${str(args[0] ?? null)} is not in list`);
    return i;
  },
  count: (items, { args }) => items.filter((x) => equals(x, args[0] ?? null)).length,
  copy: (items) => [...items],
};

function bound(name: string, self: Value, method: Method): PyCallable {
  return new PyCallable(name, (call) => method(self as never, call));
}

/** `obj.name`. */
export function getattr(obj: Value, name: string): Value {
  if (obj instanceof Undefined) return obj.fail();
  if (typeof obj === "string") {
    const method = ownEntry(STRING_METHODS, name);
    if (method !== undefined) {
      if (name === "format") return new PyCallable(name, ({ args, kwargs }) => strFormat(obj, args, kwargs, getattr, getitem));
      return bound(name, obj, method as Method);
    }
    return missing(obj, name);
  }
  if (obj instanceof PyDict) {
    const method = ownEntry(DICT_METHODS, name);
    if (method !== undefined) return bound(name, obj, method as Method);
    if (MUTATING.dict?.has(name)) return unsafe(obj, name);
    return orElse(obj.map.get(name), missing(obj, name));
  }
  if (Array.isArray(obj) || obj instanceof PyTuple) {
    const method = ownEntry(SEQUENCE_METHODS, name);
    if (method !== undefined) return bound(name, (Array.isArray(obj) ? obj : obj.items) as Value[], method as Method);
    if (Array.isArray(obj) && MUTATING.list?.has(name)) return unsafe(obj, name);
    return missing(obj, name);
  }
  if (obj instanceof Namespace) return orElse(obj.attrs.get(name), missing(obj, name));
  if (obj instanceof Loop) return orElse(loopAttribute(obj, name), missing(obj, name));
  return missing(obj, name);
}

/** `obj[key]`. */
export function getitem(obj: Value, key: Value): Value {
  if (obj instanceof Undefined) return obj.fail();
  if (obj instanceof PyDict) {
    const value = obj.get(key);
    if (value !== undefined) return value;
  } else if (Array.isArray(obj) || obj instanceof PyTuple || typeof obj === "string") {
    if (typeof key === "number" || typeof key === "boolean") {
      const items: readonly Value[] = typeof obj === "string" ? ((HAS_SURROGATE.test(obj) ? Array.from(obj) : obj) as readonly Value[] & ArrayLike<Value>) : Array.isArray(obj) ? obj : obj.items;
      const i = Number(key);
      const value = items[i < 0 ? items.length + i : i];
      if (value !== undefined) return value;
    }
  } else if (obj instanceof Namespace || obj instanceof Loop) {
    if (typeof key === "string") return getattr(obj, key);
  }
  if (key instanceof Undefined) return missing(obj, "undefined");
  if (typeof key === "string") return getattr(obj, key);
  if (dictKey(key) === undefined && obj instanceof PyDict) throw new TemplateTypeError(`unhashable type: '${typeName(key)}'`);
  return missing(obj, str(key));
}

/** `obj[start:stop:step]`. */
export function slice(obj: Value, start: Value, stop: Value, step: Value): Value {
  if (obj instanceof Undefined) return obj.fail();
  const isString = typeof obj === "string";
  const items: readonly Value[] = isString ? Array.from(obj) : Array.isArray(obj) ? obj : obj instanceof PyTuple ? obj.items : [...iterate(obj)];
  const n = items.length;
  const by = step === null || step instanceof Undefined ? 1 : Number(step);
  if (by === 0) throw new TemplateError("slice step cannot be zero");
  const bound = (v: Value, fallback: number): number => {
    if (v === null || v instanceof Undefined) return fallback;
    let i = Number(v);
    if (i < 0) i += n;
    return by > 0 ? Math.min(Math.max(i, 0), n) : Math.min(Math.max(i, -1), n - 1);
  };
  const from = bound(start, by > 0 ? 0 : n - 1);
  const to = bound(stop, by > 0 ? n : -1);
  const out: Value[] = [];
  if (by > 0) for (let i = from; i < to; i += by) out.push(items[i] as Value);
  else for (let i = from; i > to; i += by) out.push(items[i] as Value);
  if (isString) return out.join("");
  return obj instanceof PyTuple ? new PyTuple(out) : out;
}

function missing(obj: Value, name: string): Undefined {
  return new Undefined(`'${typeName(obj)} object' has no attribute '${name}'`);
}

function unsafe(obj: Value, name: string): Undefined {
  return new Undefined(`access to attribute '${name}' of '${typeName(obj)}' object is unsafe.`, true);
}
