/**
 * Picks the streaming tool-call parser for a family's call shape (syntax.ts): JSON objects that
 * hold their name (ToolCallParser), a name outside the JSON arguments (NamedCallParser), or one
 * element per parameter (XmlCallParser), or keyword arguments with literal values
 * (LiteralCallParser). All yield the same parts with the same guarantees, so
 * their callers need not know which is which.
 */
import { NamedCallParser } from "./named-call-parser.ts";
import type { ToolCallSyntax } from "./syntax.ts";
import { ToolCallParser, type ParsedPart, type ToolCallParserOptions } from "./tool-call-parser.ts";
import { XmlCallParser } from "./xml-call-parser.ts";
import { LiteralCallParser } from "./literal-call-parser.ts";

/** An incremental parser for one generated message. */
export interface CallParser {
  /** Feeds newly generated text (any split); returns what can be emitted now. */
  push(text: string): ParsedPart[];
  /** End of generation: flushes everything still held. */
  finish(): ParsedPart[];
}

export function createToolCallParser(syntax: ToolCallSyntax, options: ToolCallParserOptions = {}): CallParser {
  if (syntax.shape === "xml-params") return new XmlCallParser(syntax, options);
  if (syntax.shape === "literal-args") return new LiteralCallParser(syntax, options);
  return syntax.shape === "named-json" ? new NamedCallParser(syntax, options) : new ToolCallParser(syntax, options);
}
