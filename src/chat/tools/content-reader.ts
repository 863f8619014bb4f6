/**
 * The content side of the streaming tool-call parsers (every call shape): passes text
 * through as content until a trigger completes, holding back what could still become one, and
 * keeps the rules about where a section may start:
 *
 * - whitespace at the very start of the message is held: it is dropped when a section follows,
 *   and content otherwise;
 * - right after a section, whitespace is dropped (`sectionEnded`);
 * - `anchored`: once the message has begun with content, or a call was made, triggers no longer
 *   count and everything is content.
 */
import { isJsonWhitespace, trimJsonWhitespaceStart } from "./json-scanner.ts";
import { TriggerMatcher } from "./markup-matcher.ts";

export class ContentReader {
  readonly #anchored: boolean;
  readonly #matcher: TriggerMatcher;
  readonly #emit: (text: string) => void;
  #triggersOn = true;
  #atStart = true;
  #leadingWs = "";
  #skipWs = false;

  /** @param emit receives content text, in order. */
  constructor(triggers: readonly string[], anchored: boolean, emit: (text: string) => void) {
    this.#anchored = anchored;
    this.#matcher = new TriggerMatcher(triggers);
    this.#emit = emit;
  }

  /** Feeds one character; returns the trigger it completes, if any (the text before it is emitted). */
  step(c: string): string | undefined {
    if (this.#skipWs) {
      if (isJsonWhitespace(c)) return undefined;
      this.#skipWs = false;
    }
    if (!this.#triggersOn) {
      this.#content(c);
      return undefined;
    }
    const released = this.#matcher.step(c);
    const trigger = this.#matcher.matched;
    if (released !== "") this.#content(released);
    if (!this.#triggersOn) {
      this.#content(this.#matcher.take() + (trigger ?? ""));
      return undefined;
    }
    return trigger;
  }

  /** End of the run of characters from `i` that `step` would emit unchanged, one by one (the caller emits them); `i` when none. */
  plainRun(text: string, i: number): number {
    if (this.#skipWs || this.#atStart) return i;
    if (!this.#triggersOn) return text.length;
    if (this.#matcher.prefix !== "") return i;
    let j = i;
    while (j < text.length && !this.#matcher.startsTrigger(text.charAt(j))) j++;
    return j;
  }

  /** The whitespace held at the start of the message, handed to a section that begins there. */
  takeLeadingWhitespace(): string {
    const ws = this.#leadingWs;
    this.#leadingWs = "";
    return ws;
  }

  /**
   * Markup that turned out malformed is content after all: from `from` on, its tail may still
   * begin a trigger (triggers complete inside it are not looked for again). With `dropWhitespace`,
   * whitespace that follows is dropped too (the text was all whitespace after a section).
   */
  release(text: string, from: number, dropWhitespace = false): void {
    this.#skipWs = dropWhitespace;
    if (!this.#triggersOn) return this.#content(text);
    this.#content(text.slice(0, from) + this.#matcher.restart(text.slice(from)));
    if (!this.#triggersOn) this.#content(this.#matcher.take());
  }

  /**
   * Markup that broke is content after all. `held`: the text held since the trigger (whitespace
   * held before it at the start of the message: `leadingWs`), released but for the trigger's first
   * character, where this attempt began; or, once a call of the section was emitted (`afterCall`),
   * the text held since that call, without its leading whitespace.
   */
  releaseMarkup(held: string, leadingWs: string, afterCall: boolean): void {
    if (afterCall) {
      const text = trimJsonWhitespaceStart(held);
      this.release(text, 0, text === "");
    } else {
      this.release(leadingWs + held, leadingWs.length + 1);
    }
  }

  /** A call was emitted: the message has begun. */
  callStarted(): void {
    this.#atStart = false;
    if (this.#anchored) this.#triggersOn = false;
  }

  /** A section ended: whitespace right after it is dropped. */
  sectionEnded(): void {
    this.#skipWs = true;
    if (this.#anchored) this.#triggersOn = false;
  }

  /** End of the message: what is still held (a trigger prefix, leading whitespace) is content. */
  finish(): void {
    const text = this.#leadingWs + this.#matcher.take();
    this.#leadingWs = "";
    if (text !== "") this.#emit(text);
  }

  /** Content text, through the leading-whitespace hold at the start of the message. */
  #content(text: string): void {
    if (text === "") return;
    if (this.#atStart) {
      if (trimJsonWhitespaceStart(text) === "") {
        this.#leadingWs += text;
        return;
      }
      text = this.#leadingWs + text;
      this.#leadingWs = "";
      this.#atStart = false;
      if (this.#anchored) this.#triggersOn = false;
    }
    this.#emit(text);
  }
}
