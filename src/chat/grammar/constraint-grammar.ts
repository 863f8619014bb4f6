/**
 * A request's output constraint → llama.cpp GBNF text, with the warnings to report (unsupported
 * JSON Schema keywords that were ignored). Conversion failures become 400s naming the field.
 */
import type { OutputConstraint } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import { GrammarBuilder, GrammarConversionError, gbnfLiteral } from "./gbnf.ts";
import { jsonSchemaToGbnf } from "./json-schema-to-gbnf.ts";
import { regexGrammar } from "./regex-to-gbnf.ts";

export interface ConstraintGrammar {
  readonly gbnf: string;
  readonly warnings: readonly string[];
}

export function constraintGrammar(constraint: OutputConstraint, whitespacePattern: string | undefined): ConstraintGrammar {
  try {
    switch (constraint.kind) {
      case "json": {
        const whitespace = whitespacePattern ?? "compact";
        const result = jsonSchemaToGbnf(constraint.schema, { strict: constraint.strict, whitespace });
        return { gbnf: result.grammar, warnings: result.warnings };
      }
      case "regex":
        return { gbnf: regexGrammar(constraint.pattern), warnings: [] };
      case "choice":
        return { gbnf: new GrammarBuilder().toString(constraint.choices.map(gbnfLiteral).join(" | ")), warnings: [] };
      case "grammar":
        return { gbnf: constraint.gbnf, warnings: [] };
      default:
        return constraint satisfies never;
    }
  } catch (error) {
    if (!(error instanceof GrammarConversionError)) throw error;
    const path = constraint.field.split(".");
    throw invalidRequest(`\`${constraint.field}\` cannot be enforced: ${error.message} (${error.construct}).`, path, "unsupported");
  }
}
