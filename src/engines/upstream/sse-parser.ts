/**
 * An incremental parser for `text/event-stream` bodies (the WHATWG framing): bytes arrive in
 * arbitrary chunks (a line, or a multi-byte character, may be cut anywhere); complete events come
 * out as their `data` payloads. Comments (`: …`), `event:`, `id:` and `retry:` lines are ignored;
 * several `data:` lines of one event are joined with "\n"; CRLF, CR and LF all end lines.
 */

/** Default longest event (or unfinished line) accepted, in characters: 8 MiB. */
export const MAX_SSE_EVENT_CHARS = 8 * 1024 * 1024;

/** An event or line longer than the parser's limit: the stream is not a sane event stream. */
export class SseEventTooLarge extends Error {
  constructor(limit: number) {
    super(`an event-stream event is longer than ${limit} characters`);
    this.name = "SseEventTooLarge";
  }
}

export class SseParser {
  readonly #decoder = new TextDecoder("utf-8", { fatal: false });
  readonly #maxChars: number;
  /** Characters in `#data`. */
  #dataChars = 0;

  /** @param maxEventChars longest event or unfinished line accepted (default MAX_SSE_EVENT_CHARS); beyond it `push` throws SseEventTooLarge. */
  constructor(maxEventChars = MAX_SSE_EVENT_CHARS) {
    this.#maxChars = maxEventChars;
  }
  /** Text after the last complete line. */
  #partial = "";
  /** The `data` lines of the event being read. */
  #data: string[] = [];
  /** A CR ended the previous chunk: a LF starting the next one belongs to it. */
  #pendingCr = false;

  /** Feeds bytes (or text); returns the `data` of every event completed by them, in order. */
  push(chunk: Uint8Array | string): string[] {
    let text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (this.#pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.#pendingCr = false;
    const events: string[] = [];
    // Only the new text can hold a line break: the old partial line had none.
    let buffer = this.#partial + text;
    let start = 0;
    for (let i = this.#partial.length; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(buffer.slice(start, i), events);
      if (c === 13) {
        if (i + 1 === buffer.length) this.#pendingCr = true;
        else if (buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
    this.#partial = buffer;
    if (this.#partial.length + this.#dataChars > this.#maxChars) throw new SseEventTooLarge(this.#maxChars);
    return events;
  }

  /** True when bytes of an unfinished line or event are buffered (the stream was cut short). */
  get incomplete(): boolean {
    return this.#partial !== "" || this.#data.length > 0;
  }

  /**
   * The end of the body: an event still open (no blank line after it) is dispatched, as browsers
   * do not, but lenient servers need (returns its data, if any).
   */
  end(): string[] {
    const events: string[] = [];
    const tail = this.#partial + this.#decoder.decode();
    this.#partial = "";
    if (tail !== "") this.#line(tail, events);
    if (this.#data.length > 0) this.#line("", events);
    return events;
  }

  #line(line: string, events: string[]): void {
    if (line === "") {
      if (this.#data.length > 0) events.push(this.#data.join("\n"));
      this.#data = [];
      this.#dataChars = 0;
      return;
    }
    if (line.startsWith(":")) return; // comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.#data.push(value);
    this.#dataChars += value.length + 1;
    if (this.#dataChars > this.#maxChars) throw new SseEventTooLarge(this.#maxChars);
  }
}
