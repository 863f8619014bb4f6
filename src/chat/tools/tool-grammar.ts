/**
 * The grammar that enforces `tool_choice` for one model family (syntax.ts): which calls can be
 * written, with valid names and arguments valid against each tool's JSON Schema.
 *
 *  - none:     content that contains none of the family's marker tokens (or the request's own output
 *              constraint); plain-JSON triggers such as Llama's `{"name"` stay allowed, since
 *              nothing is parsed as a call;
 *  - auto:     content without triggers, optionally followed by a tool-call section; with an output
 *              constraint (`response_format` …), or in a format whose grammar writes the message
 *              header (Harmony: `syntax.header`), either the content or a section;
 *  - required: a section, from the first token;
 *  - function: a section holding exactly one call of that function.
 *
 * A section holds at most `syntax.maxCalls` calls, and one when `parallel_tool_calls` is false.
 * Each call is `callOpen {"<nameKey>": "<name>", "<argumentsKey>": <arguments>} callClose`, with
 * Command R7B's numbered `"tool_call_id"` key first where the family has one (a section
 * may begin with one of `alternativeTriggers`, such as `<|python_tag|>`), or in the named-JSON
 * shape `callOpen [namePrefix]<name>[<nameIndexSeparator><digits>] nameClose <arguments> callClose`;
 * the arguments are JSON with at most one space between tokens (the layout models are trained on).
 */
import { avoidingText } from "../grammar/avoid-text.ts";
import { constraintRule } from "../grammar/constraint-grammar.ts";
import { GrammarBuilder, GrammarConversionError, gbnfLiteral } from "../grammar/gbnf.ts";
import { jsonSchemaRule } from "../grammar/json-schema-to-gbnf.ts";
import type { OutputConstraint } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import type { ToolsRequest } from "../../domain/tools.ts";
import { literalCallBody } from "./literal-call-grammar.ts";
import type { LiteralArgsSyntax, ToolCallSyntax, XmlParamsSyntax } from "./syntax.ts";
import { xmlCallBody } from "./xml-call-grammar.ts";

/** Whitespace allowed between the JSON tokens of arguments: one optional space. */
export const ARGUMENTS_WHITESPACE = " ?";

export interface ToolGrammarOptions {
  readonly syntax: ToolCallSyntax;
  readonly tools: ToolsRequest;
  /** The request's structured-output constraint, if any. */
  readonly constraint?: OutputConstraint | undefined;
  /** `guided_whitespace_pattern`, for the constraint. */
  readonly whitespacePattern?: string | undefined;
}

export interface ToolGrammar {
  readonly gbnf: string;
  readonly warnings: readonly string[];
  /** A section can only start the message (content is an output constraint, not free text). */
  readonly anchored: boolean;
}

export function toolGrammar(options: ToolGrammarOptions): ToolGrammar {
  const { syntax, tools, constraint } = options;
  const builder = new GrammarBuilder();
  const warnings: string[] = [];
  const content = (): string => {
    if (constraint === undefined) return avoidingText(builder, contentForbidden(syntax, tools.choice.kind === "none" ? "none" : "auto"), "content");
    const result = constraintRule(constraint, builder, options.whitespacePattern);
    warnings.push(...result.warnings);
    return result.rule;
  };
  // Harmony: the grammar writes the message header too (syntax.ts `header`).
  const { header } = syntax;
  const headerLead = header === undefined || header.lead === "" ? "" : `${gbnfLiteral(header.lead)}? `;
  const answer = (): string => (header === undefined ? content() : `${gbnfLiteral(header.content)} ${content()}`);
  const choice = tools.choice;
  if (choice.kind === "none") return { gbnf: builder.toString(headerLead + answer()), warnings, anchored: false };

  const offered = choice.kind === "function" ? tools.definitions.filter((t) => t.name === choice.name) : tools.definitions;
  const calls = offered.map((tool) => {
    const index = tools.definitions.indexOf(tool);
    const field = tools.legacy ? ["functions", index, "parameters"] : ["tools", index, "function", "parameters"];
    // One element per parameter (xml-call-grammar.ts): the call is built from the schema's properties.
    if (syntax.shape === "xml-params") return builder.addRule(`call-${tool.name}`, xmlCallBody({ syntax, tool, builder, warnings, field, whitespace: ARGUMENTS_WHITESPACE }));
    // Keyword arguments with literal values (literal-call-grammar.ts), likewise.
    if (syntax.shape === "literal-args") return builder.addRule(`call-${tool.name}`, literalCallBody({ syntax, tool, builder, warnings, field, whitespace: ARGUMENTS_WHITESPACE }));
    const args = argumentsRule(tool.parameters, tool.strict, builder, field, `${tool.name}-args`, warnings, tool.name);
    return builder.addRule(`call-${tool.name}`, callBody(syntax, tool.name, args));
  });
  const call = builder.addRule("call", calls.join(" | "));
  const most = choice.kind === "function" || !tools.parallel ? 1 : syntax.maxCalls;
  const more = most <= 1 ? "" : ` ( ${gbnfLiteral(syntax.separator)} ${call} )${Number.isFinite(most) ? `{0,${most - 1}}` : "*"}`;
  // A model may lead with an alternative trigger (Llama's `<|python_tag|>`); the parser drops it.
  const lead = syntax.shape === "named-json" || syntax.alternativeTriggers.length === 0 ? "" : `( ${syntax.alternativeTriggers.map(gbnfLiteral).join(" | ")} )? `;
  const open = lead + (syntax.sectionOpen === "" ? "" : `${gbnfLiteral(syntax.sectionOpen)} `);
  const close = syntax.sectionClose === "" ? "" : ` ${gbnfLiteral(syntax.sectionClose)}`;
  const section = builder.addRule("section", `${open}${call}${more}${close}`);

  if (choice.kind !== "auto") return { gbnf: builder.toString(headerLead + section), warnings, anchored: true };
  if (constraint !== undefined || header !== undefined) return { gbnf: builder.toString(`${headerLead}( ${answer()} | ${section} )`), warnings, anchored: true };
  return { gbnf: builder.toString(`${content()} ${section}?`), warnings, anchored: false };
}

