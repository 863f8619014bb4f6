/**
 * The grammar of one call in the "xml-params" shape (syntax.ts), for tool-grammar.ts: the tool's
 * declared properties as parameters, in declared order, required ones always and optional ones
 * optionally; none undeclared, except for a schema that declares no properties and allows others
 * (then any names, each value any JSON or the `additionalProperties` schema). Each value is valid
 * against its property's schema, as the parser reads it (parameter-types.ts):
 *
 *  - a string is raw text that cannot contain the closing tag; an `enum` / `const` of strings is
 *    one of its raw values; `format` (the formats known to json-schema-formats.ts), `pattern`s
 *    and `minLength` / `maxLength` are enforced together, as for JSON (string-constraints.ts),
 *    on text without `<` (a subset of what the schema allows; a pattern that only matches text
 *    holding `<` is reported, as an unsupported keyword: a warning, or an error for `strict`
 *    tools);
 *  - anything else is JSON through the JSON-schema converter (`$ref`s to the tool schema's `$defs`
 *    / `definitions` still resolve). A JSON value's strings are not kept from holding the closing
 *    tag (the parser would end the value there): rare enough to accept.
 *
 * A schema whose top level is not plain properties (`$ref`, `anyOf`, `oneOf`, `allOf`) cannot be
 * written one element per parameter: a 400.
 */
import { avoidingText } from "../grammar/avoid-text.ts";
import { GBNF_MAX_REPETITION, type GrammarBuilder, GrammarConversionError, gbnfCharClass, gbnfLiteral } from "../grammar/gbnf.ts";
import { checkKeywords, schemaCount, schemaPatterns, type KeywordReporter } from "../grammar/json-schema-keywords.ts";
import { jsonSchemaRule } from "../grammar/json-schema-to-gbnf.ts";
import { hasContentKeywords, rawStringContents, readStringKeywords } from "../grammar/string-constraints.ts";
import { invalidRequest } from "../../domain/errors.ts";
import type { ToolDefinition } from "../../domain/tools.ts";
import { parameterKind, resolveLocalRef } from "./parameter-types.ts";
import type { XmlParamsSyntax } from "./syntax.ts";
import { closingTag } from "./xml-value.ts";

export interface XmlCallGrammarOptions {
  readonly syntax: XmlParamsSyntax;
  readonly tool: ToolDefinition;
  readonly builder: GrammarBuilder;
  /** Collects the warnings (unsupported schema keywords), prefixed with the tool's name. */
  readonly warnings: string[];
  /** Where the tool's parameters sit in the request, for errors. */
  readonly field: readonly (string | number)[];
  /** Whitespace allowed between the JSON tokens of non-string values (a regex, as for arguments). */
  readonly whitespace: string;
}

type Schema = Readonly<Record<string, unknown>>;

const isSchema = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/** Names of undeclared parameters, where a schema allows them. */
const EXTRA_NAME = "[a-zA-Z_] [a-zA-Z0-9_.-]{0,63}";

/** The grammar body of one call of `tool`: `callOpen name nameClose parameters callClose`. */
export function xmlCallBody(options: XmlCallGrammarOptions): string {
  const { syntax, tool, field } = options;
  try {
    return new XmlCallGrammar(options).body();
  } catch (error) {
    if (error instanceof RangeError) throw invalidRequest(`The parameters of \`${tool.name}\` are nested too deeply to be enforced.`, [...field], "too_deep");
    if (!(error instanceof GrammarConversionError)) throw error;
    throw invalidRequest(`The parameters of \`${tool.name}\` cannot be enforced in ${syntax.family}'s format: ${error.message} (${error.construct}).`, [...field], "unsupported");
  }
}

class XmlCallGrammar implements KeywordReporter {
  readonly warnings = new Set<string>();
  readonly #o: XmlCallGrammarOptions;
  readonly #root: Schema;
  readonly #closeTag: string;

  constructor(options: XmlCallGrammarOptions) {
    this.#o = options;
    this.#root = options.tool.parameters;
    this.#closeTag = closingTag(options.syntax.paramClose);
  }

