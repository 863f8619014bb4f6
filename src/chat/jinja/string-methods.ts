/**
 * Python's str methods that templates call (`content.startswith('<think>')`,
 * `text.split('\n')`, `name.strip()` …), with Python's semantics: whitespace as Python defines it,
 * `split()` without a separator dropping empty parts, `maxsplit`, `count` in `replace`, tuples in
 * `startswith`, code-point indexes. `format` is handled by access.ts (it needs attribute access).
 */
import { TemplateError, TemplateTypeError } from "./errors.ts";
import { PyTuple, stringChars, typeName, type CallArgs, type Value } from "./values.ts";

type StringMethod = (s: string, call: CallArgs) => Value;

/** Python's whitespace (str.isspace). */
const PY_SPACE = " \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

function isSpace(ch: string): boolean {
  return PY_SPACE.includes(ch);
}

function stripChars(s: string, chars: Value | undefined, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? undefined : asString(chars, "strip arg");
  const strip = (ch: string): boolean => (set === undefined ? isSpace(ch) : set.includes(ch));
  let start = 0;
  let end = s.length;
  if (left) while (start < end && strip(s[start] as string)) start++;
  if (right) while (end > start && strip(s[end - 1] as string)) end--;
  return s.slice(start, end);
}

function asString(value: Value, what: string): string {
  if (typeof value !== "string") throw new TemplateTypeError(`${what} must be str, not ${typeName(value)}`);
  return value;
}

function intArg(value: Value | undefined, fallback: number): number {
  return value === undefined || value === null ? fallback : Number(value);
}

/** `s.split(sep, maxsplit)`. */
export function pySplit(s: string, sep: Value | undefined, maxsplit: number): string[] {
  if (sep === undefined || sep === null) {
    const out: string[] = [];
    let i = 0;
    const n = s.length;
    while (i < n) {
      while (i < n && isSpace(s[i] as string)) i++;
      if (i >= n) break;
      if (maxsplit >= 0 && out.length === maxsplit) {
        out.push(stripChars(s.slice(i), undefined, false, true));
        break;
      }
      let j = i;
      while (j < n && !isSpace(s[j] as string)) j++;
      out.push(s.slice(i, j));
      i = j;
    }
    return out;
  }
  const separator = asString(sep, "sep");
  if (separator === "") throw new TemplateError("empty separator");
  const parts = s.split(separator);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(separator)];
}

function pyRsplit(s: string, sep: Value | undefined, maxsplit: number): string[] {
  if (maxsplit < 0) return pySplit(s, sep, -1);
  if (sep === undefined || sep === null) {
    const words = pySplit(s, undefined, -1);
    if (words.length <= maxsplit + 1) return words;
    const trimmed = stripChars(s, undefined, false, true);
    let end = trimmed.length;
    const tail: string[] = [];
    for (let k = 0; k < maxsplit; k++) {
      let start = end;
      while (start > 0 && !isSpace(trimmed[start - 1] as string)) start--;
      tail.unshift(trimmed.slice(start, end));
      end = start;
      while (end > 0 && isSpace(trimmed[end - 1] as string)) end--;
    }
    return [trimmed.slice(0, end), ...tail];
  }
  const separator = asString(sep, "sep");
  const parts = s.split(separator);
  if (parts.length <= maxsplit + 1) return parts;
  const cut = parts.length - maxsplit;
  return [parts.slice(0, cut).join(separator), ...parts.slice(cut)];
}

function pyReplace(s: string, old: string, replacement: string, count: number): string {
  if (old === "") {
    const chars = stringChars(s);
    const limit = count < 0 ? chars.length + 1 : Math.min(count, chars.length + 1);
    let out = "";
    for (let i = 0; i < chars.length; i++) out += (i < limit ? replacement : "") + chars[i];
    return out + (chars.length < limit ? replacement : "");
  }
  if (count < 0) return s.split(old).join(replacement);
  const parts = s.split(old);
  if (parts.length - 1 <= count) return parts.join(replacement);
  return parts.slice(0, count + 1).join(replacement) + old + parts.slice(count + 1).join(old);
}

function affixes(value: Value): string[] {
  if (value instanceof PyTuple) return value.items.map((x) => asString(x, "tuple for startswith"));
  if (typeof value !== "string") throw new TemplateTypeError(`startswith first arg must be str or a tuple of str, not ${typeName(value)}`);
  return [value];
}

