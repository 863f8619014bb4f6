/**
 * JSON punctuation as GBNF for json-schema-to-gbnf.ts: quotes, brackets and separators with the
 * optional whitespace between tokens, plus the small helpers the schema converters share.
 */
import { GrammarConversionError, gbnfLiteral, type GrammarBuilder } from "./gbnf.ts";

export const fail = (message: string, construct: string): never => {
  throw new GrammarConversionError(message, construct);
};
export const seq = (...parts: string[]): string => parts.filter((p) => p !== "").join(" ");
export const QUOTE = '"\\""';

/** `{` `[` `,` `:` `}` `]` with `ws` (a GBNF expression, "" for compact) around them. */
export class JsonPunctuation {
  constructor(readonly ws: string) {}

  open(c: string): string {
    return seq(gbnfLiteral(c), this.ws);
  }
  close(c: string): string {
    return seq(this.ws, gbnfLiteral(c));
  }
  sep(c: string): string {
    return seq(this.ws, gbnfLiteral(c), this.ws);
  }
}

/** What the per-type converters need from the schema converter. */
export interface SchemaVisitor {
  readonly builder: GrammarBuilder;
  readonly json: JsonPunctuation;
  /** The rule (or expression) for `schema`, named after `hint` where a rule is added. */
  visit(schema: unknown, hint: string): string;
}
