/**
 * Streaming parser for tool calls whose arguments are one element per parameter (the
 * "xml-params" shape of syntax.ts): Qwen3-Coder's `<tool_call>\n<function=f>\n<parameter=city>\nOslo
 * \n</parameter>\n</function>\n</tool_call>`, GLM's `<tool_call>f<arg_key>city</arg_key><arg_value>
 * Oslo</arg_value></tool_call>`, MiniMax M2's `<invoke name="f"><parameter name="city">Oslo
 * </parameter></invoke>`. The arguments are written out as a JSON object,
 * `{"city": "Oslo", "days": 3}`. Same parts and guarantees as the other parsers, where they apply:
 *
 * - Content until a trigger, held back while it could still become one (content-reader.ts);
 *   markup never in content; JSON whitespace allowed before each markup piece and around names.
 * - A section is `sectionOpen call (separator call)* sectionClose`; a call is `callOpen`, the name,
 *   `nameClose`, parameters, then `callClose`, whose first piece ends the call (the rest, and
 *   `sectionClose`, may be missing). A parameter is `paramOpen`, its name, `paramNameClose`, the
 *   raw value, `paramClose`. The whitespace `paramNameClose` ends with and `paramClose` starts with
 *   is markup when present (lenient when the model leaves it out); the value ends at the first
 *   closing tag of `paramClose`.
 * - The `call` part comes (with `{`) once the first parameter opens or the call closes. Each
 *   value's key then follows as soon as the value begins. A value the schema types as a string
 *   (`parameterTypes`) streams as an escaped JSON string; any other value is converted when it is
 *   complete (xml-value.ts). The call's `}` comes when it ends.
 * - Calls are numbered 0, 1, 2… across the message; after a section, text is content again
 *   (whitespace right after it dropped) and a later trigger opens another section unless `anchored`.
 * - Malformed markup before a call of the section was emitted: the held text (from the trigger on)
 *   is released as content, scanning going on with the character that broke it. Malformed markup
 *   inside a call ends the call (its arguments closed), and the markup since the last parameter,
 *   without its leading whitespace, is content; between calls likewise.
 * - finish(): a held trigger prefix is content; a call whose name was complete gets its arguments
 *   closed: a value cut off ends with what was read (a held prefix of its closing tag dropped), a
 *   parameter cut off before its value is dropped, no parameters at all is "{}".
 *
 * Decisions depend only on the text so far, so any split gives the same parts; work is linear.
 */
import { isNameChar, MAX_NAME_LENGTH } from "./call-name.ts";
import { CallTail } from "./call-tail.ts";
import { ContentReader } from "./content-reader.ts";
import { isJsonWhitespace } from "./json-scanner.ts";
import { markerPieces, PieceSequence } from "./markup-matcher.ts";
import type { ParameterKind, ParameterTypes } from "./parameter-types.ts";
import { ParsedParts } from "./parsed-parts.ts";
import type { XmlParamsSyntax } from "./syntax.ts";
import type { ParsedPart, ToolCallParserOptions } from "./tool-call-parser.ts";
import { ValueReader } from "./xml-value.ts";

type Mode = "content" | "open" | "name" | "nameClose" | "params" | "paramName" | "paramNameClose" | "value" | "after";

/**
 * Markup cut into pieces (markerPieces) and further before each tag, so that whitespace may come
 * between two tags written back to back (`</arg_key><arg_value>`).
 */
function tagPieces(...markers: readonly string[]): string[] {
  return markerPieces(...markers).flatMap((piece) => piece.split(/(?=<)/));
}

/** Incremental parser for one generated message; see the file header for the rules. */
export class XmlCallParser {
  readonly #content: ContentReader;
  readonly #types: ParameterTypes;
  readonly #openPieces: string[];
  readonly #nameClosePieces: string[];
  readonly #paramOpenPieces: string[];
  readonly #paramNameClosePieces: string[];
  /** `jsonParamNameClose`'s pieces, when the family marks JSON values apart. */
  readonly #jsonNameClosePieces: string[] | undefined;
  readonly #callEndPieces: string[];
  readonly #tail: CallTail;
  readonly #value: ValueReader;

  #mode: Mode = "content";
  readonly #parts = new ParsedParts();
  #nextIndex = 0;
  #callIndex = -1;
  // Section and call.
  #held = "";
  #heldWs = "";
  #afterCall = false;
  #committed = false;
  #params = 0;
  /** Where the held text of the current parameter (or the call's end) begins. */
  #mark = 0;
  #seq: PieceSequence | undefined;
  #alt: PieceSequence | undefined;
  #nameText = "";
  #name = "";

