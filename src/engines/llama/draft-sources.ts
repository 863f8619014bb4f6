/**
 * Where speculative drafts come from when no second model is loaded: pure token bookkeeping, no
 * llama.cpp. A draft is only a guess: llama.cpp evaluates it in one batch with the last real
 * token, and a drafted token is kept only when it equals the token the request's own sampler drew
 * at its position (speculative-steps.ts). A source only proposes tokens; draft-policy.ts decides
 * how many of them are worth that batch.
 *
 * - `PredictionDraft`: OpenAI's Predicted Outputs (`prediction`): the predicted text's tokens,
 *   followed while the output agrees with them. After a mismatch (the edit inserted, deleted or
 *   changed text) the last few generated tokens are looked up in the prediction, and drafting
 *   resumes right after where they occur, so the rest of an edited document is still drafted.
 * - `NgramDraft`: prompt lookup: the last n generated tokens are looked up in everything the
 *   sequence holds (prompt and output), and the tokens that followed their latest earlier
 *   occurrence are drafted (summaries, code edits and quotes repeat the input).
 */

/** One request's draft source on one sequence. */
export interface DraftSource {
  /** The sequence holds `state` now (prompt, and any output already generated). */
  reset(state: readonly number[]): void;
  /** Tokens appended to the sequence (generated, or forced in place of a generated one). */
  push(tokens: readonly number[]): void;
  /** At most `max` tokens expected next (empty: nothing worth drafting). */
  predict(max: number): number[] | Promise<number[]>;
  /** Drafting costs time of its own (a draft model), so ask for no more tokens than pay (default false). */
  readonly costly?: boolean;
  /** A costly source: milliseconds its last `predict` spent drafting (catching up with the state excluded). */
  readonly lastDraftMs?: number;
  /** The chance that a drafted token is kept, to start from (default: the caller's). */
  readonly prior?: number;
  /** The choice ended with these counts. */
  finish?(counts: { readonly accepted: number; readonly rejected: number }): void;
}

export interface PredictionDraftOptions {
  /** The prompt's length: state tokens past it are output. */
  readonly promptLength: number;
  /** Longest run of recent output tokens looked up to resynchronise after a mismatch (default 4). */
  readonly maxMatch?: number;
  /** Shortest run that resynchronises (default 2: one token matches too often by chance). */
  readonly minMatch?: number;
  /**
   * The prediction as text, to follow the output when it spells the predicted text with other
   * tokens than the prediction's own tokenization (a model may split a word differently): the rest
   * of the prediction is then tokenized again from where the output's bytes end. Absent: tokens only.
   */
  readonly text?: PredictionText;
}

/** The predicted text's bytes and the model's tokenizer. */
export interface PredictionText {
  readonly bytes: Uint8Array;
  /** A token's exact bytes. */
  tokenBytes(token: number): Uint8Array;
  /** Tokenizes text (no special tokens). */
  tokenize(text: string): number[];
}

/** Drafts from a predicted output (OpenAI `prediction`). */
export class PredictionDraft implements DraftSource {
  /** A prediction is the caller's word that the output largely repeats it. */
  readonly prior = 0.8;
  /** The prediction's own tokenization. */
  readonly #original: readonly number[];
  /** What `#cursor` indexes: the original tokens, or the rest of the text tokenized again. */
  #prediction: readonly number[];
  /** Where each original token's bytes start in the text (one more entry: the end). */
  readonly #starts: readonly number[] | undefined;
  readonly #text: PredictionText | undefined;
  /** Bytes of the predicted text the output has spelled so far; undefined once it departed from the text. */
  #byte: number | undefined = 0;
  readonly #promptLength: number;
  readonly #maxMatch: number;
  readonly #minMatch: number;
  #output: number[] = [];
  /** The prediction's index expected next; undefined while the output does not follow it. */
  #cursor: number | undefined = 0;
  /** Where the output last followed the prediction: resynchronising prefers matches after it. */
  #last = 0;

  constructor(prediction: readonly number[], options: PredictionDraftOptions) {
    this.#original = prediction;
    this.#prediction = prediction;
    this.#text = options.text;
    this.#starts = options.text === undefined ? undefined : byteStarts(prediction, options.text);
    this.#promptLength = options.promptLength;
    this.#maxMatch = Math.max(1, options.maxMatch ?? 4);
    this.#minMatch = Math.max(1, Math.min(this.#maxMatch, options.minMatch ?? 2));
  }

  /** The prediction's index expected next (undefined: not following it now). For tests and stats. */
  get cursor(): number | undefined {
    return this.#cursor;
  }

