/**
 * Turns generated tokens into text safely: exact bytes from the vocabulary, a streaming UTF-8
 * decoder (a character split across tokens is emitted only once complete), stop-string matching,
 * and log-probability entries released together with the text they produced.
 */
import type { TokenLogprob } from "../../domain/events.ts";
import { StopMatcher } from "../../chat/stop-matcher.ts";
import type { Vocabulary } from "./vocabulary.ts";

export interface TextStep {
  /** Text that may be emitted now. */
  readonly text: string;
  /** Log-probability entries of the tokens whose text starts within what was emitted so far. */
  readonly logprobs: TokenLogprob[];
  /** A stop string was found: generation must end; `text` ends right before it. */
  readonly stopped: boolean;
}

export class TokenTextStream {
  readonly #vocabulary: Vocabulary;
  readonly #decoder = new TextDecoder("utf-8");
  readonly #matcher: StopMatcher;
  /** Entries waiting for their text to be emitted, with the offset where that text begins. */
  readonly #pending: { offset: number; entry: TokenLogprob }[] = [];
  readonly #shownControl: ReadonlySet<number> | "all";
  readonly #minTokens: number;
  readonly #spaceSpecial: boolean;
  #decodedLength = 0;
  #emittedLength = 0;
  #tokens = 0;
  /** What the last token decoded to: nothing yet, a shown control token, or ordinary text. */
  #last: "none" | "special" | "text" = "none";

  /**
   * @param options.shownControl control tokens whose text is kept: a set (tool-call markers) or
   *   "all" (`skip_special_tokens: false`); default none.
   * @param options.includeStop emit the stop string that ends the text (default false).
   * @param options.minTokens stop strings are matched only from this many tokens on (vLLM
   *   `min_tokens`; default 0).
   * @param options.spacesBetweenSpecial with `shownControl: "all"`, separate each shown control
   *   token from its neighbours by one space, as Hugging Face's and vLLM's
   *   `spaces_between_special_tokens` (default true) do; tool-call markers are never spaced.
   */
  constructor(
    vocabulary: Vocabulary,
    stops: readonly string[],
    options: { shownControl?: ReadonlySet<number> | "all" | undefined; includeStop?: boolean; minTokens?: number; spacesBetweenSpecial?: boolean } = {},
  ) {
    this.#vocabulary = vocabulary;
    this.#matcher = new StopMatcher(stops, options.includeStop ?? false);
    this.#shownControl = options.shownControl ?? new Set();
    this.#minTokens = options.minTokens ?? 0;
    this.#spaceSpecial = this.#shownControl === "all" && (options.spacesBetweenSpecial ?? true);
  }

  /** The stop string that ended the text, once one has. */
  get stopSequence(): string | undefined {
    return this.#matcher.matched;
  }

  /** Whether stop strings are matched yet (`min_tokens` tokens pushed). */
  get stopsActive(): boolean {
    return this.#tokens >= this.#minTokens;
  }

  /**
   * Adds a generated token. Control tokens add no content (OpenAI's and vLLM's
   * `skip_special_tokens` default), except those in `shownControl`, but still carry their logprob
   * entry.
   */
  push(token: number, entry: TokenLogprob | undefined): TextStep {
    this.#tokens++;
    if (entry !== undefined) this.#pending.push({ offset: this.#decodedLength, entry });
    const control = this.#vocabulary.isControl(token);
    const hidden = control && this.#shownControl !== "all" && !this.#shownControl.has(token);
    const bytes = hidden ? new Uint8Array() : this.#vocabulary.bytes(token);
    let decoded = this.#decoder.decode(bytes, { stream: true });
    if (this.#spaceSpecial && decoded !== "") {
      const kind = control ? "special" : "text";
      if (this.#last !== "none" && (kind === "special" || this.#last === "special")) decoded = ` ${decoded}`;
      this.#last = kind;
    }
    this.#decodedLength += decoded.length;
    const match = this.#matcher.push(decoded, this.stopsActive);
    return this.#emit(match.text, match.stopped);
  }

  /**
   * Ends without a stop string: flushes any held-back text and the remaining entries. An
   * incomplete character at the end becomes U+FFFD, or is dropped with `dropIncomplete`.
   */
  finish(dropIncomplete = false): TextStep {
    const tail = dropIncomplete ? "" : this.#decoder.decode();
    this.#decodedLength += tail.length;
    const text = this.#matcher.push(tail, this.stopsActive);
    if (text.stopped) return this.#emit(text.text, true);
    return this.#emit(text.text + this.#matcher.flush(), false, true);
  }

  #emit(text: string, stopped: boolean, all = false): TextStep {
    this.#emittedLength += text.length;
    const logprobs: TokenLogprob[] = [];
    while (this.#pending.length > 0) {
      const next = this.#pending[0];
      if (next === undefined || !(all || next.offset < this.#emittedLength)) break;
      logprobs.push(next.entry);
      this.#pending.shift();
    }
    if (stopped) this.#pending.length = 0;
    return { text, logprobs, stopped };
  }
}
