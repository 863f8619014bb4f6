/**
 * Jinja2's built-in filters with Python's semantics, plus Hugging Face's `tojson`: the text and
 * number filters here, the sequence ones in filters-sequence.ts. Filters that read text take
 * Undefined as "" (`trim`, `upper`, `string`, …), `length` of Undefined is 0, `default` replaces
 * it; `int`/`float` fall back to their default on what Python cannot convert.
 */
import { getattr } from "./access.ts";
import { TemplateTypeError } from "./errors.ts";
import { arg, SEQUENCE_FILTERS, type FilterFn } from "./filters-sequence.ts";
import { dumps } from "./json.ts";
import { percentFormat } from "./pyformat.ts";
import { pyCapitalize, pySplit, STRING_METHODS } from "./string-methods.ts";
import { isNumber, length, num, PyDict, PyFloat, PyTuple, repr, str, stringChars, toList, truthy, Undefined, type CallArgs, type Value } from "./values.ts";

export type { FilterEnv, FilterFn } from "./filters-sequence.ts";

function pyRound(x: number, digits: number): number {
  const m = 10 ** digits;
  const scaled = x * m;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return Number((rounded / m).toFixed(Math.max(0, digits)));
}

function toInt(value: Value, fallback: Value, base: number): Value {
  if (typeof value === "string") {
    const text = value.trim().replace(/_/g, "");
    if (base === 10 && /^[+-]?\d+$/.test(text)) return Number(text);
    if (base !== 10 && text !== "" && !Number.isNaN(parseInt(text, base))) return parseInt(text, base);
    const f = toFloat(value, null);
    return f === null ? fallback : Math.trunc((f as PyFloat).value);
  }
  if (isNumber(value)) return Math.trunc(num(value));
  return fallback;
}

function toFloat(value: Value, fallback: Value): Value {
  if (isNumber(value)) return new PyFloat(num(value));
  if (typeof value === "string") {
    const text = value.trim().replace(/_/g, "");
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return new PyFloat(Number(text));
    if (/^[+-]?(inf|infinity|nan)$/i.test(text)) return new PyFloat(Number(text.replace(/inf(inity)?/i, "Infinity").replace(/nan/i, "NaN")));
  }
  return fallback;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" };
const escape = (value: Value): string => str(value).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);

