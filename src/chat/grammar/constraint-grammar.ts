/**
 * A request's output constraint → llama.cpp GBNF text, with the warnings to report (unsupported
 * JSON Schema keywords that were ignored). Conversion failures become 400s naming the field.
 */
import type { OutputConstraint } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import { GrammarBuilder, GrammarConversionError, gbnfLiteral } from "./gbnf.ts";
import { jsonSchemaRule } from "./json-schema-to-gbnf.ts";
import { parsePattern, type Node } from "./regex-parser.ts";
import { regexToGbnf } from "./regex-to-gbnf.ts";

export interface ConstraintGrammar {
  readonly gbnf: string;
  readonly warnings: readonly string[];
}

/** Deepest parenthesis nesting accepted in a user GBNF grammar (llama.cpp's parser recurses). */
const MAX_GBNF_DEPTH = 256;
const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

export function constraintGrammar(constraint: OutputConstraint, whitespacePattern: string | undefined): ConstraintGrammar {
  if (constraint.kind === "grammar") {
    checkGbnfDepth(constraint.gbnf, constraint.field);
    return { gbnf: constraint.gbnf, warnings: [] };
  }
  const builder = new GrammarBuilder();
  const { rule, warnings } = constraintRule(constraint, builder, whitespacePattern);
  return { gbnf: builder.toString(rule), warnings };
}

/**
 * Adds a JSON, regex or choice constraint's rules to `builder` (to combine it with other rules,
 * e.g. tool calls) and returns the expression matching it. A user GBNF grammar (`kind: "grammar"`)
 * has rule names of its own and cannot be combined: a 400.
 */
export function constraintRule(constraint: OutputConstraint, builder: GrammarBuilder, whitespacePattern: string | undefined): { rule: string; warnings: string[] } {
  if (whitespacePattern !== undefined && constraint.kind === "json") checkWhitespacePattern(whitespacePattern);
  try {
    switch (constraint.kind) {
      case "json":
        return jsonSchemaRule(constraint.schema, builder, { strict: constraint.strict, whitespace: whitespacePattern ?? "compact" });
      case "regex":
        return { rule: regexToGbnf(constraint.pattern, builder), warnings: [] };
      case "choice":
        return { rule: builder.addRule("choice", choiceExpression(constraint.choices, builder)), warnings: [] };
      case "grammar":
        throw invalidRequest(`\`${constraint.field}\` cannot be combined with tools.`, constraint.field.split("."), "conflict");
      default:
        return constraint satisfies never;
    }
  } catch (error) {
    const path = constraint.field.split(".");
    if (error instanceof RangeError) throw invalidRequest(`\`${constraint.field}\` is nested too deeply to be enforced.`, path, "too_deep");
    if (!(error instanceof GrammarConversionError)) throw error;
    throw invalidRequest(`\`${constraint.field}\` cannot be enforced: ${error.message} (${error.construct}).`, path, "unsupported");
  }
}

interface TrieNode {
  end: boolean;
  readonly children: Map<string, TrieNode>;
}

/**
 * The choices as a prefix tree, so that the grammar is deterministic: choices sharing a prefix
 * (`category_1` … `category_999`) share its rule, and llama.cpp follows one parse state, not one
 * per choice, for as long as they agree.
 */
function choiceExpression(choices: readonly string[], builder: GrammarBuilder): string {
  const root: TrieNode = { end: false, children: new Map() };
  for (const choice of choices) {
    let node = root;
    for (const ch of choice) {
      let next = node.children.get(ch);
      if (next === undefined) node.children.set(ch, (next = { end: false, children: new Map() }));
      node = next;
    }
    node.end = true;
  }
  const expression = (node: TrieNode): string => {
    const parts = node.end ? ['""'] : [];
    for (const [ch, child] of node.children) {
      // Follow the chain while there is only one way on.
      let text = ch;
      let at = child;
      while (!at.end && at.children.size === 1) {
        const [next, deeper] = at.children.entries().next().value as [string, TrieNode];
        text += next;
        at = deeper;
      }
      parts.push(at.children.size === 0 ? gbnfLiteral(text) : `${gbnfLiteral(text)} ${builder.addRule("choice", expression(at))}`);
    }
    return parts.join(" | ");
  };
  return expression(root);
}

/** The whitespace pattern may only ever produce JSON whitespace (space, tab, newline, return). */
function checkWhitespacePattern(pattern: string): void {
  const field = ["guided_whitespace_pattern"];
  let ast: Node;
  try {
    ast = parsePattern(pattern);
  } catch (error) {
    const detail = error instanceof GrammarConversionError ? `${error.message} (${error.construct})` : "nested too deeply";
    throw invalidRequest(`\`guided_whitespace_pattern\` cannot be used: ${detail}.`, field, "unsupported");
  }
  const onlyWhitespace = (node: Node): boolean => {
    switch (node.t) {
      case "set":
        return node.ranges.every(([low, high]) => {
          if (high - low > JSON_WHITESPACE.size) return false;
          for (let c = low; c <= high; c++) if (!JSON_WHITESPACE.has(c)) return false;
          return true;
        });
      case "seq":
        return node.items.every(onlyWhitespace);
      case "alt":
        return node.options.every(onlyWhitespace);
      case "rep":
        return onlyWhitespace(node.node);
      case "start":
      case "end":
        return true;
      default:
        return node satisfies never;
    }
  };
  if (!onlyWhitespace(ast)) {
    throw invalidRequest("`guided_whitespace_pattern` may only match JSON whitespace (space, \\t, \\n, \\r).", field, "invalid_value");
  }
}

/** llama.cpp's GBNF parser recurses per parenthesis: refuse deep nesting before handing it over. */
function checkGbnfDepth(gbnf: string, field: string): void {
  let depth = 0;
  for (let i = 0; i < gbnf.length; i++) {
    const c = gbnf[i];
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      for (i++; i < gbnf.length && gbnf[i] !== close; i++) if (gbnf[i] === "\\") i++;
    } else if (c === "#") {
      while (i < gbnf.length && gbnf[i] !== "\n") i++;
    } else if (c === "(") {
      if (++depth > MAX_GBNF_DEPTH) throw invalidRequest(`\`${field}\` nests parentheses deeper than ${MAX_GBNF_DEPTH}.`, field.split("."), "too_deep");
    } else if (c === ")") {
      depth--;
    }
  }
}
