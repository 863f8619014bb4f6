/**
 * Object schemas for json-schema-to-gbnf.ts: `properties` in declared order (optional ones may be
 * left out), `required`, and `additionalProperties`, whose keys a trie keeps off the declared names.
 */
import { gbnfCharClassChar, gbnfLiteral, type GrammarBuilder } from "./gbnf.ts";
import { isRecord, type SchemaObject } from "./json-schema-merge.ts";
import { QUOTE, fail, seq, type SchemaVisitor } from "./json-schema-syntax.ts";

/** The rule for an object schema `s`. */
export function objectGbnf(ctx: SchemaVisitor, s: SchemaObject, hint: string): string {
  const props = s.properties ?? {};
  if (!isRecord(props)) return fail("properties must be an object", "properties");
  const required = s.required ?? [];
  if (!Array.isArray(required) || required.some((r) => typeof r !== "string")) fail("required must be an array of strings", "required");
  const requiredSet = new Set(required as string[]);
  const extra = s.additionalProperties ?? Object.keys(props).length === 0;
  const entries: [string, unknown][] = Object.entries(props);
  for (const name of requiredSet) {
    if (name in props) continue;
    if (extra === false) fail(`required property "${name}" is not allowed by additionalProperties: false`, "required");
    entries.push([name, extra]);
  }
  const kv = entries.map(([name, sub]) => ctx.builder.addRule(`${hint}-${name}-kv`, seq(gbnfLiteral(JSON.stringify(name)), ctx.json.sep(":"), ctx.visit(sub, name))));
  const sep = ctx.json.sep(",");
  const extraKv =
    extra === false
      ? undefined
      : ctx.builder.addRule(
          `${hint}-extra-kv`,
          seq(
            keyNotIn(
              ctx.builder,
              entries.map(([n]) => n),
            ),
            ctx.json.sep(":"),
            ctx.visit(extra, `${hint}-extra`),
          ),
        );
  // tail[i]: the properties from i on, after at least one was written (each after a comma).
  const tail: string[] = new Array<string>(entries.length + 1);
  tail[entries.length] = extraKv === undefined ? "" : `(${seq(sep, extraKv)})*`;
  for (let i = entries.length - 1; i >= 1; i--) {
    const item = seq(sep, kv[i]!);
    const body = seq(requiredSet.has(entries[i]![0]) ? item : `(${item})?`, tail[i + 1]!);
    tail[i] = body === "" ? "" : ctx.builder.addRule(`${hint}-rest`, body);
  }
  // The first property written is i: every property before i is optional.
  const firsts: string[] = [];
  let allOptional = true;
  for (let i = 0; i < entries.length; i++) {
    firsts.push(seq(kv[i]!, tail[i + 1]!));
    if (requiredSet.has(entries[i]![0])) {
      allOptional = false;
      break;
    }
  }
  if (allOptional && extraKv !== undefined) firsts.push(seq(extraKv, tail[entries.length]!));
  let contents = firsts.join(" | ");
  if (allOptional) contents = firsts.length === 0 ? "" : `(${contents})?`;
  else if (firsts.length > 1) contents = `(${contents})`;
  return ctx.builder.addRule(hint, seq(ctx.json.open("{"), contents, ctx.json.close("}")));
}

/** A quoted key (written without escapes) that is none of `names`. */
export function keyNotIn(builder: GrammarBuilder, names: string[]): string {
  const CHAR = '[^"\\\\\\x00-\\x1F]';
  const node = (suffixes: string[]): string => {
    const alts: string[] = suffixes.includes("") ? [] : [QUOTE];
    const children = new Map<string, string[]>();
    for (const s of suffixes) {
      const first = String.fromCodePoint(s.codePointAt(0) ?? 0);
      if (s === "" || /["\\\x00-\x1F]/.test(first)) continue;
      children.set(first, [...(children.get(first) ?? []), s.slice(first.length)]);
    }
    for (const [c, rest] of children) alts.push(seq(gbnfLiteral(c), node(rest)));
    const other = [...children.keys()].map((c) => gbnfCharClassChar(c.codePointAt(0)!)).join("");
    alts.push(`${CHAR.slice(0, -1)}${other}] ${CHAR}* ${QUOTE}`);
    return builder.addRule("key", alts.join(" | "));
  };
  return seq(QUOTE, node(names));
}