  unsupported(keyword: string, message: string): void {
    if (this.#o.tool.strict) throw new GrammarConversionError(message, keyword);
    this.warnings.add(message);
  }

  body(): string {
    const { syntax, tool, builder } = this.#o;
    const root = this.#root;
    for (const key of ["$ref", "anyOf", "oneOf", "allOf"]) {
      if (root[key] !== undefined) throw new GrammarConversionError(`\`${key}\` at the top of the schema cannot be written one element per parameter`, key);
    }
    checkKeywords(root, this);
    const properties = isSchema(root.properties) ? root.properties : {};
    const required = new Set(Array.isArray(root.required) ? root.required.filter((r): r is string => typeof r === "string") : []);
    const names = [...new Set([...Object.keys(properties), ...required])];
    const params = names.map((name, i) => {
      const value = this.#value(properties[name] ?? true, `${tool.name}-${i}`);
      const param = `${gbnfLiteral(`${syntax.paramOpen}${name}${this.#nameClose(value)}`)} ${value.rule} ${gbnfLiteral(syntax.paramClose)}`;
      return required.has(name) ? param : `( ${param} )?`;
    });
    if (root.properties === undefined && root.additionalProperties !== false) {
      const value = this.#value(isSchema(root.additionalProperties) ? root.additionalProperties : true, `${tool.name}-extra`);
      const name = builder.addRule("param-name", EXTRA_NAME);
      params.push(`( ${gbnfLiteral(syntax.paramOpen)} ${name} ${gbnfLiteral(this.#nameClose(value))} ${value.rule} ${gbnfLiteral(syntax.paramClose)} )*`);
    }
    this.#o.warnings.push(...[...this.warnings].map((w) => `${tool.name}: ${w}`));
    const head = gbnfLiteral(`${syntax.callOpen}${tool.name}${syntax.nameClose}`);
    return [head, ...params, gbnfLiteral(syntax.callClose)].join(" ");
  }

  /** Between a parameter's name and its value: a family may mark JSON values apart (`jsonParamNameClose`). */
  #nameClose(value: { readonly raw: boolean }): string {
    const { syntax } = this.#o;
    return value.raw ? syntax.paramNameClose : (syntax.jsonParamNameClose ?? syntax.paramNameClose);
  }

  /** The rule for one value: raw text for a string, else JSON. */
  #value(schema: unknown, hint: string): { readonly rule: string; readonly raw: boolean } {
    if (parameterKind(schema, this.#root) === "string") {
      const resolved = resolveLocalRef(schema, this.#root);
      if (isSchema(resolved)) return { rule: this.#rawString(resolved, hint), raw: true };
    }
    return { rule: this.#json(schema, hint), raw: false };
  }

  #json(schema: unknown, hint: string): string {
    const { builder, tool } = this.#o;
    const defs = Object.fromEntries(["$defs", "definitions"].filter((k) => this.#root[k] !== undefined).map((k) => [k, this.#root[k]]));
    const withDefs = isSchema(schema) ? { ...defs, ...schema } : schema;
    const result = jsonSchemaRule(withDefs, builder, { strict: tool.strict, whitespace: this.#o.whitespace, hint });
    for (const w of result.warnings) this.warnings.add(w);
    return result.rule;
  }

  /** A string value as raw text (see the file header for which constraints hold). */
  #rawString(s: Schema, hint: string): string {
    const { builder } = this.#o;
    checkKeywords(s, this);
    if ("const" in s) return gbnfLiteral(String(s.const));
    if (Array.isArray(s.enum)) return builder.addRule(hint, [...new Set(s.enum.map((v) => gbnfLiteral(String(v))))].join(" | "));
    const min = schemaCount(s, "minLength", 0);
    const max = schemaCount(s, "maxLength", Infinity);
    const keywords = readStringKeywords(s, schemaPatterns(s), min, max, this);
    if (hasContentKeywords(keywords)) {
      const first = this.#closeTag.codePointAt(0) ?? 0;
      const rule = rawStringContents(keywords, builder, [[first, first]], hint, this);
      if (rule !== undefined) return rule;
    }
    const free = (): string => avoidingText(builder, [this.#closeTag], "raw");
    if (min === 0 && max === Infinity) return free();
    // Counted characters: none that begins the closing tag, so the count cannot be cut short.
    const first = this.#closeTag.codePointAt(0) ?? 0;
    const char = builder.addRule("raw-char", gbnfCharClass([[first, first]], true));
    if (min > GBNF_MAX_REPETITION) throw new GrammarConversionError(`minLength above ${GBNF_MAX_REPETITION} is not supported`, "minLength");
    if (max === Infinity) return `${char}{${min}} ${free()}`;
    return `${char}{${min},${Math.min(max, GBNF_MAX_REPETITION)}}`;
  }
}
