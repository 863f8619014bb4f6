/**
 * Streaming tool-call parser: splits generated text into content and tool calls, following a
 * family's ToolCallSyntax (syntax.ts), as the text arrives.
 *
 * - Text is content until a trigger (`triggers` or `alternativeTriggers`). Text that could still
 *   become a trigger is held back, then released as content or consumed as markup. Markup
 *   (triggers, section/call open and close, separators, the call's JSON envelope) never appears
 *   in content.
 * - A main trigger is read as the start of the section text itself (it is a prefix of
 *   `sectionOpen + callOpen + {`, or of the call object for Llama 3); an alternative trigger is
 *   dropped and a call (`callOpen {`) follows. Markup matches leniently: JSON whitespace may come
 *   around each piece (markerPieces). A call object may have its keys in any order, extra keys
 *   (ignored), `arguments` or `parameters` (the first one present counts), whitespace anywhere
 *   JSON allows it; no arguments key means arguments "{}". Calls are separated by
 *   `callClose separator callOpen`, and `callClose sectionClose` ends the section; a missing
 *   `callClose`/`sectionClose` is tolerated (the section then ends after the call object).
 * - A `call` part is emitted once the name is known and the arguments value has begun (or the
 *   object has ended without arguments). Then the arguments' raw JSON text streams as `arguments`
 *   parts, without surrounding whitespace, ending exactly where the value ends. Arguments written
 *   before the name are held and emitted with the call. Arguments written as a JSON string
 *   (double-encoded) are emitted decoded, in one piece, when the string is complete.
 * - Calls are numbered 0, 1, 2… across the whole message. After a section ends, text is content
 *   again (whitespace right after the section is dropped as markup), and a later trigger opens
 *   another section unless `anchored`, where only a section at the start of the message counts.
 * - Content before a section is kept as written (trailing whitespace included), except that
 *   whitespace at the very start of the message is dropped when a section follows it.
 * - Malformed markup before a call was emitted (`<tool_call>hello`, an object without a name or
 *   with an empty one, a bad escape…): the held text (from the trigger on, or after the last
 *   complete call without its leading whitespace) is released as content, and scanning goes on
 *   with the character that broke it; triggers complete inside the released text are not looked
 *   for again. Malformed text after a call was emitted ends that call (its arguments as they
 *   are); the rest of its object is dropped as markup and the offending character starts content.
 * - finish(): a trigger prefix still held (`<too`) is released as content (it may be plain text).
 *   A call whose name is known stays a call: its arguments truncated as they are (a double-encoded
 *   string decoded as far as it goes), or "{}" when they had not begun. Anything else held after a
 *   complete trigger (`<tool_call>{"na`, `</tool_`) is markup that never made a call: dropped
 *   (with any whitespace held before it at the start of the message).
 *
 * Every decision depends only on the text so far, never on how it was cut into chunks: any split
 * gives the same parts (once adjacent parts of one kind and index are merged). Work is linear:
 * each character is looked at a bounded number of times (once more after a failure).
 */
import { CallObjectReader, type CallSink } from "./call-object.ts";
import { ContentReader } from "./content-reader.ts";
import { markerPieces, PieceSequence } from "./markup-matcher.ts";
import { ParsedParts } from "./parsed-parts.ts";
import type { ParameterTypes } from "./parameter-types.ts";
import type { ToolCallSyntax } from "./syntax.ts";

/** A piece of parsed output, in order. */
export type ParsedPart =
  | { readonly kind: "content"; readonly text: string }
  /** A call begins: its name is known; its arguments follow as "arguments" parts. */
  | { readonly kind: "call"; readonly index: number; readonly name: string }
  | { readonly kind: "arguments"; readonly index: number; readonly text: string };

/** Options of every call-shape parser. */
export interface ToolCallParserOptions {
  /** Only a section at the very start of the message (after optional whitespace) counts as calls; later trigger text is content. Default false. */
  readonly anchored?: boolean;
  /**
   * Which parameters the tools' schemas type as strings, for shapes whose values are not JSON
   * (xml-params, literal-args: parameter-types.ts). Default: untyped.
   */
  readonly parameterTypes?: ParameterTypes | undefined;
}

/** Incremental parser for one generated message; see the file header for the rules. */
export class ToolCallParser {
  readonly #content: ContentReader;
  readonly #alternatives: ReadonlySet<string>;
  readonly #openPieces: string[];
  readonly #altOpenPieces: string[];
  readonly #nextPieces: string[];
  readonly #endPieces: string[];

