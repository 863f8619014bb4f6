/**
 * Jinja lexer: template source → tokens, with the whitespace rules of Python's Jinja2 as Hugging
 * Face's `apply_chat_template` configures it (`trim_blocks`, `lstrip_blocks`): `{%-`/`-%}` strip
 * all whitespace on that side; a block or comment tag removes one newline after it; a block or
 * comment tag alone on its line (after spaces or tabs) removes them; `{%+` keeps them. Line
 * breaks `\r\n` and `\r` read as `\n`, and one trailing newline of the template is dropped, as
 * Jinja2 does by default.
 */
import { TemplateSyntaxError } from "./errors.ts";

export type TokenType =
  | "data" // literal template text
  | "variable_begin"
  | "variable_end"
  | "block_begin"
  | "block_end"
  | "name"
  | "string"
  | "integer"
  | "float"
  | "operator"
  | "eof";

export interface Token {
  readonly type: TokenType;
  /** Text for data and names, the decoded value for strings, the operator itself for operators. */
  readonly value: string;
  readonly line: number;
}

const TAG_START = /\{([{%#])([-+]?)/g;
const RAW_BEGIN = /\{%([-+]?)\s*raw\s*([-+]?)%\}/y;
const RAW_END = /\{%([-+]?)\s*endraw\s*([-+]?)%\}/g;
const WHITESPACE = /\s+/y;
const FLOAT = /(?<!\.)(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?[eE][+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/y;
const INTEGER = /0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[\da-fA-F])+|[1-9](?:_?\d)*|0(?:_?0)*/y;
const NAME = /[\p{L}_][\p{L}\p{N}_]*/uy;
const STRING = /'([^'\\]*(?:\\.[^'\\]*)*)'|"([^"\\]*(?:\\.[^"\\]*)*)"/sy;
const OPERATOR = /\/\/|\*\*|==|!=|>=|<=|[+\-/*%~[\](){}><=.:|,;]/y;
const CLOSERS: Readonly<Record<string, string>> = { "{": "}", "(": ")", "[": "]" };

/** Tokenizes `source`. Throws TemplateSyntaxError for an unterminated tag, comment or string. */
export function tokenize(source: string): Token[] {
  let src = source.replace(/\r\n?/g, "\n");
  if (src.endsWith("\n")) src = src.slice(0, -1);
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStarting = true;
  const push = (type: TokenType, value: string): void => {
    tokens.push({ type, value, line });
  };
  const countLines = (text: string): void => {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) line++;
  };

  while (pos < src.length) {
    TAG_START.lastIndex = pos;
    const start = TAG_START.exec(src);
    if (start === null) {
      push("data", src.slice(pos));
      break;
    }
    const kind = start[1] as "{" | "%" | "#";
    const sign = start[2] ?? "";
    let text = src.slice(pos, start.index);
    RAW_BEGIN.lastIndex = start.index;
    const raw = kind === "%" ? RAW_BEGIN.exec(src) : null;
    const stripSign = raw !== null ? (raw[1] ?? "") : sign;
    if (stripSign === "-") {
      text = text.trimEnd();
    } else if (stripSign !== "+" && kind !== "{") {
      const lineStart = text.lastIndexOf("\n") + 1;
      if ((lineStart > 0 || lineStarting) && /^\s+$/.test(text.slice(lineStart))) text = text.slice(0, lineStart);
    }
    if (text.length > 0) push("data", text);
    countLines(src.slice(pos, start.index));

    if (raw !== null) {
      pos = lexRaw(src, raw, push);
      countLines(src.slice(start.index, pos));
      lineStarting = src[pos - 1] === "\n";
      continue;
    }
    if (kind === "#") {
      const end = src.indexOf("#}", start.index + 2 + sign.length);
      if (end < 0) throw new TemplateSyntaxError("Missing end of comment tag", line);
      pos = afterTagEnd(src, end + 2, src[end - 1] === "-" && end - 1 >= start.index + 2 + sign.length ? "-" : src[end - 1] === "+" ? "+" : "", true);
      countLines(src.slice(start.index, pos));
      lineStarting = src[pos - 1] === "\n";
      continue;
    }
    push(kind === "{" ? "variable_begin" : "block_begin", "");
    pos = lexTag(src, start.index + 2 + sign.length, kind === "%", push, (n) => (line += n));
    lineStarting = src[pos - 1] === "\n";
  }
  push("eof", "");
  return tokens;
}

/** Position after a tag's end marker (ending at `markerEnd`), after the whitespace it consumes. */
function afterTagEnd(src: string, markerEnd: number, sign: string, trims: boolean): number {
  if (sign === "-") {
    WHITESPACE.lastIndex = markerEnd;
    return WHITESPACE.test(src) ? WHITESPACE.lastIndex : markerEnd;
  }
  if (sign !== "+" && trims && src[markerEnd] === "\n") return markerEnd + 1;
  return markerEnd;
}

function lexRaw(src: string, raw: RegExpExecArray, push: (type: TokenType, value: string) => void): number {
  let pos = afterTagEnd(src, raw.index + raw[0].length, raw[2] ?? "", true);
  RAW_END.lastIndex = pos;
  const end = RAW_END.exec(src);
  if (end === null) throw new TemplateSyntaxError("Missing end of raw directive", 0);
  let body = src.slice(pos, end.index);
  if (end[1] === "-") body = body.trimEnd();
  else if (end[1] !== "+") {
    const lineStart = body.lastIndexOf("\n") + 1;
    if (lineStart > 0 && /^\s+$/.test(body.slice(lineStart))) body = body.slice(0, lineStart);
  }
  if (body.length > 0) push("data", body);
  pos = afterTagEnd(src, end.index + end[0].length, end[2] ?? "", true);
  return pos;
}

/** Lexes the inside of `{{ }}` or `{% %}` from `pos`; returns the position after its end. */
function lexTag(src: string, pos: number, block: boolean, push: (type: TokenType, value: string) => void, lines: (n: number) => void): number {
  const closers: string[] = [];
  const endMarker = block ? "%}" : "}}";
  for (;;) {
    if (pos >= src.length) throw new TemplateSyntaxError(`Unexpected end of template: missing '${endMarker}'`, 0);
    if (closers.length === 0) {
      if (src.startsWith(endMarker, pos)) {
        push(block ? "block_end" : "variable_end", "");
        return afterTagEnd(src, pos + 2, "", block);
      }
      if ((src[pos] === "-" || (block && src[pos] === "+")) && src.startsWith(endMarker, pos + 1)) {
        push(block ? "block_end" : "variable_end", "");
        return afterTagEnd(src, pos + 3, src[pos] ?? "", block);
      }
    }
    WHITESPACE.lastIndex = pos;
    if (WHITESPACE.test(src)) {
      lines(countNewlines(src.slice(pos, WHITESPACE.lastIndex)));
      pos = WHITESPACE.lastIndex;
      continue;
    }
    let match: RegExpExecArray | null;
    if ((match = sticky(FLOAT, src, pos)) !== null) {
      push("float", match[0].replace(/_/g, ""));
    } else if ((match = sticky(INTEGER, src, pos)) !== null) {
      push("integer", match[0].replace(/_/g, ""));
    } else if ((match = sticky(NAME, src, pos)) !== null) {
      push("name", match[0]);
    } else if ((match = sticky(STRING, src, pos)) !== null) {
      push("string", unescape(match[1] ?? match[2] ?? ""));
      lines(countNewlines(match[0]));
    } else if ((match = sticky(OPERATOR, src, pos)) !== null) {
      const op = match[0];
      const closer = CLOSERS[op];
      if (closer !== undefined) closers.push(closer);
      else if (op === "}" || op === ")" || op === "]") {
        const expected = closers.pop();
        if (expected === undefined) throw new TemplateSyntaxError(`unexpected '${op}'`, 0);
        if (expected !== op) throw new TemplateSyntaxError(`unexpected '${op}', expected '${expected}'`, 0);
      }
      push("operator", op);
    } else {
      throw new TemplateSyntaxError(`unexpected char ${JSON.stringify(src[pos])} at ${pos}`, 0);
    }
    pos += match[0].length;
  }
}

function sticky(re: RegExp, src: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(src);
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\n": "",
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** Python's `unicode-escape` decoding of a string literal's body; unknown escapes stay as written. */
function unescape(body: string): string {
  if (!body.includes("\\")) return body;
  return body.replace(/\\(x[\da-fA-F]{2}|u[\da-fA-F]{4}|U[\da-fA-F]{8}|[0-7]{1,3}|[\s\S])/g, (whole, esc: string) => {
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) return simple;
    const first = esc[0];
    if (first === "x" || first === "u" || first === "U") return String.fromCodePoint(parseInt(esc.slice(1), 16));
    if (/^[0-7]+$/.test(esc)) return String.fromCodePoint(parseInt(esc, 8));
    return whole;
  });
}
