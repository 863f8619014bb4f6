/**
 * Python's operators on template values: arithmetic with int/float distinction (`/` is always a
 * float, `//` and `%` floor as Python does, `'ab' * 2`, `[1] + [2]`), `~` concatenation,
 * comparisons and ordering (mixed types refused), `in`. Undefined operands raise, as Jinja2's
 * default Undefined does (except for `~`, `==`, `!=` and `in`).
 */
import { TemplateTypeError } from "./errors.ts";
import { percentFormat } from "./pyformat.ts";
import { equals, isNumber, iterate, num, PyDict, PyFloat, PyTuple, str, typeName, Undefined, type Value } from "./values.ts";

function unsupported(op: string, a: Value, b: Value): never {
  throw new TemplateTypeError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function numeric(x: number, float: boolean): Value {
  return float ? new PyFloat(x) : x;
}

export function binary(op: string, a: Value, b: Value): Value {
  if (op === "~") return str(a) + str(b);
  if (a instanceof Undefined) return a.fail();
  if (b instanceof Undefined) return b.fail();
  if (isNumber(a) && isNumber(b)) {
    const x = num(a);
    const y = num(b);
    const float = a instanceof PyFloat || b instanceof PyFloat;
    switch (op) {
      case "+":
        return numeric(x + y, float);
      case "-":
        return numeric(x - y, float);
      case "*":
        return numeric(x * y, float);
      case "/":
        if (y === 0) throw new TemplateTypeError("division by zero");
        return new PyFloat(x / y);
      case "//":
        if (y === 0) throw new TemplateTypeError("integer division or modulo by zero");
        return numeric(Math.floor(x / y), float);
      case "%":
        if (y === 0) throw new TemplateTypeError("integer division or modulo by zero");
        return numeric(x - y * Math.floor(x / y), float);
      case "**":
        return numeric(x ** y, float || y < 0);
      default:
        return unsupported(op, a, b);
    }
  }
  if (op === "+") {
    if (typeof a === "string" && typeof b === "string") return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
    if (typeof a === "string" || typeof b === "string") throw new TemplateTypeError(`can only concatenate str (not "${typeName(typeof a === "string" ? b : a)}") to str`);
    return unsupported(op, a, b);
  }
  if (op === "*") {
    const [seq, times] = isNumber(a) ? [b, a] : [a, b];
    if (isNumber(times) && !(times instanceof PyFloat)) {
      const n = Math.max(0, num(times));
      if (typeof seq === "string") return seq.repeat(n);
      if (Array.isArray(seq)) return Array.from({ length: n }, () => seq).flat(1);
      if (seq instanceof PyTuple) return new PyTuple(Array.from({ length: n }, () => seq.items).flat(1));
    }
    return unsupported(op, a, b);
  }
  if (op === "%" && typeof a === "string") return percentFormat(a, b);
  return unsupported(op, a, b);
}

export function unary(op: "-" | "+", a: Value): Value {
  if (a instanceof Undefined) return a.fail();
  if (!isNumber(a)) throw new TemplateTypeError(`bad operand type for unary ${op}: '${typeName(a)}'`);
  const x = op === "-" ? -num(a) : num(a);
  return a instanceof PyFloat ? new PyFloat(x) : x === 0 ? 0 : x;
}

/** Python's ordering: numbers with numbers, strings with strings, sequences element-wise. */
export function order(a: Value, b: Value): number {
  if (a instanceof Undefined) return a.fail();
  if (b instanceof Undefined) return b.fail();
  if (isNumber(a) && isNumber(b)) return Math.sign(num(a) - num(b));
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const seqA = Array.isArray(a) ? a : a instanceof PyTuple ? a.items : undefined;
  const seqB = Array.isArray(b) ? b : b instanceof PyTuple ? b.items : undefined;
  if (seqA !== undefined && seqB !== undefined && Array.isArray(a) === Array.isArray(b)) {
    for (let i = 0; i < Math.min(seqA.length, seqB.length); i++) {
      if (!equals(seqA[i] as Value, seqB[i] as Value)) return order(seqA[i] as Value, seqB[i] as Value);
    }
    return Math.sign(seqA.length - seqB.length);
  }
  throw new TemplateTypeError(`'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

export function compare(op: string, a: Value, b: Value): boolean {
  switch (op) {
    case "==":
      return equals(a, b);
    case "!=":
      return !equals(a, b);
    case "<":
      return order(a, b) < 0;
    case "<=":
      return order(a, b) <= 0;
    case ">":
      return order(a, b) > 0;
    case ">=":
      return order(a, b) >= 0;
    case "in":
      return contains(b, a);
    case "notin":
      return !contains(b, a);
    default:
      throw new TemplateTypeError(`unknown comparison ${op}`);
  }
}

/** `item in container`. */
export function contains(container: Value, item: Value): boolean {
  if (typeof container === "string") {
    if (typeof item !== "string") throw new TemplateTypeError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (container instanceof PyDict) return container.get(item) !== undefined;
  for (const x of iterate(container)) if (equals(x, item)) return true;
  return false;
}