  #mode: "content" | "markup" | "call" = "content";
  readonly #parts = new ParsedParts();
  #nextIndex = 0;
  // Section.
  #held = "";
  #heldWs = "";
  #afterCall = false;
  #next: PieceSequence | undefined;
  #end: PieceSequence | undefined;
  #call = new CallObjectReader();
  #callIndex = -1;
  readonly #sink: CallSink = {
    call: (name) => this.#startCall(name),
    arguments: (text) => this.#emit("arguments", text),
  };

  constructor(syntax: ToolCallSyntax, options: ToolCallParserOptions = {}) {
    this.#content = new ContentReader([...syntax.triggers, ...syntax.alternativeTriggers], options.anchored ?? false, (text) => this.#emit("content", text));
    this.#alternatives = new Set(syntax.alternativeTriggers.filter((t) => !syntax.triggers.includes(t)));
    this.#openPieces = markerPieces(syntax.sectionOpen, syntax.callOpen, "{");
    this.#altOpenPieces = markerPieces(syntax.callOpen, "{");
    this.#nextPieces = markerPieces(syntax.callClose, syntax.separator, syntax.callOpen, "{");
    this.#endPieces = markerPieces(syntax.callClose, syntax.sectionClose);
  }

  /** Feeds newly generated text (any split, even mid-marker or mid-JSON); returns what can be emitted now. */
  push(text: string): ParsedPart[] {
    let i = 0;
    while (i < text.length) {
      const end = this.#plainRun(text, i);
      if (end > i) {
        if (this.#mode === "content") this.#emit("content", text.slice(i, end));
        else this.#emit("arguments", text.slice(i, end));
        i = end;
        continue;
      }
      this.#step(text.charAt(i));
      i++;
    }
    return this.#take();
  }

  /** End of generation: flushes everything still held. */
  finish(): ParsedPart[] {
    if (this.#mode === "content") {
      this.#content.finish();
    } else if (this.#mode === "call") {
      this.#call.finish(this.#sink);
    }
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    return this.#take();
  }

  /** End of the run of characters from `i` that would be emitted one by one unchanged; `i` when none. */
  #plainRun(text: string, i: number): number {
    if (this.#mode === "content") return this.#content.plainRun(text, i);
    if (this.#mode !== "call" || !this.#call.streamingPlainString) return i;
    let j = i;
    while (j < text.length && text.charAt(j) !== '"' && text.charAt(j) !== "\\") j++;
    return j;
  }

  #step(c: string): void {
    if (this.#mode === "content") return this.#contentStep(c);
    if (this.#mode === "markup") {
      this.#held += c;
      return this.#markupStep(c);
    }
    if (!this.#call.announced) this.#held += c;
    const step = this.#call.step(c, this.#sink);
    if (step === "end") this.#callEnded();
    else if (step === "error") this.#callFail(c);
  }

  #contentStep(c: string): void {
    const trigger = this.#content.step(c);
    if (trigger !== undefined) this.#startSection(trigger);
  }

  #startSection(trigger: string): void {
    this.#heldWs = this.#content.takeLeadingWhitespace();
    this.#afterCall = false;
    this.#end = undefined;
    this.#mode = "markup";
    if (this.#alternatives.has(trigger)) {
      this.#held = trigger;
      this.#next = new PieceSequence(this.#altOpenPieces);
      return;
    }
    this.#held = "";
    this.#next = new PieceSequence(this.#openPieces);
    for (let i = 0; i < trigger.length; i++) this.#step(trigger.charAt(i));
  }

  #markupStep(c: string): void {
    const next = this.#next?.step(c) ?? "error";
    const end = this.#end?.step(c) ?? "error";
    if (next === "done") {
      this.#mode = "call";
      this.#call = new CallObjectReader();
      return;
    }
    if (next === "error") this.#next = undefined;
    if (end === "done") {
      // The section may end here (it does unless another call follows): what came before is markup.
      this.#held = "";
      this.#end = undefined;
      if (this.#next === undefined) this.#endSection();
      return;
    }
    if (end === "error") this.#end = undefined;
    if (this.#next === undefined && this.#end === undefined) this.#fail(c);
  }

  /** Leaves the section after its markup: whitespace that follows is dropped too. */
  #endSection(): void {
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#next = this.#end = undefined;
    this.#content.sectionEnded();
  }

  /** `c` broke the markup before any call of it was emitted: the held text is content after all. */
  #fail(c: string): void {
    const held = this.#held.slice(0, -1);
    const ws = this.#heldWs;
    const afterCall = this.#afterCall;
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#next = this.#end = undefined;
    this.#content.releaseMarkup(held, ws, afterCall);
    this.#contentStep(c);
  }

  /** The call object ended: what follows may be more calls or the section's end. */
  #callEnded(): void {
    this.#mode = "markup";
    this.#held = "";
    this.#afterCall = true;
    this.#next = new PieceSequence(this.#nextPieces);
    this.#end = this.#endPieces.length > 0 ? new PieceSequence(this.#endPieces) : undefined;
  }

  /** `c` broke the call object: before the call was emitted, the text is content after all. */
  #callFail(c: string): void {
    if (!this.#call.announced) return this.#fail(c);
    // The call stands as emitted; the rest of its object is dropped.
    this.#call.finish(this.#sink);
    this.#endSection();
    this.#contentStep(c);
  }

  #startCall(name: string): void {
    this.#callIndex = this.#nextIndex++;
    this.#held = this.#heldWs = "";
    this.#content.callStarted();
    this.#parts.call(this.#callIndex, name);
  }

  #emit(kind: "content" | "arguments", text: string): void {
    this.#parts.emit(kind, text, this.#callIndex);
  }

  #take(): ParsedPart[] {
    return this.#parts.take();
  }
}
