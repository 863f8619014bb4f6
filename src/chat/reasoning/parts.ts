/** Small helpers shared by the reasoning splitters. */
import type { ReasoningPart } from "./splitter.ts";

/** Joins neighbouring parts of the same kind and drops empty ones. */
export function mergeParts(parts: readonly ReasoningPart[]): ReasoningPart[] {
  const out: ReasoningPart[] = [];
  for (const part of parts) {
    if (part.text === "") continue;
    const last = out.at(-1);
    if (last?.kind === part.kind) out[out.length - 1] = { kind: part.kind, text: last.text + part.text };
    else out.push(part);
  }
  return out;
}

/** Length of the longest end of `text` that begins one of `markers` (and is shorter than it): text to hold back. */
export function heldSuffix(text: string, markers: readonly string[]): number {
  let held = 0;
  for (const marker of markers) {
    for (let length = Math.min(marker.length - 1, text.length); length > held; length--) {
      if (text.endsWith(marker.slice(0, length))) {
        held = length;
        break;
      }
    }
  }
  return held;
}
