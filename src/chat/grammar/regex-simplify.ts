/**
 * Rewrites of the regex AST before emission: anchor dropping and impossible-branch pruning
 * (simplify), the nullable test, and removal of the empty string from a node's language.
 */
import { GrammarConversionError } from "./gbnf.ts";
import type { Node } from "./regex-parser.ts";
import { normalize } from "./regex-ranges.ts";

export const EMPTY: Node = { t: "seq", items: [] };
export const NEVER: Node = { t: "set", ranges: [] };

// ---------------------------------------------------------------------------------------------
// Simplification

export function isNever(node: Node): boolean {
  return node.t === "set" && node.ranges.length === 0;
}

/** Drops anchors that only match at the ends (rejects the others) and impossible branches. */
export function simplify(node: Node, atStart: boolean, atEnd: boolean, pattern: string): Node {
  switch (node.t) {
    case "set":
      return node;
    case "start":
    case "end": {
      if (node.t === "start" ? atStart : atEnd) return EMPTY;
      const anchor = node.t === "start" ? "^" : "$";
      throw new GrammarConversionError(`regex /${pattern}/ uses ${anchor} away from the ${node.t} of the pattern, which grammars cannot express`, `${anchor} anchor`);
    }
    case "seq": {
      const items: Node[] = [];
      const { items: raw } = node;
      // Item i is at the start if every item before it is `^`, at the end if every one after is `$`.
      let leadingStarts = 0;
      while (leadingStarts < raw.length && raw[leadingStarts]!.t === "start") leadingStarts++;
      let trailingEnds = raw.length;
      while (trailingEnds > 0 && raw[trailingEnds - 1]!.t === "end") trailingEnds--;
      for (let i = 0; i < raw.length; i++) {
        const start = atStart && i <= leadingStarts;
        const end = atEnd && i >= trailingEnds - 1;
        const item = simplify(raw[i]!, start, end, pattern);
        if (isNever(item)) return NEVER;
        if (item.t === "seq") items.push(...item.items);
        else items.push(item);
      }
      return items.length === 1 ? items[0]! : { t: "seq", items };
    }
    case "alt": {
      const options: Node[] = [];
      for (const option of node.options) {
        const simple = simplify(option, atStart, atEnd, pattern);
        if (isNever(simple)) continue;
        if (simple.t === "alt") options.push(...simple.options);
        else options.push(simple);
      }
      if (options.length === 0) return NEVER;
      if (options.length === 1) return options[0]!;
      if (options.every((option) => option.t === "set")) {
        return { t: "set", ranges: normalize(options.flatMap((option) => (option.t === "set" ? option.ranges : []))) };
      }
      return { t: "alt", options };
    }
    case "rep": {
      const once = node.max <= 1;
      const inner = simplify(node.node, atStart && once, atEnd && once, pattern);
      if (node.max === 0) return EMPTY;
      if (isNever(inner)) return node.min === 0 ? EMPTY : NEVER;
      if (node.min === 1 && node.max === 1) return inner;
      // A nullable body under repetition would make the grammar left-recursive: x{m,n} with x
      // nullable is (x without the empty string){0,n}.
      if (nullable(inner)) {
        const nonEmpty = withoutEmpty(inner);
        return isNever(nonEmpty) ? EMPTY : { t: "rep", node: nonEmpty, min: 0, max: node.max };
      }
      return { t: "rep", node: inner, min: node.min, max: node.max };
    }
  }
}

export function nullable(node: Node): boolean {
  switch (node.t) {
    case "set":
      return false;
    case "seq":
      return node.items.every(nullable);
    case "alt":
      return node.options.some(nullable);
    case "rep":
      return node.min === 0 || nullable(node.node);
    case "start":
    case "end":
      return true;
  }
}

/** The language of `node` minus the empty string (of simplified nodes). */
export function withoutEmpty(node: Node): Node {
  switch (node.t) {
    case "set":
      return node;
    case "start":
    case "end":
      return NEVER;
    case "seq": {
      // (a b...) \ ε = (a\ε) b... | b... \ ε when a is nullable.
      const [first, ...rest] = node.items;
      if (first === undefined) return NEVER;
      const restNode: Node = rest.length === 1 ? rest[0]! : { t: "seq", items: rest };
      if (!nullable(first)) return node;
      const options: Node[] = [];
      const head = withoutEmpty(first);
      if (!isNever(head)) options.push({ t: "seq", items: [head, ...rest] });
      const tail = rest.length === 0 ? NEVER : withoutEmpty(restNode);
      if (!isNever(tail)) options.push(tail);
      return options.length === 0 ? NEVER : options.length === 1 ? options[0]! : { t: "alt", options };
    }
    case "alt": {
      const options = node.options.map(withoutEmpty).filter((option) => !isNever(option));
      return options.length === 0 ? NEVER : options.length === 1 ? options[0]! : { t: "alt", options };
    }
    case "rep": {
      const inner = nullable(node.node) ? withoutEmpty(node.node) : node.node;
      if (isNever(inner)) return NEVER;
      return { t: "rep", node: inner, min: Math.max(1, nullable(node.node) ? 1 : node.min), max: node.max };
    }
  }
}
