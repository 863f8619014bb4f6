/**
 * Jinja2's built-in tests (`x is defined`, `x is string`, `x is divisibleby 3`, …) with Python's
 * type rules: `number` includes booleans, `integer` does not; `sequence` and `iterable` are true
 * for Undefined (Jinja2's Undefined is an empty iterable); `mapping` is a dict.
 */
import { compare, contains } from "./operators.ts";
import { isNumber, Loop, num, orElse, PyCallable, PyDict, PyFloat, PyIterator, PyTuple, str, Undefined, type CallArgs, type Value } from "./values.ts";

export type TestFn = (value: Value, call: CallArgs, has: (kind: "filter" | "test", name: string) => boolean) => boolean;

const isInt = (v: Value): boolean => typeof v === "number";
const arg0 = (call: CallArgs, name: string): Value => orElse(call.args[0], orElse(call.kwargs.get(name), null));

export const TESTS: Readonly<Record<string, TestFn>> = {
  defined: (v) => !(v instanceof Undefined),
  undefined: (v) => v instanceof Undefined,
  none: (v) => v === null,
  boolean: (v) => typeof v === "boolean",
  true: (v) => v === true,
  false: (v) => v === false,
  integer: (v) => isInt(v),
  float: (v) => v instanceof PyFloat,
  number: (v) => isNumber(v),
  string: (v) => typeof v === "string",
  mapping: (v) => v instanceof PyDict,
  sequence: (v) => typeof v === "string" || Array.isArray(v) || v instanceof PyTuple || v instanceof PyDict || v instanceof Undefined,
  iterable: (v) => typeof v === "string" || Array.isArray(v) || v instanceof PyTuple || v instanceof PyDict || v instanceof Undefined || v instanceof PyIterator,
  callable: (v) => v instanceof PyCallable || v instanceof Undefined || v instanceof Loop,
  odd: (v) => num(v as number) % 2 !== 0,
  even: (v) => num(v as number) % 2 === 0,
  divisibleby: (v, c) => num(v as number) % num(arg0(c, "num") as number) === 0,
  lower: (v) => {
    const s = str(v);
    return s.toLowerCase() !== s.toUpperCase() && s === s.toLowerCase();
  },
  upper: (v) => {
    const s = str(v);
    return s.toLowerCase() !== s.toUpperCase() && s === s.toUpperCase();
  },
  sameas: (v, c) => {
    const other = arg0(c, "other");
    return v === other || (v instanceof Undefined && other instanceof Undefined && v === other);
  },
  escaped: () => false,
  in: (v, c) => contains(arg0(c, "seq"), v),
  filter: (v, _c, has) => typeof v === "string" && has("filter", v),
  test: (v, _c, has) => typeof v === "string" && has("test", v),
  eq: (v, c) => compare("==", v, arg0(c, "other")),
  ne: (v, c) => compare("!=", v, arg0(c, "other")),
  lt: (v, c) => compare("<", v, arg0(c, "other")),
  le: (v, c) => compare("<=", v, arg0(c, "other")),
  gt: (v, c) => compare(">", v, arg0(c, "other")),
  ge: (v, c) => compare(">=", v, arg0(c, "other")),
};

for (const [alias, name] of [
  ["==", "eq"],
  ["equalto", "eq"],
  ["!=", "ne"],
  ["<", "lt"],
  ["lessthan", "lt"],
  ["<=", "le"],
  [">", "gt"],
  ["greaterthan", "gt"],
  [">=", "ge"],
] as const) {
  (TESTS as Record<string, TestFn>)[alias] = TESTS[name] as TestFn;
}