/** Jinja2's `title` filter (not str.title): capitalize after spaces, dashes and brackets. */
function jinjaTitle(s: string): string {
  return s
    .split(/([-\s({[<]+)/u)
    .filter((part) => part !== "")
    .map((part) => {
      const chars = stringChars(part);
      return (chars[0] ?? "").toUpperCase() + chars.slice(1).join("").toLowerCase();
    })
    .join("");
}

function indent(value: Value, call: CallArgs): Value {
  if (value instanceof Undefined) value.fail();
  if (typeof value !== "string") throw new TemplateTypeError(`unsupported operand type(s) for +=: '${typeof value}' and 'str'`);
  const width = arg(call, 0, "width", 4);
  const pad = typeof width === "string" ? width : " ".repeat(num(width as number));
  const lines = pySplitLines(`${value}\n`);
  let out: string;
  if (truthy(arg(call, 2, "blank", false))) out = lines.join(`\n${pad}`);
  else
    out =
      (lines[0] ?? "") +
      (lines.length > 1
        ? `\n${lines
            .slice(1)
            .map((l) => (l === "" ? l : pad + l))
            .join("\n")}`
        : "");
  return truthy(arg(call, 1, "first", false)) ? pad + out : out;
}

function pySplitLines(s: string): string[] {
  const parts = s.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

export const FILTERS: Readonly<Record<string, FilterFn>> = {
  abs: (v) => {
    if (v instanceof Undefined) throw new TemplateTypeError("bad operand type for abs(): 'Undefined'");
    if (!isNumber(v)) throw new TemplateTypeError(`bad operand type for abs(): '${typeof v}'`);
    return v instanceof PyFloat ? new PyFloat(Math.abs(v.value)) : Math.abs(num(v));
  },
  attribute: (v, c) => getattr(v, str(arg(c, 0, "name", ""))),
  capitalize: (v) => pyCapitalize(str(v)),
  center: (v, c) => {
    const s = str(v);
    const width = num(arg(c, 0, "width", 80) as number);
    const n = stringChars(s).length;
    if (width <= n) return s;
    const pad = width - n;
    const left = Math.floor(pad / 2) + (pad & width & 1);
    return " ".repeat(left) + s + " ".repeat(pad - left);
  },
  count: (v) => length(v),
  default: (v, c) => (v instanceof Undefined || (truthy(arg(c, 1, "boolean", false)) && !truthy(v)) ? arg(c, 0, "default_value", "") : v),
  escape: (v) => escape(v),
  float: (v, c) => toFloat(v, arg(c, 0, "default", new PyFloat(0))),
  forceescape: (v) => escape(v),
  format: (v, c) => percentFormat(str(v), c.kwargs.size > 0 ? new PyDict(c.kwargs) : new PyTuple(c.args)),
  indent,
  int: (v, c) => toInt(v, arg(c, 0, "default", 0), num(arg(c, 1, "base", 10) as number)),
  length: (v) => length(v),
  lower: (v) => str(v).toLowerCase(),
  pprint: (v) => repr(v),
  replace: (v, c) => {
    const count = arg(c, 2, "count", null);
    return pySplitReplace(str(v), str(arg(c, 0, "old", "")), str(arg(c, 1, "new", "")), count === null ? -1 : num(count as number));
  },
  round: (v, c) => {
    const precision = num(arg(c, 0, "precision", 0) as number);
    const method = arg(c, 1, "method", "common");
    if (!isNumber(v)) throw new TemplateTypeError(`type ${typeof v} doesn't define __round__ method`);
    const x = num(v);
    if (method === "common") return typeof v === "number" ? v : new PyFloat(pyRound(x, precision));
    const m = 10 ** precision;
    return new PyFloat((method === "ceil" ? Math.ceil(x * m) : Math.floor(x * m)) / m);
  },
  safe: (v) => str(v),
  string: (v) => str(v),
  striptags: (v) =>
    pySplit(
      str(v)
        .replace(/<!--.*?-->|<[^>]*>/gs, "")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&#34;|&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, "&"),
      null,
      -1,
    ).join(" "),
  title: (v) => jinjaTitle(str(v)),
  tojson: (v, c) => {
    const indentArg = arg(c, 1, "indent", null);
    const separators = arg(c, 2, "separators", null);
    const seps = separators instanceof PyTuple || Array.isArray(separators) ? (toList(separators).map(str) as [string, string]) : undefined;
    return dumps(v, {
      indent: indentArg === null ? undefined : typeof indentArg === "string" ? indentArg : num(indentArg as number),
      separators: seps,
      sortKeys: truthy(arg(c, 3, "sort_keys", false)),
    });
  },
  trim: (v, c) => STRING_METHODS.strip?.(str(v), { args: [arg(c, 0, "chars", null)], kwargs: new Map() }) ?? "",
  truncate: (v, c) => {
    const s = str(v);
    const len = num(arg(c, 0, "length", 255) as number);
    const killwords = truthy(arg(c, 1, "killwords", false));
    const end = str(arg(c, 2, "end", "..."));
    const leeway = num(arg(c, 3, "leeway", 5) as number);
    const chars = stringChars(s);
    if (chars.length <= len + leeway) return s;
    const head = chars.slice(0, len - end.length).join("");
    if (killwords) return head + end;
    const cut = head.lastIndexOf(" ");
    return (cut < 0 ? head : head.slice(0, cut)) + end;
  },
  upper: (v) => str(v).toUpperCase(),
  wordcount: (v) => (str(v).match(/[\p{L}\p{N}_]+/gu) ?? []).length,
  ...SEQUENCE_FILTERS,
};

function pySplitReplace(s: string, old: string, replacement: string, count: number): string {
  if (count < 0) return old === "" ? replacement + stringChars(s).join(replacement) + replacement : s.split(old).join(replacement);
  const parts = s.split(old);
  return parts.slice(0, count + 1).join(replacement) + (parts.length > count + 1 ? old + parts.slice(count + 1).join(old) : "");
}

for (const [alias, name] of [
  ["d", "default"],
  ["e", "escape"],
] as const) {
  (FILTERS as Record<string, FilterFn>)[alias] = FILTERS[name] as FilterFn;
}
