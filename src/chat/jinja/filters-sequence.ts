/**
 * Jinja2's filters over sequences, with its semantics: `select`, `reject`, `selectattr`,
 * `rejectattr`, `map`, `unique`, `items`, `batch`, `slice` and `reverse` (of a list) return
 * lazy one-shot generators as Jinja2's do, empty for a falsy input (so `none | selectattr(...)`
 * is an empty sequence); attribute paths (`'a.b.0'`) read items first; `sort`, `min`, `max`,
 * `unique`, `groupby` and `dictsort` compare strings case-insensitively unless told otherwise.
 */
import { getitem } from "./access.ts";
import { TemplateTypeError } from "./errors.ts";
import { order } from "./operators.ts";
import { equals, isNumber, iterate, num, orElse, PyDict, PyFloat, PyIterator, PyTuple, str, stringChars, toList, truthy, Undefined, type CallArgs, type Value } from "./values.ts";

/** What filters need from the environment: other filters and tests by name (for map/select). */
export interface FilterEnv {
  callFilter(name: string, value: Value, call: CallArgs): Value;
  callTest(name: string, value: Value, call: CallArgs): boolean;
}

export type FilterFn = (value: Value, call: CallArgs, env: FilterEnv) => Value;

/** Argument `index`, or keyword `name`, or `fallback`. */
export function arg(call: CallArgs, index: number, name: string, fallback: Value): Value {
  return orElse(call.args[index], orElse(call.kwargs.get(name), fallback));
}

const rest = (call: CallArgs, from: number): CallArgs => ({ args: call.args.slice(from), kwargs: call.kwargs });

function generator(source: () => Iterator<Value>, kind = "generator"): PyIterator {
  let started: Iterator<Value> | undefined;
  return new PyIterator({ next: () => (started ??= source()).next() }, kind);
}

/** Jinja2's make_attrgetter: `"a.b.0"` read with item-first lookup; `default` replaces Undefined. */
function attrGetter(attribute: Value, options: { lower?: boolean; fallback?: Value } = {}): (item: Value) => Value {
  const parts: Value[] = typeof attribute === "string" ? attribute.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [attribute];
  return (item) => {
    let value = item;
    for (const part of parts) {
      value = getitem(value, part);
      if (options.fallback !== undefined && options.fallback !== null && value instanceof Undefined) value = options.fallback;
    }
    return options.lower === true && typeof value === "string" ? value.toLowerCase() : value;
  };
}

function selectOrReject(value: Value, call: CallArgs, env: FilterEnv, byAttribute: boolean, keep: boolean): PyIterator {
  return generator(function* () {
    if (!truthy(value)) return;
    const get = byAttribute ? attrGetter(call.args[0] ?? null) : (x: Value) => x;
    const off = byAttribute ? 1 : 0;
    const testName = call.args[off];
    const test = testName === undefined ? truthy : (x: Value) => env.callTest(str(testName), x, rest(call, off + 1));
    for (const item of iterate(value)) if (test(get(item)) === keep) yield item;
  });
}

function sortKey(attribute: Value, caseSensitive: boolean): (item: Value) => Value {
  return attribute === null ? (x) => (!caseSensitive && typeof x === "string" ? x.toLowerCase() : x) : attrGetter(attribute, { lower: !caseSensitive });
}

function minOrMax(value: Value, call: CallArgs, sign: number): Value {
  const items = toList(value);
  if (items.length === 0) return new Undefined("No aggregated item, sequence was empty.");
  const key = sortKey(arg(call, 1, "attribute", null), truthy(arg(call, 0, "case_sensitive", false)));
  let best = items[0] as Value;
  for (const item of items.slice(1)) if (order(key(item), key(best)) * sign > 0) best = item;
  return best;
}

