/**
 * Streaming parser for tool calls whose arguments are keyword arguments with literal values (the
 * "literal-args" shape of syntax.ts): LFM2's `<|tool_call_start|>[get_weather(city="Oslo",
 * days=3), get_time()]<|tool_call_end|>`, Gemma 4's `<|tool_call>call:get_weather{city:<|"|>Oslo
 * <|"|>,days:3}<tool_call|>`. The arguments are written out as a JSON object, `{"city": "Oslo",
 * "days": 3}`. Same parts and guarantees as the other parsers, where they apply:
 *
 * - Content until a trigger, held back while it could still become one (content-reader.ts);
 *   markup never in content; JSON whitespace allowed before each markup piece and around names.
 * - A section is `sectionOpen call (separator call)* sectionClose`; a call is `callOpen`, the name,
 *   `argumentsOpen`, `key keyValueSeparator value` separated by commas (a trailing one allowed),
 *   `argumentsClose`, which ends the call, then `callClose`, which may be missing, like
 *   `sectionClose`. Keys are bare words. Values are literals (literal-value.ts); a value the
 *   schema types as a string (`parameterTypes`) may be a bare word too, then it is its text.
 * - The `call` part comes (with `{`) once the first `key=` is read or the arguments close. Each
 *   value's key then follows as soon as the value begins; strings stream as they come, bare words
 *   when they end. The call's `}` comes when it ends.
 * - Calls are numbered 0, 1, 2… across the message; after a section, text is content again
 *   (whitespace right after it dropped) and a later trigger opens another section unless `anchored`.
 * - Malformed markup before a call of the section was emitted: the held text (from the trigger on)
 *   is released as content, scanning going on with the character that broke it. Malformed text
 *   inside a call ends the call (its arguments closed, an open value closed as read so far), and
 *   the markup since the last value, without its leading whitespace, is content; between calls
 *   likewise.
 * - finish(): a held trigger prefix is content (after a call too); a call whose `argumentsOpen` was read gets its
 *   arguments closed: a value cut off ends with what was read, a key cut off before its value is
 *   dropped, no arguments at all is "{}". Other held markup is dropped.
 *
 * Decisions depend only on the text so far, so any split gives the same parts; work is linear.
 */
import { isNameChar, MAX_NAME_LENGTH } from "./call-name.ts";
import { ContentReader } from "./content-reader.ts";
import { isJsonWhitespace, trimJsonWhitespaceStart } from "./json-scanner.ts";
import { isBareChar, LiteralValueReader } from "./literal-value.ts";
import { CallTail } from "./call-tail.ts";
import { markerPieces, PieceSequence } from "./markup-matcher.ts";
import type { ParameterTypes } from "./parameter-types.ts";
import { ParsedParts } from "./parsed-parts.ts";
import type { LiteralArgsSyntax } from "./syntax.ts";
import type { ParsedPart, ToolCallParserOptions } from "./tool-call-parser.ts";

type Mode = "content" | "open" | "name" | "argsOpen" | "args" | "key" | "keySep" | "value" | "afterValue" | "after";

/** Incremental parser for one generated message; see the file header for the rules. */
export class LiteralCallParser {
  readonly #syntax: LiteralArgsSyntax;
  readonly #content: ContentReader;
  readonly #types: ParameterTypes;
  readonly #openPieces: string[];
  readonly #argsOpenPieces: string[];
  readonly #argsClose: string;
  readonly #keySepPieces: string[];
  readonly #tail: CallTail;

  #mode: Mode = "content";
  readonly #parts = new ParsedParts();
  #nextIndex = 0;
  #callIndex = -1;
  /** Markup read since the section, call or last value began (content, should it turn out malformed). */
  #held = "";
  #heldWs = "";
  #afterCall = false;
  #committed = false;
  #args = 0;
  /** Where the held text after `argumentsOpen` begins. */
  #mark = 0;
  #seq: PieceSequence | undefined;
  #name = "";
  #key = "";
  #value: LiteralValueReader | undefined;

  constructor(syntax: LiteralArgsSyntax, options: ToolCallParserOptions = {}) {
    this.#syntax = syntax;
    this.#content = new ContentReader([...syntax.triggers, ...syntax.alternativeTriggers], options.anchored ?? false, (text) => this.#emit("content", text));
    this.#types = options.parameterTypes ?? (() => undefined);
    this.#openPieces = markerPieces(syntax.sectionOpen, syntax.callOpen);
    this.#argsOpenPieces = markerPieces(syntax.argumentsOpen);
    this.#argsClose = syntax.argumentsClose.trim();
    this.#keySepPieces = markerPieces(syntax.keyValueSeparator);
    this.#tail = new CallTail(markerPieces(syntax.callClose), markerPieces(syntax.separator, syntax.callOpen), markerPieces(syntax.sectionClose));
  }

