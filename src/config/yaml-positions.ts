/**
 * Where a field is in a parsed YAML (or JSON) document: maps a path such as
 * `["models", 1, "upstream", "baseUrls"]` to the 1-based line and column of its node, so config
 * errors can say `parley.yaml:12:5 models[1].upstream.baseUrls: …`. A path that does not exist
 * in the document (a missing required field) points at the deepest node that does.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter } from "yaml";

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
}

export type FieldPath = readonly PropertyKey[];

/** `models[1].upstream.baseUrls`; `(root)` for the empty path. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * The position of `path` in `doc`. With `atKey`, the position of the last segment's key rather
 * than its value (for unknown keys, whose value is not the problem).
 */
export function positionOf(doc: Document, lineCounter: LineCounter, path: FieldPath, atKey = false): Position {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value === segment : p.key === segment));
      if (pair === undefined) break;
      const last = i === path.length - 1;
      offset = (last && atKey ? rangeStart(pair.key) : undefined) ?? rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}

function rangeStart(node: unknown): number | undefined {
  if (node === null || typeof node !== "object" || !("range" in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0];
}
