/**
 * What may follow a call in a section, for the call-shape parsers that read calls one by one
 * (named-call-parser.ts, xml-call-parser.ts, literal-call-parser.ts): the rest of the call's
 * closing markup (which may be left out), then the markup of another call (`separator callOpen`)
 * or the section's end (`sectionClose`). The three are read side by side, leniently
 * (markup-matcher.ts), so that a left-out closing is no error.
 */
import { PieceSequence } from "./markup-matcher.ts";

/**
 * `more`: markup goes on; `markup`: a piece of markup is complete (what was held is markup);
 * `call`: another call's name follows; `ended`: the section is over; `error`: not markup.
 */
export type TailStep = "more" | "markup" | "call" | "ended" | "error";

export class CallTail {
  readonly #rest: readonly string[];
  readonly #next: readonly string[];
  readonly #end: readonly string[];
  #restSeq: PieceSequence | undefined;
  #nextSeq: PieceSequence | undefined;
  #endSeq: PieceSequence | undefined;

  /** Pieces (markerPieces) of the rest of a call's closing, of `separator callOpen`, and of `sectionClose`. */
  constructor(rest: readonly string[], next: readonly string[], end: readonly string[]) {
    this.#rest = rest;
    this.#next = next;
    this.#end = end;
  }

  /** A call has just ended. False when nothing can follow it: the section is over. */
  start(): boolean {
    this.#restSeq = this.#rest.length === 0 ? undefined : new PieceSequence(this.#rest);
    this.#restart();
    return this.#live;
  }

  step(c: string): TailStep {
    const rest = this.#restSeq?.step(c) ?? "error";
    const next = this.#nextSeq?.step(c) ?? "error";
    const end = this.#endSeq?.step(c) ?? "error";
    if (rest === "error") this.#restSeq = undefined;
    if (next === "error") this.#nextSeq = undefined;
    if (end === "error") this.#endSeq = undefined;
    if (!this.#live) return "error";
    if (next === "done") return "call";
    if (rest === "done") {
      this.#restSeq = undefined;
      this.#restart();
      return this.#live ? "markup" : "ended";
    }
    if (end === "done") {
      // The section may end here (it does unless another call follows).
      this.#endSeq = this.#restSeq = undefined;
      return this.#nextSeq === undefined ? "ended" : "markup";
    }
    return "more";
  }

  /** Reading starts over after the rest of the closing: another call, or the end. */
  #restart(): void {
    this.#nextSeq = this.#next.length === 0 ? undefined : new PieceSequence(this.#next);
    this.#endSeq = this.#end.length === 0 ? undefined : new PieceSequence(this.#end);
  }

  get #live(): boolean {
    return this.#restSeq !== undefined || this.#nextSeq !== undefined || this.#endSeq !== undefined;
  }
}