/** Python's str.title(): upper-case the first cased letter after a non-letter, lower-case the rest. */
export function pyTitle(s: string): string {
  let out = "";
  let previousCased = false;
  for (const ch of s) {
    const cased = ch.toLowerCase() !== ch.toUpperCase();
    out += cased ? (previousCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    previousCased = cased;
  }
  return out;
}

export function pyCapitalize(s: string): string {
  const chars = stringChars(s);
  return chars.length === 0 ? "" : (chars[0] as string).toUpperCase() + chars.slice(1).join("").toLowerCase();
}

function find(s: string, sub: Value, fromRight: boolean): number {
  const needle = asString(sub, "find arg");
  const i = fromRight ? s.lastIndexOf(needle) : s.indexOf(needle);
  return i < 0 ? i : stringChars(s.slice(0, i)).length;
}

function justify(s: string, width: number, fill: string, where: "left" | "right" | "center"): string {
  const n = stringChars(s).length;
  if (width <= n) return s;
  const pad = width - n;
  if (where === "left") return s + fill.repeat(pad);
  if (where === "right") return fill.repeat(pad) + s;
  const left = Math.floor(pad / 2) + (pad & width & 1);
  return fill.repeat(left) + s + fill.repeat(pad - left);
}

const cased = (s: string): boolean => s.toLowerCase() !== s.toUpperCase();

export const STRING_METHODS: Readonly<Record<string, StringMethod>> = {
  strip: (s, { args }) => stripChars(s, args[0], true, true),
  lstrip: (s, { args }) => stripChars(s, args[0], true, false),
  rstrip: (s, { args }) => stripChars(s, args[0], false, true),
  split: (s, { args, kwargs }) => pySplit(s, args[0] ?? kwargs.get("sep"), intArg(args[1] ?? kwargs.get("maxsplit"), -1)),
  rsplit: (s, { args, kwargs }) => pyRsplit(s, args[0] ?? kwargs.get("sep"), intArg(args[1] ?? kwargs.get("maxsplit"), -1)),
  splitlines: (s, { args }) => {
    const keep = args[0] === true;
    const parts = s.match(/[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|$)/g) ?? [];
    return parts
      .filter((p, i) => p !== "" || i < parts.length - 1)
      .filter((p) => p !== "")
      .map((p) => (keep ? p : p.replace(/(?:\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])$/, "")));
  },
  replace: (s, { args }) => pyReplace(s, asString(args[0] ?? "", "replace arg"), asString(args[1] ?? "", "replace arg"), intArg(args[2], -1)),
  startswith: (s, { args }) => affixes(args[0] ?? null).some((p) => s.slice(intArg(args[1], 0)).startsWith(p)),
  endswith: (s, { args }) => affixes(args[0] ?? null).some((p) => s.endsWith(p)),
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  casefold: (s) => s.toLowerCase(),
  title: (s) => pyTitle(s),
  capitalize: (s) => pyCapitalize(s),
  swapcase: (s) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""),
  find: (s, { args }) => find(s, args[0] ?? null, false),
  rfind: (s, { args }) => find(s, args[0] ?? null, true),
  index: (s, { args }) => {
    const i = find(s, args[0] ?? null, false);
    if (i < 0) throw new TemplateError("substring not found");
    return i;
  },
  rindex: (s, { args }) => {
    const i = find(s, args[0] ?? null, true);
    if (i < 0) throw new TemplateError("substring not found");
    return i;
  },
  count: (s, { args }) => {
    const sub = asString(args[0] ?? null, "count arg");
    return sub === "" ? stringChars(s).length + 1 : s.split(sub).length - 1;
  },
  join: (s, { args }) => {
    const items = args[0];
    if (!Array.isArray(items) && !(items instanceof PyTuple)) throw new TemplateTypeError("can only join an iterable of str");
    return (Array.isArray(items) ? items : items.items).map((x) => asString(x, "sequence item")).join(s);
  },
  center: (s, { args }) => justify(s, intArg(args[0], 0), typeof args[1] === "string" ? args[1] : " ", "center"),
  ljust: (s, { args }) => justify(s, intArg(args[0], 0), typeof args[1] === "string" ? args[1] : " ", "left"),
  rjust: (s, { args }) => justify(s, intArg(args[0], 0), typeof args[1] === "string" ? args[1] : " ", "right"),
  zfill: (s, { args }) => {
    const width = intArg(args[0], 0);
    const sign = s.startsWith("-") || s.startsWith("+") ? (s[0] as string) : "";
    return sign + justify(s.slice(sign.length), width - sign.length, "0", "right");
  },
  partition: (s, { args }) => {
    const sep = asString(args[0] ?? null, "sep");
    const i = s.indexOf(sep);
    return i < 0 ? new PyTuple([s, "", ""]) : new PyTuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  rpartition: (s, { args }) => {
    const sep = asString(args[0] ?? null, "sep");
    const i = s.lastIndexOf(sep);
    return i < 0 ? new PyTuple(["", "", s]) : new PyTuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  removeprefix: (s, { args }) => {
    const p = asString(args[0] ?? null, "prefix");
    return p !== "" && s.startsWith(p) ? s.slice(p.length) : s;
  },
  removesuffix: (s, { args }) => {
    const p = asString(args[0] ?? null, "suffix");
    return p !== "" && s.endsWith(p) ? s.slice(0, -p.length) : s;
  },
  isdigit: (s) => /^\p{Nd}+$/u.test(s),
  isdecimal: (s) => /^\p{Nd}+$/u.test(s),
  isnumeric: (s) => /^\p{N}+$/u.test(s),
  isalpha: (s) => /^\p{L}+$/u.test(s),
  isalnum: (s) => /^[\p{L}\p{N}]+$/u.test(s),
  isspace: (s) => s.length > 0 && [...s].every(isSpace),
  isupper: (s) => cased(s) && s === s.toUpperCase(),
  islower: (s) => cased(s) && s === s.toLowerCase(),
  istitle: (s) => cased(s) && s === pyTitle(s),
  isidentifier: (s) => /^[\p{L}_][\p{L}\p{N}_]*$/u.test(s),
  format: (s) => s,
};
