/**
 * Keeps grammar-constrained output valid UTF-8.
 *
 * llama.cpp's grammar engine decodes token bytes leniently: a stray continuation byte, a lead byte
 * followed by ASCII, an overlong or surrogate encoding all pass as some code point, so a
 * constrained model could still emit bytes that are not UTF-8 (and a JSON string with U+FFFD in it
 * breaks `maxLength` or `pattern`). The guard follows the bytes generated so far and, before each
 * token, bans (via the sampler's token bias) every token whose bytes would make the text invalid.
 *
 * UTF-8 state between tokens: how many continuation bytes are still due, and the allowed range of
 * the next one (narrower after E0, ED, F0 and F4, per RFC 3629).
 */
import type { Vocabulary } from "./vocabulary.ts";

interface State {
  readonly need: number;
  readonly low: number;
  readonly high: number;
}

const START: State = { need: 0, low: 0x80, high: 0xbf };

/** Feeds one byte; undefined if it makes the sequence invalid. */
function step(state: State, byte: number): State | undefined {
  if (state.need > 0) {
    if (byte < state.low || byte > state.high) return undefined;
    return { need: state.need - 1, low: 0x80, high: 0xbf };
  }
  if (byte < 0x80) return START;
  if (byte >= 0xc2 && byte <= 0xdf) return { need: 1, low: 0x80, high: 0xbf };
  if (byte === 0xe0) return { need: 2, low: 0xa0, high: 0xbf };
  if (byte === 0xed) return { need: 2, low: 0x80, high: 0x9f };
  if (byte >= 0xe1 && byte <= 0xef) return { need: 2, low: 0x80, high: 0xbf };
  if (byte === 0xf0) return { need: 3, low: 0x90, high: 0xbf };
  if (byte === 0xf4) return { need: 3, low: 0x80, high: 0x8f };
  if (byte >= 0xf1 && byte <= 0xf3) return { need: 3, low: 0x80, high: 0xbf };
  return undefined; // 80–C1 without a lead, F5–FF
}

const key = (s: State) => `${s.need}:${s.low}:${s.high}`;

/** Per vocabulary: state key → tokens invalid from that state. Shared by all requests. */
const bansByVocabulary = new WeakMap<Vocabulary, Map<string, readonly number[]>>();

export class Utf8Guard {
  readonly #vocabulary: Vocabulary;
  readonly #invalid: Map<string, readonly number[]>;
  #state: State = START;

  constructor(vocabulary: Vocabulary) {
    this.#vocabulary = vocabulary;
    let shared = bansByVocabulary.get(vocabulary);
    if (shared === undefined) bansByVocabulary.set(vocabulary, (shared = new Map()));
    this.#invalid = shared;
  }

  /** Tokens that must not come next. */
  banned(): readonly number[] {
    const k = key(this.#state);
    let list = this.#invalid.get(k);
    if (list === undefined) {
      const out: number[] = [];
      for (let token = 0; token < this.#vocabulary.size; token++) {
        if (this.#vocabulary.isControl(token)) continue; // adds no text bytes
        if (this.#run(this.#state, this.#vocabulary.bytes(token)) === undefined) out.push(token);
      }
      list = out;
      this.#invalid.set(k, list);
    }
    return list;
  }

  /** Identifies the current state (for caching what depends on `banned()`). */
  stateKey(): string {
    return key(this.#state);
  }

  /** Advances past a generated token (control tokens add no bytes). */
  accept(token: number): void {
    if (this.#vocabulary.isControl(token)) return;
    this.#state = this.#run(this.#state, this.#vocabulary.bytes(token)) ?? START;
  }

  #run(state: State, bytes: Uint8Array): State | undefined {
    let current: State | undefined = state;
    for (const byte of bytes) {
      current = step(current, byte);
      if (current === undefined) return undefined;
    }
    return current;
  }
}