  /** Feeds newly generated text (any split); returns what can be emitted now. */
  push(text: string): ParsedPart[] {
    let i = 0;
    while (i < text.length) {
      if (this.#mode === "content") {
        const end = this.#content.plainRun(text, i);
        if (end > i) {
          this.#emit("content", text.slice(i, end));
          i = end;
          continue;
        }
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
      case "args":
      case "key":
      case "keySep":
        if (!this.#committed) this.#commit();
        this.#emit("arguments", "}");
        break;
      case "value":
        this.#value?.finish();
        this.#emit("arguments", "}");
        break;
      case "afterValue":
        this.#emit("arguments", "}");
        break;
      case "after": {
        // After a call, the beginning of a trigger is content, as it would be outside a section.
        const text = trimJsonWhitespaceStart(this.#held);
        if (text !== "" && this.#syntax.triggers.some((t) => t.startsWith(text))) this.#emit("content", text);
        break;
      }
      default:
        break; // markup that never made a call, or after a call: dropped
    }
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#value = undefined;
    return this.#parts.take();
  }

  #step(c: string): void {
    switch (this.#mode) {
      case "content":
        return this.#contentStep(c);
      case "open":
        return this.#sequenceStep(c, () => this.#startName());
      case "name":
        return this.#nameStep(c);
      case "argsOpen":
        return this.#sequenceStep(c, () => this.#expectArgs());
      case "args":
        return this.#argsStep(c);
      case "key":
        return this.#keyStep(c);
      case "keySep":
        return this.#sequenceStep(c, () => this.#startValue());
      case "value":
        return this.#valueStep(c);
      case "afterValue":
        return this.#afterValueStep(c);
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

  /** Markup matched by `#seq`: `then` when it is complete. */
  #sequenceStep(c: string, then: () => void): void {
    const step = this.#seq?.step(c) ?? "error";
    if (step === "error") return this.#broken(c);
    this.#held += c;
    if (step === "done") then();
  }

  #startName(): void {
    this.#mode = "name";
    this.#name = "";
    this.#committed = false;
  }

  /** A name character; the first other character ends the name and is read as what follows. */
  #nameStep(c: string): void {
    if (isNameChar(c) && c !== ":") {
      if (this.#name.length >= MAX_NAME_LENGTH) return this.#broken(c);
      this.#name += c;
      this.#held += c;
      return;
    }
    if (this.#name === "") {
      if (!isJsonWhitespace(c)) return this.#broken(c);
      this.#held += c;
      return;
    }
    this.#mode = "argsOpen";
    this.#seq = new PieceSequence(this.#argsOpenPieces);
    this.#step(c);
  }

  /** Next: an argument, or the end of the arguments. */
  #expectArgs(): void {
    this.#mode = "args";
    this.#args = 0;
    this.#mark = this.#held.length;
  }

  #argsStep(c: string): void {
    if (isJsonWhitespace(c)) {
      this.#held += c;
      return;
    }
    if (c === this.#argsClose) {
      if (!this.#committed) this.#commit();
      this.#emit("arguments", "}");
      return this.#callEnded();
    }
    if (!isBareChar(c, true)) return this.#broken(c);
    this.#mode = "key";
    this.#key = "";
    this.#keyStep(c);
  }

  #keyStep(c: string): void {
    if (isBareChar(c, true) && c !== this.#syntax.keyValueSeparator) {
      if (this.#key.length >= MAX_NAME_LENGTH) return this.#broken(c);
      this.#key += c;
      this.#held += c;
      return;
    }
    this.#mode = "keySep";
    this.#seq = new PieceSequence(this.#keySepPieces);
    this.#step(c);
  }

  /** The key and its separator were read: the call is made, if it was not, and a value follows. */
  #startValue(): void {
    if (!this.#committed) {
      const markup = this.#held.slice(this.#mark);
      this.#commit();
      this.#held = markup; // content, should this argument turn out malformed
    }
    const key = this.#key;
    const prefix = `${this.#args > 0 ? ", " : ""}${JSON.stringify(key)}: `;
    const bareString = this.#types(this.#name, key) === "string";
    this.#value = new LiteralValueReader(this.#syntax, (text) => this.#emit("arguments", text), { prefix, bareString });
    this.#mode = "value";
  }

  #valueStep(c: string): void {
    const value = this.#value;
    if (value === undefined) return;
    const before = value.started;
    const step = value.step(c);
    if (step === "error") {
      if (value.started) value.finish();
      return this.#broken(c);
    }
    if (!before && value.started) this.#held = "";
    else if (!value.started) this.#held += c;
    if (step === "more") return;
    this.#args++;
    this.#value = undefined;
    this.#held = "";
    this.#mode = "afterValue";
    if (step === "done-before") this.#afterValueStep(c);
  }

  #afterValueStep(c: string): void {
    if (isJsonWhitespace(c)) {
      this.#held += c;
      return;
    }
    if (c === ",") {
      this.#held += c;
      this.#mode = "args";
      return;
    }
    if (c !== this.#argsClose) return this.#broken(c);
    this.#emit("arguments", "}");
    this.#callEnded();
  }

  /** The call ended: the rest of it (`callClose`) may follow, tolerated when missing. */
  #callEnded(): void {
    this.#held = "";
    this.#afterCall = true;
    this.#committed = false;
    this.#mode = "after";
    if (!this.#tail.start()) this.#endSection();
  }

  /** After a call: the rest of it, the next call or the section's end (call-tail.ts). */
  #afterStep(c: string): void {
    const step = this.#tail.step(c);
    if (step === "error") return this.#broken(c);
    this.#held += c;
    if (step === "call") return this.#startName();
    if (step !== "more") this.#held = ""; // markup, whatever follows
    if (step === "ended") this.#endSection();
  }

  /** Leaves the section: whitespace that follows is dropped too. */
  #endSection(): void {
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = undefined;
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
    const held = this.#held;
    const ws = this.#heldWs;
    const afterCall = this.#afterCall;
    this.#mode = "content";
    this.#held = this.#heldWs = "";
    this.#seq = undefined;
    this.#value = undefined;
    this.#content.releaseMarkup(held, ws, afterCall);
    this.#contentStep(c);
  }

  #commit(): void {
    this.#callIndex = this.#nextIndex++;
    this.#held = this.#heldWs = "";
    this.#committed = true;
    this.#content.callStarted();
    this.#parts.call(this.#callIndex, this.#name);
    this.#emit("arguments", "{");
  }

  #emit(kind: "content" | "arguments", text: string): void {
    this.#parts.emit(kind, text, this.#callIndex);
  }
}
