/** Helpers for tool-call parser tests (every call shape): feeding text in chunks, merging and folding parts. */
import assert from "node:assert/strict";
import { createToolCallParser, type CallParserOptions } from "../../src/chat/tools/call-parser.ts";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import type { ParsedPart } from "../../src/chat/tools/tool-call-parser.ts";

export interface ParsedMessage {
  content: string;
  calls: { name: string; arguments: string }[];
}

/** All parts for the text pushed in the given chunks, then finish(). */
export function partsOf(syntax: ToolCallSyntax, chunks: readonly string[], options?: CallParserOptions): ParsedPart[] {
  const parser = createToolCallParser(syntax, options);
  const parts: ParsedPart[] = [];
  for (const chunk of chunks) parts.push(...parser.push(chunk));
  parts.push(...parser.finish());
  return parts;
}

/** Merges adjacent content parts, and adjacent arguments parts of one call. */
export function merge(parts: readonly ParsedPart[]): ParsedPart[] {
  const out: ParsedPart[] = [];
  for (const part of parts) {
    const last = out.at(-1);
    if (part.kind === "content" && last?.kind === "content") out[out.length - 1] = { kind: "content", text: last.text + part.text };
    else if (part.kind === "arguments" && last?.kind === "arguments" && last.index === part.index) out[out.length - 1] = { ...last, text: last.text + part.text };
    else out.push(part);
  }
  return out;
}

/** Folds parts into the final message: content text and calls {name, arguments}; arguments never come before their call. */
export function collectParts(parts: readonly ParsedPart[]): ParsedMessage {
  const out: ParsedMessage = { content: "", calls: [] };
  for (const part of parts) {
    if (part.kind === "content") out.content += part.text;
    else if (part.kind === "call") out.calls[part.index] = { name: part.name, arguments: "" };
    else {
      const call = out.calls[part.index];
      assert.ok(call !== undefined, "arguments before their call");
      call.arguments += part.text;
    }
  }
  return out;
}

export function parse(syntax: ToolCallSyntax, text: string, options?: CallParserOptions): ParsedMessage {
  return collectParts(partsOf(syntax, [text], options));
}

/** The text cut at these points (taken modulo its length + 1). */
export function cut(text: string, points: readonly number[]): string[] {
  const sorted = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let at = 0;
  for (const p of sorted) {
    chunks.push(text.slice(at, p));
    at = p;
  }
  chunks.push(text.slice(at));
  return chunks;
}

/** Checks that char-by-char and every two-piece split give the same merged parts as one push; returns them. */
export function assertSplitInvariant(syntax: ToolCallSyntax, text: string, options?: CallParserOptions): ParsedPart[] {
  const reference = merge(partsOf(syntax, [text], options));
  assert.deepEqual(merge(partsOf(syntax, [...text], options)), reference, `char by char: ${JSON.stringify(text)}`);
  for (let i = 1; i < text.length; i++) {
    assert.deepEqual(merge(partsOf(syntax, [text.slice(0, i), text.slice(i)], options)), reference, `split at ${i}: ${JSON.stringify(text)}`);
  }
  return reference;
}

export const call = (name: string, args: string): { name: string; arguments: string } => ({ name, arguments: args });