  reset(state: readonly number[]): void {
    this.#output = state.slice(this.#promptLength);
    this.#prediction = this.#original;
    this.#last = 0;
    this.#byte = 0;
    if (this.#output.length === 0) this.#cursor = 0;
    else {
      this.#byte = undefined;
      this.#cursor = this.#resync();
    }
  }

  push(tokens: readonly number[]): void {
    for (const token of tokens) {
      this.#output.push(token);
      const spelled = this.#spell(token);
      if (this.#cursor !== undefined && this.#prediction[this.#cursor] === token) {
        this.#cursor++;
        if (this.#prediction === this.#original) this.#last = this.#cursor;
      } else if (spelled) {
        this.#cursor = this.#retokenize();
      } else {
        this.#cursor = this.#resync();
      }
    }
  }

  /** Advances `#byte` over the token's bytes; false (and `#byte` undefined) when they depart from the text. */
  #spell(token: number): boolean {
    const text = this.#text;
    if (text === undefined || this.#byte === undefined) return false;
    const bytes = text.tokenBytes(token);
    const at = this.#byte;
    for (let i = 0; i < bytes.length; i++) {
      if (text.bytes[at + i] !== bytes[i]) {
        this.#byte = undefined;
        return false;
      }
    }
    this.#byte = at + bytes.length;
    return true;
  }

  /** The rest of the text from `#byte`, tokenized again (cursor 0 in it); undefined when `#byte` splits a character. */
  #retokenize(): number | undefined {
    const text = this.#text;
    const at = this.#byte;
    if (text === undefined || at === undefined || at >= text.bytes.length) return undefined;
    if ((text.bytes[at] ?? 0) >> 6 === 0b10) return undefined; // inside a UTF-8 sequence
    this.#prediction = text.tokenize(Buffer.from(text.bytes.buffer, text.bytes.byteOffset + at, text.bytes.length - at).toString("utf8"));
    return 0;
  }

  predict(max: number): number[] {
    if (this.#cursor === undefined || max <= 0) return [];
    return this.#prediction.slice(this.#cursor, this.#cursor + max);
  }

  /** The index after the longest recent output run found in the prediction (the first such after `#last`, else the latest). */
  #resync(): number | undefined {
    this.#prediction = this.#original;
    const longest = Math.min(this.#maxMatch, this.#output.length);
    for (let n = longest; n >= this.#minMatch; n--) {
      const at = findRun(this.#original, this.#output, this.#output.length - n, n, this.#last);
      if (at !== undefined) {
        this.#last = at + n;
        this.#byte = this.#starts?.[at + n];
        return at + n;
      }
    }
    this.#byte = undefined;
    return undefined;
  }
}

export interface NgramDraftOptions {
  /** Longest run of recent tokens looked up (≥ 1). */
  readonly ngram: number;
  /** Shortest run looked up (default min(2, ngram)). */
  readonly minNgram?: number;
  /** Fewest tokens worth drafting: a shorter continuation is not drafted (default 1). */
  readonly minDraft?: number;
}

/** Prompt-lookup drafting: the continuation of the latest earlier occurrence of the last n tokens. */
export class NgramDraft implements DraftSource {
  readonly #ngram: number;
  readonly #minNgram: number;
  readonly #minDraft: number;
  #history: number[] = [];

  constructor(options: NgramDraftOptions) {
    this.#ngram = Math.max(1, options.ngram);
    this.#minNgram = Math.max(1, Math.min(this.#ngram, options.minNgram ?? 2));
    this.#minDraft = Math.max(1, options.minDraft ?? 1);
  }

  reset(state: readonly number[]): void {
    this.#history = [...state];
  }

  push(tokens: readonly number[]): void {
    for (const token of tokens) this.#history.push(token);
  }

  predict(max: number): number[] {
    const history = this.#history;
    const longest = Math.min(this.#ngram, history.length - 1);
    for (let n = longest; n >= this.#minNgram; n--) {
      const at = findLatestRun(history, history.length - n, n);
      if (at === undefined) continue;
      const draft = history.slice(at + n, Math.min(at + n + max, history.length));
      return draft.length >= this.#minDraft ? draft : [];
    }
    return [];
  }
}

/** Where each token's bytes start in the text, and the end; undefined when the tokens do not spell it. */
function byteStarts(tokens: readonly number[], text: PredictionText): number[] | undefined {
  const starts = [0];
  let at = 0;
  for (const token of tokens) {
    at += text.tokenBytes(token).length;
    starts.push(at);
  }
  return at === text.bytes.length ? starts : undefined;
}

/**
 * Where `source[from .. from + n)` occurs in `haystack`: the first occurrence at or after `after`,
 * else the last one before it; undefined if none.
 */
export function findRun(haystack: readonly number[], source: readonly number[], from: number, n: number, after: number): number | undefined {
  let before: number | undefined;
  for (let i = 0; i + n <= haystack.length; i++) {
    if (!sameRun(haystack, i, source, from, n)) continue;
    if (i >= after) return i;
    before = i;
  }
  return before;
}

/** The latest start of `tokens[from .. from + n)` earlier in `tokens` (ending before `from + n - 1`). */
function findLatestRun(tokens: readonly number[], from: number, n: number): number | undefined {
  for (let i = from - 1; i >= 0; i--) if (sameRun(tokens, i, tokens, from, n)) return i;
  return undefined;
}

function sameRun(a: readonly number[], i: number, b: readonly number[], j: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}
