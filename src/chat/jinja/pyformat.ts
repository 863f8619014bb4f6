/**
 * Python's two string-formatting languages, as templates use them: `'{} {name!r:>8}'.format(…)`
 * (str.format with the format-spec mini-language) and `'%s: %.2f' % (…)` / the `format` filter
 * (printf style). Covers fill/align/sign/zero/width/grouping/precision and the s, d, f, e, g, x,
 * o, b, %, r conversions.
 */
import { TemplateError, TemplateTypeError } from "./errors.ts";
import { floatRepr, isNumber, num, PyDict, PyFloat, PyTuple, repr, str, type Value } from "./values.ts";

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/su;

/** Formats one value with a format spec (`format(value, spec)`). */
export function formatSpec(value: Value, spec: string): string {
  if (spec === "") return str(value);
  const m = SPEC.exec(spec);
  if (m === null) throw new TemplateError(`Invalid format specifier '${spec}'`);
  const [, fillChar, alignChar, sign, , zero, widthText, grouping, precisionText, typeChar] = m;
  const precision = precisionText === undefined ? undefined : Number(precisionText);
  let type = typeChar;
  let body: string;
  let negative = false;
  if (typeof value === "string" || !isNumber(value)) {
    if (type !== undefined && type !== "s") throw new TemplateError(`Unknown format code '${type}' for object of type 'str'`);
    body = str(value);
    if (precision !== undefined) body = [...body].slice(0, precision).join("");
  } else {
    const x = num(value);
    const isFloat = value instanceof PyFloat;
    negative = x < 0 || Object.is(x, -0);
    const a = Math.abs(x);
    if (type === undefined) type = isFloat ? (precision === undefined ? "r" : "g") : "d";
    switch (type) {
      case "d":
      case "n":
        if (isFloat) throw new TemplateError("Unknown format code 'd' for object of type 'float'");
        body = String(a);
        break;
      case "f":
      case "F":
        body = a.toFixed(precision ?? 6);
        break;
      case "e":
      case "E":
        body = expo(a, precision ?? 6);
        break;
      case "g":
      case "G":
        body = general(a, precision ?? 6);
        break;
      case "%":
        body = `${(a * 100).toFixed(precision ?? 6)}%`;
        break;
      case "x":
      case "X":
        body = Math.trunc(a).toString(16);
        break;
      case "o":
        body = Math.trunc(a).toString(8);
        break;
      case "b":
        body = Math.trunc(a).toString(2);
        break;
      case "c":
        body = String.fromCodePoint(a);
        break;
      default:
        body = floatRepr(a);
    }
    if (type === "X" || type === "E" || type === "G" || type === "F") body = body.toUpperCase();
    if (grouping !== undefined) {
      const [int = "", frac] = body.split(".");
      body = int.replace(/\B(?=(\d{3})+(?!\d))/g, grouping) + (frac === undefined ? "" : `.${frac}`);
    }
  }
  const signText = negative ? "-" : sign === "+" ? "+" : sign === " " ? " " : "";
  const width = widthText === undefined ? 0 : Number(widthText);
  const numeric = isNumber(value) && typeof value !== "string";
  const align = alignChar ?? (zero !== undefined && numeric ? "=" : numeric ? ">" : "<");
  const fill = fillChar ?? (zero !== undefined && alignChar === undefined ? "0" : " ");
  const padding = Math.max(0, width - [...body].length - signText.length);
  const pad = fill.repeat(padding);
  switch (align) {
    case "<":
      return signText + body + pad;
    case ">":
      return pad + signText + body;
    case "=":
      return signText + pad + body;
    default: {
      const left = fill.repeat(Math.floor(padding / 2));
      return left + signText + body + fill.repeat(padding - left.length);
    }
  }
}

