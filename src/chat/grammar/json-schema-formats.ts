/**
 * String contents for json-schema-to-gbnf.ts: the JSON string character, `format`s (written as
 * patterns, so that string-constraints.ts can intersect them with others), and `pattern`s
 * (regex-to-gbnf.ts) rewritten so that the characters JSON must escape are escaped.
 */
import { GrammarBuilder, gbnfCharClass } from "./gbnf.ts";
import { regexToGbnf } from "./regex-to-gbnf.ts";

/**
 * One character of a JSON string: anything but `"`, `\` and control characters, or an escape.
 * `\u` escapes of surrogates are left out, so every written character is one code point (as ajv
 * counts for minLength / maxLength).
 */
export function jsonCharRule(builder: GrammarBuilder): string {
  return builder.addRule("char", '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))');
}

// Each format as an ECMAScript pattern (anchors implied): a subset of the format's strings, with
// every part bounded so that generation ends. The pattern form lets string-constraints.ts
// intersect a format with a `pattern` and with length bounds.
const HH = "(?:[01]\\d|2[0-3])";
const MM = "[0-5]\\d";
const HEX = "[0-9a-fA-F]";
const LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,14}[a-zA-Z0-9])?";
const DATE =
  "(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))" +
  "|(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)";
const TIME = `${HH}:${MM}:${MM}(?:\\.\\d{1,6})?(?:Z|[+-]${HH}:${MM})`;
const HOSTNAME = `${LABEL}(?:\\.${LABEL}){0,3}`;
// A URI's host ends in a label that starts with a letter: WHATWG URL parsers (`new URL`, which
// zod's z.url() uses) read a host whose last label is a number as an IPv4 address, and reject it.
const URI_HOST = `(?:${LABEL}\\.){0,3}[a-zA-Z](?:[a-zA-Z0-9-]{0,14}[a-zA-Z0-9])?`;
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

/** Formats we can generate, each as the pattern of the string contents. */
const FORMATS: Record<string, string> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE}T${TIME}`,
  uuid: `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`,
  email: `[a-zA-Z0-9_+-]{1,16}(?:\\.[a-zA-Z0-9_+-]{1,16}){0,2}@(?:${LABEL}\\.){1,3}${LABEL}`,
  ipv4: `${OCTET}(?:\\.${OCTET}){3}`,
  hostname: HOSTNAME,
  uri: `(?:https?|ftp)://${URI_HOST}(?:/[a-zA-Z0-9._~-]{0,16}){0,4}`,
  // pydantic's UUID1 … UUID8: that version, and the RFC 4122 variant (Python's uuid.version is None otherwise).
  ...Object.fromEntries([1, 3, 4, 5, 6, 7, 8].map((v) => [`uuid${v}`, `${HEX}{8}-${HEX}{4}-${v}${HEX}{3}-[89abAB]${HEX}{3}-${HEX}{12}`])),
};

// Looser forms of the formats whose bounded parts make large automata: string-constraints.ts
// uses them where a length bound keeps generation finite anyway (and the bounded form's own
// lengths do not already satisfy it). Still subsets of the formats as ajv-formats checks them.
const LOOSE_LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const LOOSE_FORMATS: Record<string, string> = {
  email: `[a-zA-Z0-9_+-]+(?:\\.[a-zA-Z0-9_+-]+)*@(?:${LOOSE_LABEL}\\.)+${LOOSE_LABEL}`,
  uri: `(?:https?|ftp)://(?:${LOOSE_LABEL}\\.)*[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:/[a-zA-Z0-9._~-]*)*`,
};

/** Names of the formats formatContents knows. */
export const SUPPORTED_FORMATS: readonly string[] = Object.keys(FORMATS);

/**
 * The pattern (anchors implied) of the strings Parley generates for `format`, or undefined if
 * unknown; `loose`: the form without bounds on its parts, where there is one.
 */
export function formatPattern(format: string, loose = false): string | undefined {
  if (loose && Object.hasOwn(LOOSE_FORMATS, format)) return LOOSE_FORMATS[format];
  return Object.hasOwn(FORMATS, format) ? FORMATS[format] : undefined;
}

/** The rule for the contents (without quotes) of a string of `format`, or undefined if unknown. Formats hold no character JSON escapes, so the rule serves raw values too. */
export function formatContents(format: string, builder: GrammarBuilder): string | undefined {
  const pattern = formatPattern(format);
  if (pattern === undefined) return undefined;
  let known = formatRules.get(builder);
  if (known === undefined) formatRules.set(builder, (known = new Map()));
  let rule = known.get(format);
  if (rule === undefined) known.set(format, (rule = regexToGbnf(pattern, builder, format)));
  return rule;
}

/** The rule already written for each format, per grammar (a schema may use one format many times). */
const formatRules = new WeakMap<GrammarBuilder, Map<string, string>>();

// ---------------------------------------------------------------------------------------------
// `pattern`: regex-to-gbnf matches the decoded string; inside JSON, `"`, `\` and control
// characters must be written escaped. The pattern's rules are built in a builder of their own,
// then copied with every literal and character class rewritten to JSON-escaped form.

const DANGER: readonly (readonly [number, number])[] = [
  [0x00, 0x1f],
  [0x22, 0x22],
  [0x5c, 0x5c],
];

function jsonEscape(codePoint: number): string {
  if (codePoint === 0x22) return '"\\\\\\""';
  if (codePoint === 0x5c) return '"\\\\\\\\"';
  return `"\\\\u00${codePoint.toString(16).toUpperCase().padStart(2, "0")}"`;
}