/** One call of one tool, in the family's shape, around the tool's arguments rule `args`. */
function callBody(syntax: Exclude<ToolCallSyntax, XmlParamsSyntax | LiteralArgsSyntax>, name: string, args: string): string {
  if (syntax.shape === "named-json") {
    // Kimi K2's `functions.<name>:<n>`: the call's number as digits.
    const index = syntax.nameIndexSeparator === undefined ? "" : ` ${gbnfLiteral(syntax.nameIndexSeparator)} [0-9]{1,3}`;
    return `${gbnfLiteral(`${syntax.callOpen}${syntax.namePrefix ?? ""}${name}`)}${index} ${gbnfLiteral(syntax.nameClose)} ${args} ${gbnfLiteral(syntax.callClose)}`;
  }
  const head = `"${syntax.nameKey ?? "name"}": ${JSON.stringify(name)}, "${syntax.argumentsKey}": `;
  const id = syntax.idKey === undefined ? "" : ` ${gbnfLiteral(`"${syntax.idKey}": "`)} [0-9]{1,3} ${gbnfLiteral('", ')}`;
  return `${gbnfLiteral(`${syntax.callOpen}{`)}${id} ${gbnfLiteral(head)} ${args} ${gbnfLiteral(`}${syntax.callClose}`)}`;
}

/**
 * What content may not contain: in `auto` every text that would start or close a call (triggers,
 * alternative triggers, marker tokens such as `</tool_call>`); in `none` only the marker tokens,
 * which are never plain text. Empty: no grammar is needed for `none`.
 */
export function contentForbidden(syntax: ToolCallSyntax, mode: "auto" | "none"): string[] {
  const markers = syntax.markerTokens;
  return mode === "none" ? [...markers] : [...new Set([...syntax.triggers, ...syntax.alternativeTriggers, ...markers])];
}

function argumentsRule(schema: Readonly<Record<string, unknown>>, strict: boolean, builder: GrammarBuilder, field: (string | number)[], hint: string, warnings: string[], toolName: string): string {
  // `properties: {}` is how clients declare a function without arguments: close it (the schema
  // converter leaves objects without declared properties open).
  const closed = schema.properties !== undefined && schema.additionalProperties === undefined ? { ...schema, additionalProperties: false } : schema;
  try {
    const result = jsonSchemaRule(closed, builder, { strict, whitespace: ARGUMENTS_WHITESPACE, hint });
    warnings.push(...result.warnings.map((w) => `${toolName}: ${w}`));
    return result.rule;
  } catch (error) {
    if (error instanceof RangeError) throw invalidRequest(`The parameters of \`${toolName}\` are nested too deeply to be enforced.`, field, "too_deep");
    if (!(error instanceof GrammarConversionError)) throw error;
    throw invalidRequest(`The parameters of \`${toolName}\` cannot be enforced: ${error.message} (${error.construct}).`, field, "unsupported");
  }
}
