/** Helpers for tool-call parser tests (every call shape): feeding text in chunks, merging and folding parts. */
import assert from "node:assert/strict";
import { createToolCallParser } from "../../src/chat/tools/call-parser.ts";
import type { ToolCallSyntax } from "../../src/chat/tools/syntax.ts";
import type { ParsedPart, ToolCallParserOptions } from "../../src/chat/tools/tool-call-parser.ts";

export interface ParsedMessage {
  content: string;
  calls: { name: string; arguments: string }[];
}

/** All parts for the text pushed in the given chunks, then finish(). */
export function partsOf(syntax: ToolCallSyntax, chunks: readonly string[], options?: ToolCallParserOptions): ParsedPart[] {
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

export function parse(syntax: ToolCallSyntax, text: string, options?: ToolCallParserOptions): ParsedMessage {
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
export function assertSplitInvariant(syntax: ToolCallSyntax, text: string, options?: ToolCallParserOptions): ParsedPart[] {
  const reference = merge(partsOf(syntax, [text], options));
  assert.deepEqual(merge(partsOf(syntax, [...text], options)), reference, `char by char: ${JSON.stringify(text)}`);
  for (let i = 1; i < text.length; i++) {
    assert.deepEqual(merge(partsOf(syntax, [text.slice(0, i), text.slice(i)], options)), reference, `split at ${i}: ${JSON.stringify(text)}`);
  }
  return reference;
}

export const call = (name: string, args: string): { name: string; arguments: string } => ({ name, arguments: args });

/** True when `part`'s characters appear in `whole` in order (content is only ever input text, never invented). */
export function isSubsequence(part: string, whole: string): boolean {
  let j = 0;
  for (let i = 0; i < whole.length && j < part.length; i++) if (whole[i] === part[j]) j++;
  return j === part.length;
}

export interface CutInvariantChecks {
  /** Content is drawn from the text (a subsequence of it; default true). */
  readonly contentFromText?: boolean;
  /** Every call's arguments are a JSON object, even broken or cut (shapes that write the JSON themselves; default false). */
  readonly objectArguments?: boolean;
}

/**
 * Whole, cut at `points`, or char by char: the same merged parts; and, on those parts, content
 * drawn from the text, marker tokens in content only where the text has them, and (`checks`)
 * arguments that are JSON objects.
 */
export function assertCutInvariant(syntax: ToolCallSyntax, text: string, points: readonly number[], options: ToolCallParserOptions = {}, checks: CutInvariantChecks = {}): void {
  const reference = merge(partsOf(syntax, [text], options));
  assert.deepEqual(merge(partsOf(syntax, cut(text, points), options)), reference, JSON.stringify(text));
  assert.deepEqual(merge(partsOf(syntax, [...text], options)), reference, JSON.stringify(text));
  const message = collectParts(reference);
  if (checks.contentFromText ?? true) assert.ok(isSubsequence(message.content, text), JSON.stringify(text));
  // A marker in content must come from the text around it, never from a section's markup.
  for (const marker of syntax.markerTokens) if (message.content.includes(marker)) assert.ok(text.includes(marker), marker);
  if (checks.objectArguments === true) {
    for (const c of message.calls) {
      const args: unknown = JSON.parse(c.arguments);
      assert.ok(typeof args === "object" && args !== null && !Array.isArray(args), `arguments are an object: ${c.arguments}`);
    }
  }
}
