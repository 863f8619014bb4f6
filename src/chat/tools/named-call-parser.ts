/**
 * Streaming parser for tool calls whose function name sits outside the JSON arguments (the
 * "named-json" shape of syntax.ts): Mistral's `[TOOL_CALLS]get_weather[ARGS]{…}`, DeepSeek's
 * `<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{…}<｜tool▁call▁end｜>`, Kimi K2's
 * `<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{…}<|tool_call_end|>`,
 * Functionary's `<function=get_weather>{…}</function>`. Same parts and guarantees as
 * ToolCallParser (tool-call-parser.ts), where they apply:
 *
 * - Content until a trigger, held back while it could still become one (content-reader.ts);
 *   markup never in content; JSON whitespace allowed before each markup piece and around the name.
 * - A section is `sectionOpen call (separator call)* sectionClose`; a call is `callOpen`, the name
 *   (call-name.ts: decorations stripped), `nameClose`, a JSON object, `callClose`. A
 *   `callIdMarker` and id before `nameClose` are skipped; an alternative trigger is dropped and a
 *   call follows. Missing `callClose`/`sectionClose` are tolerated.
 * - The `call` part comes with the object's `{`; its raw JSON then streams as `arguments`, ending
 *   exactly where the object ends. Arguments that are not an object make the markup malformed.
 * - Calls are numbered 0, 1, 2… across the message; after a section, text is content again
 *   (whitespace right after it dropped) and a later trigger opens another section unless `anchored`.
 * - Malformed markup before a call of the section was emitted: the held text (from the trigger on)
 *   is released as content, scanning going on with the character that broke it. After a call: a
 *   broken arguments object ends the call as it is and the offending character starts content;
 *   broken markup between calls is content, without its leading whitespace.
 * - `promptEnd` is read before the output, as if the model had written it; a part addressed to
 *   `contentName` is content, its markup dropped.
 * - finish(): a held trigger prefix is content; a call whose `nameClose` was read but whose
 *   arguments had not begun gets "{}"; other held markup is dropped.
 *
 * Decisions depend only on the text so far, so any split gives the same parts; work is linear.
 */
import { bareName, isNameChar, MAX_NAME_LENGTH } from "./call-name.ts";
import { CallTail } from "./call-tail.ts";
import { ContentReader } from "./content-reader.ts";
import { isJsonWhitespace, JsonValueScanner } from "./json-scanner.ts";
import { ParsedParts } from "./parsed-parts.ts";
import { markerPieces, PieceSequence } from "./markup-matcher.ts";
import type { NamedJsonSyntax } from "./syntax.ts";
import type { ParsedPart, ToolCallParserOptions } from "./tool-call-parser.ts";

type Mode = "content" | "open" | "name" | "callId" | "nameClose" | "argsStart" | "args" | "after";

/** Incremental parser for one generated message; see the file header for the rules. */
export class NamedCallParser {
  readonly #syntax: NamedJsonSyntax;
  readonly #content: ContentReader;
  readonly #alternatives: ReadonlySet<string>;
  readonly #openPieces: string[];
  readonly #altOpenPieces: string[];
  readonly #closePieces: string[];
  readonly #idPieces: string[];
  readonly #tail: CallTail;

  #mode: Mode = "content";
  readonly #parts = new ParsedParts();
  #nextIndex = 0;
  #callIndex = -1;
  // Section.
  #held = "";
  #heldWs = "";
  #afterCall = false;
  #seq: PieceSequence | undefined;
  #idSeq: PieceSequence | undefined;
  #nameText = "";
  #name = "";
  #args = new JsonValueScanner();

  constructor(syntax: NamedJsonSyntax, options: ToolCallParserOptions = {}) {
    this.#syntax = syntax;
    this.#content = new ContentReader([...syntax.triggers, ...syntax.alternativeTriggers], options.anchored ?? false, (text) => this.#emit("content", text));
    this.#alternatives = new Set(syntax.alternativeTriggers.filter((t) => !syntax.triggers.includes(t)));
    this.#openPieces = markerPieces(syntax.sectionOpen, syntax.callOpen);
    this.#altOpenPieces = markerPieces(syntax.callOpen);
    this.#closePieces = markerPieces(syntax.nameClose);
    this.#idPieces = syntax.callIdMarker === undefined ? [] : markerPieces(syntax.callIdMarker);
    this.#tail = new CallTail(markerPieces(syntax.callClose), markerPieces(syntax.separator, syntax.callOpen), markerPieces(syntax.sectionClose));
    // The prompt opened the first part: read on from there, as if the model had written it.
    if (syntax.promptEnd !== undefined) for (const c of syntax.promptEnd) this.#step(c);
  }

