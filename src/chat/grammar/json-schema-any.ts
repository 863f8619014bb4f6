/**
 * The any-JSON-value rule for json-schema-to-gbnf.ts (the schemas `true` and `{}`): a recursive
 * `value` over objects, arrays, strings, numbers, booleans and null.
 */
import type { GrammarBuilder } from "./gbnf.ts";
import { jsonCharRule } from "./json-schema-formats.ts";
import { QUOTE, seq, type JsonPunctuation } from "./json-schema-syntax.ts";

/**
 * Adds the `value` rule and returns its name. `scalars` gives the number and boolean rules; it
 * is called after the object and array rules are added.
 */
export function anyJsonValue(b: GrammarBuilder, json: JsonPunctuation, scalars: () => string[]): string {
  const value = b.reserve("value");
  const str = b.addRule("string", seq(QUOTE, `${jsonCharRule(b)}*`, QUOTE));
  const member = b.addRule("member", seq(str, json.sep(":"), value));
  const object = b.addRule("object", seq(json.open("{"), `(${member} (${json.sep(",")} ${member})*)?`, json.close("}")));
  const array = b.addRule("array", seq(json.open("["), `(${value} (${json.sep(",")} ${value})*)?`, json.close("]")));
  b.define(value, [object, array, str, ...scalars(), '"null"'].join(" | "));
  return value;
}
