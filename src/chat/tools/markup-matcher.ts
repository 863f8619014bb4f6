/**
 * The two text matchers behind the streaming tool-call parser (tool-call-parser.ts):
 *
 * - TriggerMatcher finds trigger texts in streamed content, one character at a time, holding back
 *   the longest tail that could still become one (the stop-matcher.ts idea, incrementally).
 * - PieceSequence matches tool-call markup (`[TOOL_CALLS][`, `</tool_call>`, `, `, …) leniently:
 *   the markup is cut into pieces (see markerPieces) and JSON whitespace may surround each piece.
 */
import { isJsonWhitespace } from "./json-scanner.ts";

/** Finds the first complete trigger in text fed one character at a time. */
export class TriggerMatcher {
  readonly #triggers: readonly string[];
  readonly #firstChars: ReadonlySet<string>;
  #prefix = "";
  /** The trigger completed by the last step, if any. */
  matched: string | undefined;

  constructor(triggers: readonly string[]) {
    this.#triggers = [...new Set(triggers.filter((t) => t.length > 0))];
    this.#firstChars = new Set(this.#triggers.map((t) => t.charAt(0)));
  }

  /** The held-back text: the longest tail of the input that is a proper prefix of a trigger. */
  get prefix(): string {
    return this.#prefix;
  }

  /** True when `c` can begin a trigger. */
  startsTrigger(c: string): boolean {
    return this.#firstChars.has(c);
  }

  /**
   * Feeds one character; returns the text released (it can no longer belong to a trigger). When a
   * trigger completes, `matched` is set, the text before it is released and the trigger itself is not.
   */
  step(c: string): string {
    this.matched = undefined;
    if (this.#prefix === "" && !this.#firstChars.has(c)) return c;
    const text = this.#prefix + c;
    let best: string | undefined;
    for (const trigger of this.#triggers) {
      if (text.endsWith(trigger) && (best === undefined || trigger.length > best.length)) best = trigger;
    }
    if (best !== undefined) {
      this.matched = best;
      this.#prefix = "";
      return text.slice(0, text.length - best.length);
    }
    return this.restart(text);
  }

  /**
   * Starts over after `text`: holds its longest tail that could begin a trigger and returns the
   * rest. Triggers complete inside `text` are not looked for.
   */
  restart(text: string): string {
    let keep = 0;
    for (const trigger of this.#triggers) {
      for (let len = Math.min(trigger.length - 1, text.length); len > keep; len--) {
        if (text.endsWith(trigger.slice(0, len))) {
          keep = len;
          break;
        }
      }
    }
    this.#prefix = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** Takes the held-back text (at the end of the stream, or when triggers stop counting). */
  take(): string {
    const prefix = this.#prefix;
    this.#prefix = "";
    return prefix;
  }
}

const PUNCTUATION = "{}[]:,";

/**
 * Cuts markup texts into the pieces matched literally: whitespace separates pieces and is dropped,
 * and each JSON punctuation character is a piece of its own, so `{"tool_calls": [` becomes
 * `{`, `"tool_calls"`, `:`, `[` and also matches `{ "tool_calls":[`.
 */
export function markerPieces(...markers: readonly string[]): string[] {
  const pieces: string[] = [];
  for (const marker of markers) {
    let piece = "";
    for (const c of marker) {
      if (isJsonWhitespace(c) || PUNCTUATION.includes(c)) {
        if (piece !== "") pieces.push(piece);
        piece = "";
        if (!isJsonWhitespace(c)) pieces.push(c);
      } else {
        piece += c;
      }
    }
    if (piece !== "") pieces.push(piece);
  }
  return pieces;
}

/** Matches a list of pieces, one character at a time, with JSON whitespace allowed before each. */
export class PieceSequence {
  readonly #pieces: readonly string[];
  #piece = 0;
  #offset = 0;

  constructor(pieces: readonly string[]) {
    this.#pieces = pieces;
  }

  /** Feeds one character: "done" when it completes the last piece. */
  step(c: string): "more" | "done" | "error" {
    const piece = this.#pieces[this.#piece];
    if (piece === undefined) return "error";
    if (this.#offset === 0 && isJsonWhitespace(c)) return "more";
    if (piece.charAt(this.#offset) !== c) return "error";
    this.#offset++;
    if (this.#offset < piece.length) return "more";
    this.#piece++;
    this.#offset = 0;
    return this.#piece === this.#pieces.length ? "done" : "more";
  }
}
