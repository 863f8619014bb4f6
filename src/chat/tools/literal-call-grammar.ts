/**
 * The grammar of one call in the "literal-args" shape (syntax.ts), for tool-grammar.ts:
 * `callOpen name argumentsOpen arguments argumentsClose callClose`, the arguments being the
 * tool's declared properties as keyword arguments (`key=value` / `key:value`), required ones
 * always and optional ones optionally, in declared order (sorted by name with `sortedKeys`, as
 * Gemma 4's templates render them), joined by `itemSeparator`; none undeclared, except for a
 * schema that declares no properties and allows others (then any identifier names, each value
 * any value or the `additionalProperties` schema). Each value is valid against its property's
 * schema, written
 *
 *  - as JSON (`valueGrammar: "json"`, LFM2) by the JSON-schema converter, with one optional space
 *    between tokens; the parser reads JSON's `true` / `false` / `null` beside Python's words;
 *  - in the family's literal syntax (`valueGrammar: "literal"`, Gemma 4) by
 *    literal-value-grammar.ts.
 *
 * Unsupported keywords are warnings (errors for `strict` tools). A schema whose top level is not
 * plain properties (`$ref`, `anyOf`, `oneOf`, `allOf`), or a property name that cannot be a bare
 * keyword, cannot be written as keyword arguments: a 400.
 */
import { GrammarConversionError, gbnfLiteral, type GrammarBuilder } from "../grammar/gbnf.ts";
import { checkKeywords, type KeywordReporter } from "../grammar/json-schema-keywords.ts";
import { jsonSchemaRule } from "../grammar/json-schema-to-gbnf.ts";
import { invalidRequest } from "../../domain/errors.ts";
import type { ToolDefinition } from "../../domain/tools.ts";
import { isBareChar } from "./literal-value.ts";
import { extraKey, itemList, LiteralValueGrammar } from "./literal-value-grammar.ts";
import type { LiteralArgsSyntax } from "./syntax.ts";

export interface LiteralCallGrammarOptions {
  readonly syntax: LiteralArgsSyntax;
  readonly tool: ToolDefinition;
  readonly builder: GrammarBuilder;
  /** Collects the warnings (unsupported schema keywords), prefixed with the tool's name. */
  readonly warnings: string[];
  /** Where the tool's parameters sit in the request, for errors. */
  readonly field: readonly (string | number)[];
  /** Whitespace allowed between the JSON tokens of values written as JSON (a regex). */
  readonly whitespace: string;
}

type Schema = Readonly<Record<string, unknown>>;

const isSchema = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/** The grammar body of one call of `tool`. */
export function literalCallBody(options: LiteralCallGrammarOptions): string {
  const { syntax, tool, field } = options;
  try {
    return callBody(options);
  } catch (error) {
    if (error instanceof RangeError) throw invalidRequest(`The parameters of \`${tool.name}\` are nested too deeply to be enforced.`, [...field], "too_deep");
    if (!(error instanceof GrammarConversionError)) throw error;
    throw invalidRequest(`The parameters of \`${tool.name}\` cannot be enforced in ${syntax.family}'s format: ${error.message} (${error.construct}).`, [...field], "unsupported");
  }
}

function callBody(options: LiteralCallGrammarOptions): string {
  const { syntax, tool, builder } = options;
  const root = tool.parameters;
  for (const key of ["$ref", "anyOf", "oneOf", "allOf"]) {
    if (root[key] !== undefined) throw new GrammarConversionError(`\`${key}\` at the top of the schema cannot be written as keyword arguments`, key);
  }
  const literal = new LiteralValueGrammar(syntax, builder, root, tool.strict);
  const warnings: KeywordReporter = literal;
  checkKeywords(root, warnings);
  const defs = Object.fromEntries(["$defs", "definitions"].filter((k) => root[k] !== undefined).map((k) => [k, root[k]]));
  const value = (schema: unknown, hint: string): string => {
    if (syntax.valueGrammar === "literal") return literal.visit(schema, hint);
    const result = jsonSchemaRule(isSchema(schema) ? { ...defs, ...schema } : schema, builder, { strict: tool.strict, whitespace: options.whitespace, hint });
    for (const w of result.warnings) literal.warnings.add(w);
    return result.rule;
  };

  const properties = isSchema(root.properties) ? root.properties : {};
  const required = new Set(Array.isArray(root.required) ? root.required.filter((r): r is string => typeof r === "string") : []);
  const names = [...new Set([...Object.keys(properties), ...required])];
  if (syntax.sortedKeys === true) names.sort();
  const items = names.map((name, i) => {
    if (name === "" || ![...name].every((c) => isBareChar(c, true))) throw new GrammarConversionError(`the parameter name ${JSON.stringify(name)} cannot be a keyword`, "properties");
    return { rule: `${gbnfLiteral(`${name}${syntax.keyValueSeparator}`)} ${value(properties[name] ?? true, `${tool.name}-${i}`)}`, required: required.has(name) };
  });
  let extra: string | undefined;
  if (root.properties === undefined && root.additionalProperties !== false) {
    const schema = isSchema(root.additionalProperties) ? root.additionalProperties : true;
    extra = builder.addRule(`${tool.name}-extra`, `${extraKey(builder, [])} ${gbnfLiteral(syntax.keyValueSeparator)} ${value(schema, `${tool.name}-extra`)}`);
  }
  options.warnings.push(...[...literal.warnings].map((w) => `${tool.name}: ${w}`));
  const args = itemList(builder, items, gbnfLiteral(syntax.itemSeparator), extra, `${tool.name}-args`);
  const head = gbnfLiteral(`${syntax.callOpen}${tool.name}${syntax.argumentsOpen}`);
  return [head, args, gbnfLiteral(`${syntax.argumentsClose}${syntax.callClose}`)].filter((p) => p !== "").join(" ");
}