function expo(a: number, precision: number): string {
  const [mantissa, exponent = "0"] = a.toExponential(precision).split("e");
  const e = Number(exponent);
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

function general(a: number, precision: number): string {
  const p = precision === 0 ? 1 : precision;
  if (a === 0) return "0";
  const e = Math.floor(Math.log10(a));
  const rounded = Number(a.toExponential(p - 1));
  const exp = rounded === 0 ? 0 : Math.floor(Math.log10(rounded));
  if (exp < -4 || exp >= p) return expo(a, p - 1).replace(/\.?0+e/, "e");
  void e;
  const fixed = a.toFixed(Math.max(0, p - 1 - exp));
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/** `template.format(*args, **kwargs)`. */
export function strFormat(
  template: string,
  args: readonly Value[],
  kwargs: ReadonlyMap<string, Value>,
  getattr: (obj: Value, name: string) => Value,
  getitem: (obj: Value, key: Value) => Value,
): string {
  let auto = 0;
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, field: string | undefined) => {
    if (whole === "{{") return "{";
    if (whole === "}}") return "}";
    const inner = field ?? "";
    const colon = inner.indexOf(":");
    const spec = colon < 0 ? "" : inner.slice(colon + 1);
    let ref = colon < 0 ? inner : inner.slice(0, colon);
    let conversion = "";
    const bang = ref.indexOf("!");
    if (bang >= 0) {
      conversion = ref.slice(bang + 1);
      ref = ref.slice(0, bang);
    }
    const head = /^[^.[]*/.exec(ref)?.[0] ?? "";
    let value: Value;
    if (head === "") {
      value = need(args[auto++], `Replacement index ${auto - 1} out of range for positional args tuple`);
    } else if (/^\d+$/.test(head)) {
      value = need(args[Number(head)], `Replacement index ${head} out of range for positional args tuple`);
    } else {
      value = need(kwargs.get(head), `'${head}'`);
    }
    for (const [, attr, key] of ref.slice(head.length).matchAll(/\.(\w+)|\[([^\]]+)\]/g)) {
      value = attr !== undefined ? getattr(value, attr) : getitem(value, /^\d+$/.test(key ?? "") ? Number(key) : (key ?? ""));
    }
    if (conversion === "r") value = repr(value);
    else if (conversion === "s") value = str(value);
    return formatSpec(value, spec);
  });
}

function need(value: Value | undefined, message: string): Value {
  if (value === undefined) throw new TemplateError(message);
  return value;
}

/** `template % values` (printf style). */
export function percentFormat(template: string, values: Value): string {
  const positional = values instanceof PyTuple ? values.items : [values];
  const mapping = values instanceof PyDict ? values : undefined;
  let index = 0;
  const out = template.replace(
    /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXeEfFgGcrsa%])/g,
    (whole, key: string | undefined, flags: string, width: string | undefined, precision: string | undefined, type: string) => {
      if (type === "%") return "%";
      const next = (): Value => {
        if (index >= positional.length) throw new TemplateTypeError("not enough arguments for format string");
        return positional[index++] as Value;
      };
      const w = width === "*" ? num(next() as number) : width === undefined ? undefined : Number(width);
      const p = precision === "*" ? num(next() as number) : precision === undefined ? undefined : Number(precision);
      const value = key !== undefined ? need(mapping?.get(key), `'${key}'`) : next();
      let align = flags.includes("-") ? "<" : ">";
      const zero = flags.includes("0") && !flags.includes("-");
      if (zero) align = "=";
      const sign = flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
      let spec: string;
      let target = value;
      if (type === "s" || type === "r" || type === "a") {
        target = type === "s" ? str(value) : repr(value);
        spec = `${align}${w ?? ""}${p === undefined ? "" : `.${p}`}`;
      } else {
        if (!isNumber(value)) throw new TemplateTypeError(`%${type} format: a real number is required, not ${typeof value}`);
        const t = type === "i" || type === "u" ? "d" : type;
        if (t === "d") target = Math.trunc(num(value));
        else if (!(value instanceof PyFloat) && "eEfFgG".includes(t)) target = new PyFloat(num(value));
        spec = `${zero ? "0" : ""}${align}${sign}${w ?? ""}${p === undefined || t === "d" ? "" : `.${p}`}${t}`;
        if (t === "c") spec = `${align}${w ?? ""}c`;
      }
      void whole;
      return formatSpec(target, spec);
    },
  );
  if (!(values instanceof PyDict) && index < positional.length) throw new TemplateTypeError("not all arguments converted during string formatting");
  return out;
}