export const SEQUENCE_FILTERS: Readonly<Record<string, FilterFn>> = {
  batch: (v, c) =>
    generator(function* () {
      const size = num(arg(c, 0, "linecount", 1) as number);
      const fill = arg(c, 1, "fill_with", null);
      let tmp: Value[] = [];
      for (const item of iterate(v)) {
        if (tmp.length === size) {
          yield tmp;
          tmp = [];
        }
        tmp.push(item);
      }
      if (tmp.length > 0) {
        if (fill !== null) while (tmp.length < size) tmp.push(fill);
        yield tmp;
      }
    }),
  dictsort: (v, c) => {
    if (!(v instanceof PyDict)) throw new TemplateTypeError("dictsort: value must be a dict");
    const caseSensitive = truthy(arg(c, 0, "case_sensitive", false));
    const by = arg(c, 1, "by", "key") === "value" ? 1 : 0;
    const reverse = truthy(arg(c, 2, "reverse", false));
    const key = sortKey(null, caseSensitive);
    const items = [...v.map].map(([k, x]) => new PyTuple([k, x]));
    items.sort((a, b) => order(key(a.items[by] as Value), key(b.items[by] as Value)) * (reverse ? -1 : 1));
    return items;
  },
  first: (v) => {
    for (const item of iterate(v)) return item;
    return new Undefined("No first item, sequence was empty.");
  },
  groupby: (v, c) => {
    const attribute = arg(c, 0, "attribute", null);
    const fallback = arg(c, 1, "default", null);
    const caseSensitive = truthy(arg(c, 2, "case_sensitive", false));
    const key = attrGetter(attribute, { lower: !caseSensitive, fallback });
    const shown = attrGetter(attribute, { fallback });
    const sorted = [...toList(v)].sort((a, b) => order(key(a), key(b)));
    const groups: PyTuple[] = [];
    let current: Value[] | undefined;
    let currentKey: Value = null;
    for (const item of sorted) {
      const k = key(item);
      if (current === undefined || !equals(k, currentKey)) {
        current = [];
        currentKey = k;
        groups.push(new PyTuple([caseSensitive ? k : shown(item), current]));
      }
      current.push(item);
    }
    return groups;
  },
  items: (v) =>
    generator(function* () {
      if (v instanceof Undefined) return;
      if (!(v instanceof PyDict)) throw new TemplateTypeError(`Can only get item pairs from a mapping.`);
      for (const [k, x] of v.map) yield new PyTuple([k, x]);
    }),
  join: (v, c) => {
    const attribute = arg(c, 1, "attribute", null);
    const get = attribute === null ? (x: Value) => x : attrGetter(attribute);
    return [...iterate(v)].map((x) => str(get(x))).join(str(arg(c, 0, "d", "")));
  },
  last: (v) => {
    if (v instanceof PyIterator) throw new TemplateTypeError("'generator' object is not reversible");
    const items = toList(v);
    return items.length === 0 ? new Undefined("No last item, sequence was empty.") : (items[items.length - 1] as Value);
  },
  list: (v) => [...iterate(v)],
  map: (v, c, env) =>
    generator(function* () {
      if (!truthy(v)) return;
      let fn: (x: Value) => Value;
      if (c.args.length === 0 && c.kwargs.has("attribute")) fn = attrGetter(orElse(c.kwargs.get("attribute"), null), { fallback: orElse(c.kwargs.get("default"), null) });
      else fn = (x) => env.callFilter(str(c.args[0] ?? null), x, rest(c, 1));
      for (const item of iterate(v)) yield fn(item);
    }),
  max: (v, c) => minOrMax(v, c, 1),
  min: (v, c) => minOrMax(v, c, -1),
  reject: (v, c, env) => selectOrReject(v, c, env, false, false),
  rejectattr: (v, c, env) => selectOrReject(v, c, env, true, false),
  reverse: (v) => {
    if (typeof v === "string") return stringChars(v).reverse().join("");
    const items = [...toList(v)].reverse();
    return generator(() => items[Symbol.iterator](), Array.isArray(v) ? "list_reverseiterator" : "reversed");
  },
  select: (v, c, env) => selectOrReject(v, c, env, false, true),
  selectattr: (v, c, env) => selectOrReject(v, c, env, true, true),
  slice: (v, c) =>
    generator(function* () {
      const items = toList(v);
      const slices = num(arg(c, 0, "slices", 1) as number);
      const fill = arg(c, 1, "fill_with", null);
      const per = Math.floor(items.length / slices);
      const extra = items.length % slices;
      let offset = 0;
      for (let i = 0; i < slices; i++) {
        const start = offset + i * per;
        if (i < extra) offset++;
        const tmp = items.slice(start, offset + (i + 1) * per);
        if (fill !== null && i >= extra) tmp.push(fill);
        yield tmp;
      }
    }),
  sort: (v, c) => {
    const reverse = truthy(arg(c, 0, "reverse", false));
    const key = sortKey(arg(c, 2, "attribute", null), truthy(arg(c, 1, "case_sensitive", false)));
    return [...toList(v)].sort((a, b) => order(key(a), key(b)) * (reverse ? -1 : 1));
  },
  sum: (v, c) => {
    const attribute = arg(c, 0, "attribute", null);
    const get = attribute === null ? (x: Value) => x : attrGetter(attribute);
    let total: Value = arg(c, 1, "start", 0);
    for (const item of iterate(v)) {
      const x = get(item);
      if (!isNumber(total) || !isNumber(x)) throw new TemplateTypeError(`unsupported operand type(s) for +`);
      total = total instanceof PyFloat || x instanceof PyFloat ? new PyFloat(num(total) + num(x)) : num(total) + num(x);
    }
    return total;
  },
  unique: (v, c) =>
    generator(function* () {
      const key = sortKey(arg(c, 1, "attribute", null), truthy(arg(c, 0, "case_sensitive", false)));
      const seen: Value[] = [];
      for (const item of iterate(v)) {
        const k = key(item);
        if (!seen.some((s) => equals(s, k))) {
          seen.push(k);
          yield item;
        }
      }
    }),
};