/** Reads one escape-or-char starting at `i` of a GBNF literal / class body: [codePoint, next]. */
function readChar(text: string, i: number): [number, number] {
  const ch = text.codePointAt(i)!;
  if (ch !== 0x5c) return [ch, i + String.fromCodePoint(ch).length];
  const e = text[i + 1];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, "\\": 0x5c, '"': 0x22, "[": 0x5b, "]": 0x5d, "-": 0x2d };
  if (e !== undefined && simple[e] !== undefined) return [simple[e]!, i + 2];
  const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
  if (width === 0) throw new Error(`unexpected GBNF escape \\${e}`);
  return [parseInt(text.slice(i + 2, i + 2 + width), 16), i + 2 + width];
}

function rewriteLiteral(body: string): string {
  const parts: string[] = [];
  let plain: number[] = [];
  const flush = (): void => {
    if (plain.length > 0) parts.push(gbnfLiteralOf(plain));
    plain = [];
  };
  for (let i = 0; i < body.length; ) {
    const [cp, next] = readChar(body, i);
    i = next;
    if (DANGER.some(([lo, hi]) => cp >= lo && cp <= hi)) {
      flush();
      parts.push(jsonEscape(cp));
    } else plain.push(cp);
  }
  flush();
  if (parts.length === 0) return '""';
  return parts.length === 1 ? parts[0]! : `(${parts.join(" ")})`;
}

function gbnfLiteralOf(codePoints: number[]): string {
  // Re-escape through a class-free path: every code point written as \x / \u / \U or itself.
  let out = '"';
  for (const cp of codePoints) {
    if (cp === 0x22 || cp === 0x5c || cp < 0x20 || cp === 0x7f || cp >= 0x80) {
      out += cp <= 0xff ? `\\x${cp.toString(16).padStart(2, "0")}` : cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, "0")}` : `\\U${cp.toString(16).padStart(8, "0")}`;
    } else out += String.fromCodePoint(cp);
  }
  return out + '"';
}

function rewriteClass(body: string): string {
  let i = 0;
  const negated = body.startsWith("^");
  if (negated) i = 1;
  let ranges: [number, number][] = [];
  while (i < body.length) {
    const [lo, next] = readChar(body, i);
    i = next;
    if (body[i] === "-" && i + 1 < body.length) {
      const [hi, after] = readChar(body, i + 1);
      i = after;
      ranges.push([lo, hi]);
    } else ranges.push([lo, lo]);
  }
  const inSet = (cp: number): boolean => ranges.some(([lo, hi]) => cp >= lo && cp <= hi) !== negated;
  const escapes: string[] = [];
  for (const [lo, hi] of DANGER) for (let cp = lo; cp <= hi; cp++) if (inSet(cp)) escapes.push(jsonEscape(cp));
  if (escapes.length >= 32 && escapes[0] === jsonEscape(0) && escapes[31] === jsonEscape(0x1f)) {
    escapes.splice(0, 32, '"\\\\u00" [01] [0-9a-fA-F]');
  }
  // The same class with the dangerous code points taken out.
  if (negated) ranges = [...ranges, ...DANGER.map(([lo, hi]) => [lo, hi] as [number, number])];
  else {
    const cut: [number, number][] = [];
    for (const [lo, hi] of ranges) {
      let start = lo;
      for (const [dlo, dhi] of DANGER) {
        if (dhi < start || dlo > hi) continue;
        if (dlo > start) cut.push([start, dlo - 1]);
        start = dhi + 1;
      }
      if (start <= hi) cut.push([start, hi]);
    }
    ranges = cut;
  }
  const alts = ranges.length > 0 || negated ? [gbnfCharClass(ranges, negated)] : [];
  alts.push(...escapes);
  if (alts.length === 0) return "[^\\x00-\\U0010FFFF]";
  return alts.length === 1 ? alts[0]! : `(${alts.join(" | ")})`;
}

/** Rewrites every literal and class of a GBNF rule body; renames rules through `rename`. */
function rewriteBody(body: string, rename: (name: string) => string): string {
  let out = "";
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      let j = i + 1;
      while (body[j] !== close) j += body[j] === "\\" ? 2 : 1;
      const inner = body.slice(i + 1, j);
      out += c === '"' ? rewriteLiteral(inner) : rewriteClass(inner);
      i = j + 1;
    } else if (c === "{") {
      const j = body.indexOf("}", i);
      out += body.slice(i, j + 1);
      i = j + 1;
    } else if (/[a-zA-Z0-9-]/.test(c)) {
      let j = i;
      while (j < body.length && /[a-zA-Z0-9-]/.test(body[j]!)) j++;
      out += rename(body.slice(i, j));
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The rule for string contents matching `pattern` (anchored), written as JSON string text. */
export function patternContents(pattern: string, builder: GrammarBuilder, hint: string): string {
  const own = new GrammarBuilder();
  const top = regexToGbnf(pattern, own, "p");
  const rules = own
    .toString(top)
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((line): [string, string] => [line.slice(0, line.indexOf(" ::= ")), line.slice(line.indexOf(" ::= ") + 5)]);
  const names = new Map<string, string>();
  for (const [name] of rules) names.set(name, builder.reserve(`${hint}-${name}`));
  const rename = (name: string): string => names.get(name) ?? name;
  for (const [name, body] of rules) builder.define(rename(name), rewriteBody(body, rename));
  return rename(top);
}
