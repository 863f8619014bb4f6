/**
 * The grammar a request needs, if any: its tool calls (with `tool_choice`, and its output
 * constraint folded in) or its output constraint alone.
 */
import type { GrammarSpec } from "../../chat/grammar/grammar-source.ts";
import type { ToolCallSyntax } from "../../chat/tools/syntax.ts";
import { contentForbidden } from "../../chat/tools/tool-grammar.ts";
import type { ChatRequest, OutputConstraint } from "../../domain/chat.ts";
import type { GrammarRequest } from "./grammar-cache.ts";

export function requestGrammar(request: ChatRequest, syntax: ToolCallSyntax): GrammarRequest | undefined {
  const { constraint, tools, whitespacePattern } = request;
  // tool_choice "none" for a family without marker tokens: nothing to keep out of the content
  // (unless the grammar writes the answer's header: Functionary v3.2's `all\n`).
  const nothingToForbid = tools?.choice.kind === "none" && contentForbidden(syntax, "none").length === 0 && syntax.header === undefined;
  if (tools !== undefined && !nothingToForbid) {
    const spec: GrammarSpec = { kind: "tools", syntax, tools, constraint, whitespacePattern };
    return { key: JSON.stringify(["tools", syntax.family, tools.definitions, tools.choice, tools.parallel, essence(constraint), whitespacePattern ?? null]), spec };
  }
  if (constraint === undefined) return undefined;
  return {
    // What determines the grammar: the constraint without its field name, and whitespace for JSON.
    key: JSON.stringify(["constraint", essence(constraint), constraint.kind === "json" ? (whitespacePattern ?? null) : null]),
    spec: { kind: "constraint", constraint, whitespacePattern },
  };
}

function essence(constraint: OutputConstraint | undefined): unknown {
  if (constraint === undefined) return null;
  const { field: _field, ...rest } = constraint;
  return rest;
}
