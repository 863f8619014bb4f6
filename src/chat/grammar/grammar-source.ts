/**
 * A request's grammar, from a plain-data description (GrammarSpec, which can cross to a worker
 * thread): the GBNF text of its tool calls (with tool_choice, its output constraint folded in) or
 * of its output constraint alone, checked against the budget of gbnf-analysis.ts before llama.cpp
 * ever sees it. Every refusal is a 400 naming the request field it comes from.
 */
import type { OutputConstraint } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import type { ToolsRequest } from "../../domain/tools.ts";
import type { ToolCallSyntax } from "../tools/syntax.ts";
import { toolGrammar } from "../tools/tool-grammar.ts";
import { constraintGrammar } from "./constraint-grammar.ts";
import { GrammarConversionError } from "./gbnf.ts";
import { analyzeGbnf, type GrammarBudget } from "./gbnf-analysis.ts";
import { parseGbnf } from "./gbnf-parse.ts";

export type GrammarSpec =
  | {
      readonly kind: "tools";
      readonly syntax: ToolCallSyntax;
      readonly tools: ToolsRequest;
      readonly constraint: OutputConstraint | undefined;
      readonly whitespacePattern: string | undefined;
    }
  | { readonly kind: "constraint"; readonly constraint: OutputConstraint; readonly whitespacePattern: string | undefined };

/** What a request's grammar is made of, before compiling. */
export interface GrammarSource {
  readonly gbnf: string;
  /** Ignored schema keywords and the like, for the client. */
  readonly warnings: readonly string[];
  /** Tool calls count only at the start of the message (see ToolCallParser). */
  readonly anchored?: boolean;
}

/** The request field a grammar is blamed on. */
export function grammarField(spec: GrammarSpec): string {
  if (spec.kind === "constraint") return spec.constraint.field;
  return spec.tools.legacy ? "functions" : "tools";
}

/** Builds and checks the grammar; throws 400s (ParleyError) naming the field. */
export function buildGrammarSource(spec: GrammarSpec, budget: GrammarBudget = {}): GrammarSource {
  const source: GrammarSource =
    spec.kind === "tools"
      ? toolGrammar({ syntax: spec.syntax, tools: spec.tools, constraint: spec.constraint, whitespacePattern: spec.whitespacePattern })
      : constraintGrammar(spec.constraint, spec.whitespacePattern);
  const field = grammarField(spec);
  try {
    analyzeGbnf(parseGbnf(source.gbnf), budget);
  } catch (error) {
    if (!(error instanceof GrammarConversionError)) throw error;
    if (error.construct === "grammar syntax") throw invalidRequest(`\`${field}\` is not a valid llama.cpp GBNF grammar: ${error.message}.`, field.split("."));
    throw invalidRequest(`\`${field}\` cannot be enforced: ${error.message}.`, field.split("."), "unsupported");
  }
  return source;
}