  /** Feeds newly generated text (any split); returns what can be emitted now. */
  push(text: string): ParsedPart[] {
    let i = 0;
    while (i < text.length) {
      const end = this.#plainRun(text, i);
      if (end > i) {
        this.#emit(this.#mode === "content" ? "content" : "arguments", text.slice(i, end));
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
    } else if (this.#mode === "argsStart") {
      this.#startCall();
      this.#emit("arguments", "{}");
    }
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    return this.#take();
  }

  /** End of the run of characters from `i` emitted one by one unchanged; `i` when none. */
  #plainRun(text: string, i: number): number {
    if (this.#mode === "content") return this.#content.plainRun(text, i);
    if (this.#mode !== "args" || !this.#args.inPlainString) return i;
    let j = i;
    while (j < text.length && text.charAt(j) !== '"' && text.charAt(j) !== "\\") j++;
    return j;
  }

  #step(c: string): void {
    if (this.#mode === "content") return this.#contentStep(c);
    if (this.#mode === "args") return this.#argsStep(c);
    this.#held += c;
    switch (this.#mode) {
      case "open": {
        const step = this.#seq?.step(c) ?? "error";
        if (step === "done") this.#startName();
        else if (step === "error") this.#fail(c);
        return;
      }
      case "name":
      case "callId":
        return this.#nameStep(c);
      case "nameClose":
        return this.#nameCloseStep(c);
      case "argsStart":
        return this.#argsStartStep(c);
      case "after":
        return this.#afterStep(c);
    }
  }

  #contentStep(c: string): void {
    const trigger = this.#content.step(c);
    if (trigger !== undefined) this.#startSection(trigger);
  }

  #startSection(trigger: string): void {
    this.#heldWs = this.#content.takeLeadingWhitespace();
    this.#afterCall = false;
    if (this.#alternatives.has(trigger)) {
      this.#held = trigger;
      return this.#expect(this.#altOpenPieces);
    }
    this.#held = "";
    this.#expect(this.#openPieces);
    // No opening markup (Functionary v3.2: the trigger is the separator `>>>`): the trigger opened it.
    if (this.#openPieces.length === 0) return;
    for (let i = 0; i < trigger.length; i++) this.#step(trigger.charAt(i));
  }

  /** Matches `pieces` next (a call's opening markup), or reads the name at once when there are none. */
  #expect(pieces: readonly string[]): void {
    if (pieces.length === 0) return this.#startName();
    this.#mode = "open";
    this.#seq = new PieceSequence(pieces);
  }

  #startName(): void {
    this.#mode = "name";
    this.#nameText = "";
  }

  /** A name or call-id character; the first other character ends it and is read as what follows. */
  #nameStep(c: string): void {
    if (isNameChar(c)) {
      this.#nameText += c;
      if (this.#nameText.length > MAX_NAME_LENGTH) this.#fail(c);
      return;
    }
    if (this.#nameText === "" && isJsonWhitespace(c)) return;
    if (this.#mode === "name") {
      const name = bareName(this.#syntax, this.#nameText);
      if (name === "") return this.#fail(c);
      this.#name = name;
      this.#idSeq = this.#idPieces.length === 0 ? undefined : new PieceSequence(this.#idPieces);
    } else if (this.#nameText === "") {
      return this.#fail(c);
    }
    this.#mode = "nameClose";
    // A `nameClose` of whitespace only (Functionary v3.2's "\n"): `c` ended the name and closes it.
    if (this.#closePieces.length === 0) return this.#nameClosed(isJsonWhitespace(c) ? undefined : c);
    this.#seq = new PieceSequence(this.#closePieces);
    this.#nameCloseStep(c);
  }

  /** The name and its `nameClose` were read; `c`, if any, is the character after them. */
  #nameClosed(c: string | undefined): void {
    if (this.#name === this.#syntax.contentName) {
      this.#toContent();
      if (c !== undefined) this.#contentStep(c);
      return;
    }
    this.#mode = "argsStart";
    if (c !== undefined) this.#argsStartStep(c);
  }

  #argsStartStep(c: string): void {
    if (isJsonWhitespace(c)) return;
    if (c !== "{") return this.#fail(c);
    this.#startCall();
    this.#mode = "args";
    this.#args = new JsonValueScanner();
    this.#args.step(c);
    this.#emit("arguments", c);
  }

  #nameCloseStep(c: string): void {
    const close = this.#seq?.step(c) ?? "error";
    const id = this.#idSeq?.step(c) ?? "error";
    if (close === "done") return this.#nameClosed(undefined);
    if (id === "done") {
      this.#mode = "callId";
      this.#nameText = "";
      this.#idSeq = undefined;
      return;
    }
    if (close === "error") this.#seq = undefined;
    if (id === "error") this.#idSeq = undefined;
    if (this.#seq === undefined && this.#idSeq === undefined) this.#fail(c);
  }

  #argsStep(c: string): void {
    const step = this.#args.step(c);
    if (step === "error") {
      // The call stands as emitted; the offending character starts content.
      this.#endSection();
      return this.#contentStep(c);
    }
    this.#emit("arguments", c);
    if (step === "done") this.#callEnded();
  }

  /** The arguments object ended: its `callClose` follows (tolerated when missing). */
  #callEnded(): void {
    this.#held = "";
    this.#afterCall = true;
    this.#mode = "after";
    if (!this.#tail.start()) this.#endSection();
  }

  /** After a call: the rest of it, the next call or the section's end (call-tail.ts); `c` is held already. */
  #afterStep(c: string): void {
    const step = this.#tail.step(c);
    if (step === "error") return this.#fail(c);
    if (step === "call") return this.#startName();
    if (step !== "more") this.#held = ""; // markup, whatever follows
    if (step === "ended") this.#endSection();
  }

  /** Leaves the section: whitespace that follows is dropped too. */
  #endSection(): void {
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = this.#idSeq = undefined;
    this.#content.sectionEnded();
  }

  /** A part addressed to `contentName`: its markup is dropped and its text is content. */
  #toContent(): void {
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = this.#idSeq = undefined;
  }

  /** `c` broke the markup before a call of it was emitted: the held text is content after all. */
  #fail(c: string): void {
    const held = this.#held.slice(0, -1);
    const ws = this.#heldWs;
    const afterCall = this.#afterCall;
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = this.#idSeq = undefined;
    this.#content.releaseMarkup(held, ws, afterCall);
    this.#contentStep(c);
  }

  #startCall(): void {
    this.#callIndex = this.#nextIndex++;
    this.#held = this.#heldWs = "";
    this.#content.callStarted();
    this.#parts.call(this.#callIndex, this.#name);
  }

  #emit(kind: "content" | "arguments", text: string): void {
    this.#parts.emit(kind, text, this.#callIndex);
  }

  #take(): ParsedPart[] {
    return this.#parts.take();
  }
}