  constructor(syntax: XmlParamsSyntax, options: ToolCallParserOptions = {}) {
    this.#content = new ContentReader([...syntax.triggers, ...syntax.alternativeTriggers], options.anchored ?? false, (text) => this.#emit("content", text));
    this.#types = options.parameterTypes ?? (() => undefined);
    this.#openPieces = tagPieces(syntax.sectionOpen, syntax.callOpen);
    this.#nameClosePieces = tagPieces(syntax.nameClose);
    this.#paramOpenPieces = tagPieces(syntax.paramOpen);
    this.#paramNameClosePieces = tagPieces(syntax.paramNameClose);
    this.#jsonNameClosePieces = syntax.jsonParamNameClose === undefined ? undefined : tagPieces(syntax.jsonParamNameClose);
    const callClose = tagPieces(syntax.callClose);
    this.#callEndPieces = callClose.slice(0, 1);
    this.#tail = new CallTail(callClose.slice(1), tagPieces(syntax.separator, syntax.callOpen), tagPieces(syntax.sectionClose));
    this.#value = new ValueReader(syntax);
  }

  /** Feeds newly generated text (any split); returns what can be emitted now. */
  push(text: string): ParsedPart[] {
    let i = 0;
    while (i < text.length) {
      const end = this.#plainRun(text, i);
      if (end > i) {
        if (this.#mode === "content") this.#emit("content", text.slice(i, end));
        else this.#emit("arguments", this.#value.text(text.slice(i, end)));
        i = end;
        continue;
      }
      this.#step(text.charAt(i));
      i++;
    }
    return this.#parts.take();
  }

  /** End of generation: flushes everything still held. */
  finish(): ParsedPart[] {
    switch (this.#mode) {
      case "content":
        this.#content.finish();
        break;
      case "params":
        if (!this.#committed) this.#commit();
        this.#emit("arguments", "}");
        break;
      case "paramName":
      case "paramNameClose":
        this.#emit("arguments", "}");
        break;
      case "value":
        this.#emit("arguments", `${this.#value.end()}}`);
        break;
      default:
        break; // markup that never made a call, or after a call: dropped
    }
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    return this.#parts.take();
  }

  /** End of the run of characters from `i` that are content or value text, unchanged; `i` when none. */
  #plainRun(text: string, i: number): number {
    if (this.#mode === "content") return this.#content.plainRun(text, i);
    return this.#mode === "value" ? this.#value.plainRun(text, i) : i;
  }

  #step(c: string): void {
    if (this.#mode === "content") return this.#contentStep(c);
    if (this.#mode === "value") return this.#valueStep(c);
    this.#held += c;
    switch (this.#mode) {
      case "open": {
        const step = this.#seq?.step(c) ?? "error";
        if (step === "done") this.#startName();
        else if (step === "error") this.#broken(c);
        return;
      }
      case "name":
      case "paramName":
        return this.#nameStep(c);
      case "nameClose":
      case "paramNameClose":
        return this.#nameCloseStep(c);
      case "params":
        return this.#paramsStep(c);
      case "after":
        return this.#afterStep(c);
    }
  }

  #contentStep(c: string): void {
    const trigger = this.#content.step(c);
    if (trigger === undefined) return;
    this.#heldWs = this.#content.takeLeadingWhitespace();
    this.#afterCall = false;
    this.#held = "";
    this.#mode = "open";
    this.#seq = new PieceSequence(this.#openPieces);
    for (let i = 0; i < trigger.length; i++) this.#step(trigger.charAt(i));
  }

  #startName(): void {
    this.#mode = "name";
    this.#nameText = "";
    this.#committed = false;
  }

  /** A function's or parameter's name character; the first other character ends the name and is read as what follows. */
  #nameStep(c: string): void {
    if (isNameChar(c)) {
      this.#nameText += c;
      if (this.#nameText.length > MAX_NAME_LENGTH) this.#broken(c);
      return;
    }
    if (this.#nameText === "") return isJsonWhitespace(c) ? undefined : this.#broken(c);
    const pieces = this.#mode === "name" ? this.#nameClosePieces : this.#paramNameClosePieces;
    if (this.#mode === "name") this.#name = this.#nameText;
    if (pieces.length === 0 && this.#mode === "paramName") {
      this.#startValue();
      return this.#valueStep(c);
    }
    if (pieces.length === 0) {
      this.#expectParams();
      this.#mark--; // `c` is read again as the start of what follows
      return this.#paramsStep(c);
    }
    this.#mode = this.#mode === "name" ? "nameClose" : "paramNameClose";
    this.#seq = new PieceSequence(pieces);
    this.#alt = this.#mode === "paramNameClose" && this.#jsonNameClosePieces !== undefined ? new PieceSequence(this.#jsonNameClosePieces) : undefined;
    this.#nameCloseStep(c);
  }

  /** The markup after a name; after a parameter's, the string or the JSON one (`#alt`) when the family has both. */
  #nameCloseStep(c: string): void {
    const step = this.#seq?.step(c) ?? "error";
    const json = this.#alt?.step(c) ?? "error";
    if (step === "done" && this.#mode === "nameClose") return this.#expectParams();
    if (step === "done") return this.#startValue(this.#jsonNameClosePieces === undefined ? undefined : "string");
    if (json === "done") return this.#startValue("json");
    if (step === "error") this.#seq = undefined;
    if (json === "error") this.#alt = undefined;
    if (this.#seq === undefined && this.#alt === undefined) this.#broken(c);
  }

  /** Next: a parameter, or the end of the call. */
  #expectParams(): void {
    this.#mode = "params";
    this.#mark = this.#held.length;
    this.#seq = new PieceSequence(this.#paramOpenPieces);
    this.#alt = new PieceSequence(this.#callEndPieces);
  }

  #paramsStep(c: string): void {
    const param = this.#seq?.step(c) ?? "error";
    const end = this.#alt?.step(c) ?? "error";
    if (param === "done") {
      if (!this.#committed) {
        const markup = this.#held.slice(this.#mark);
        this.#commit();
        this.#held = markup; // content, should this parameter turn out malformed
      }
      this.#mode = "paramName";
      this.#nameText = "";
      return;
    }
    if (end === "done") {
      if (!this.#committed) this.#commit();
      this.#emit("arguments", "}");
      return this.#callEnded();
    }
    if (param === "error") this.#seq = undefined;
    if (end === "error") this.#alt = undefined;
    if (this.#seq === undefined && this.#alt === undefined) this.#broken(c);
  }

  /** The value begins: its key is emitted, and a string's opening quote. `kind`: as the markup says, else by the schema. */
  #startValue(kind?: ParameterKind): void {
    const key = this.#nameText;
    const open = this.#value.start(kind ?? this.#types(this.#name, key));
    this.#emit("arguments", `${this.#params > 0 ? ", " : ""}${JSON.stringify(key)}: ${open}`);
    this.#params++;
    this.#held = "";
    this.#mode = "value";
  }

  #valueStep(c: string): void {
    this.#emit("arguments", this.#value.step(c));
    if (this.#value.ended) this.#expectParams();
  }

  /** The call ended: the rest of `callClose` may follow (tolerated when missing). */
  #callEnded(): void {
    this.#held = "";
    this.#afterCall = true;
    this.#committed = false;
    this.#mode = "after";
    if (!this.#tail.start()) this.#endSection();
  }

  /** After a call: the rest of it, the next call or the section's end (call-tail.ts); `c` is held already. */
  #afterStep(c: string): void {
    const step = this.#tail.step(c);
    if (step === "error") return this.#broken(c);
    if (step === "call") return this.#startName();
    if (step !== "more") this.#held = ""; // markup, whatever follows
    if (step === "ended") this.#endSection();
  }

  /** Leaves the section: whitespace that follows is dropped too. */
  #endSection(): void {
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = this.#alt = undefined;
    this.#content.sectionEnded();
  }

  /**
   * `c` broke the markup. Inside a call, the call ends there (its arguments closed). The held
   * text is content after all: all of it, from the trigger on, when no call of the section was
   * emitted; else without its leading whitespace.
   */
  #broken(c: string): void {
    if (this.#committed) {
      this.#emit("arguments", "}");
      this.#committed = false;
      this.#afterCall = true;
    }
    const held = this.#held.slice(0, -1);
    const ws = this.#heldWs;
    const afterCall = this.#afterCall;
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = this.#alt = undefined;
    this.#content.releaseMarkup(held, ws, afterCall);
    this.#contentStep(c);
  }

  #commit(): void {
    this.#callIndex = this.#nextIndex++;
    this.#held = this.#heldWs = "";
    this.#committed = true;
    this.#params = 0;
    this.#content.callStarted();
    this.#parts.call(this.#callIndex, this.#name);
    this.#emit("arguments", "{");
  }

  #emit(kind: "content" | "arguments", text: string): void {
    this.#parts.emit(kind, text, this.#callIndex);
  }
}
