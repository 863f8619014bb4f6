/**
 * The parts a tool-call parser has found since it was last asked, with neighbouring content, or
 * arguments of the same call, joined into one part. Shared by both call-shape parsers.
 */
import type { ParsedPart } from "./tool-call-parser.ts";

export class ParsedParts {
  #out: ParsedPart[] = [];

  /** A call begins. */
  call(index: number, name: string): void {
    this.#out.push({ kind: "call", index, name });
  }

  /** More content, or more arguments of call `index`. */
  emit(kind: "content" | "arguments", text: string, index: number): void {
    if (text === "") return;
    const last = this.#out.at(-1);
    if (kind === "content") {
      if (last?.kind === "content") this.#out[this.#out.length - 1] = { kind, text: last.text + text };
      else this.#out.push({ kind, text });
      return;
    }
    if (last?.kind === "arguments" && last.index === index) this.#out[this.#out.length - 1] = { kind, index, text: last.text + text };
    else this.#out.push({ kind, index, text });
  }

  /** What was found since the last call, handed over. */
  take(): ParsedPart[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
