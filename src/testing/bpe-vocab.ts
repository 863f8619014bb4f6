/**
 * A byte-level BPE vocabulary (GPT-2 style) for the test model, trained here with our own code.
 *
 * Why trained rather than borrowed: the project has no tokenizer-data dependency, and a small
 * vocabulary (~2k tokens) trained on our own text (bpe-corpus.ts, written for this project)
 * keeps the model file tiny while still tokenizing English, JSON and code sensibly
 * (" the", " and", "\":", ...). Training is fully deterministic: same corpus + same target
 * size => same tokens and merges, in the same order, on every machine.
 *
 * How it matches llama.cpp's "gpt2" tokenizer with pre-tokenizer "gpt-2":
 *  - text is split with the GPT-2 pre-tokenizer regex, and each piece's UTF-8 bytes are
 *    mapped to printable characters with the GPT-2 byte-to-unicode table (space -> "Ġ",
 *    newline -> "Ċ"); all 256 byte tokens are in the vocabulary, so any text is encodable;
 *  - merges are stored as "left right" strings in priority order (rank 0 first), each merge's
 *    result is a token in the vocabulary, and both sides of every merge are tokens that exist
 *    before it (so the merge list is consistent with the token list).
 */
import { BPE_TRAINING_CORPUS } from "./bpe-corpus.ts";

/** GPT-2 pre-tokenizer (the split llama.cpp applies for `tokenizer.ggml.pre = "gpt-2"`). */
export const GPT2_PRETOKENIZER_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** A trained byte-level BPE vocabulary (without special tokens). */
export interface BpeVocab {
  /** Token strings in byte-level form; ids 0..255 are the single bytes 0..255, merged tokens follow. */
  readonly tokens: readonly string[];
  /** Merge rules "left right", highest priority first. */
  readonly merges: readonly string[];
}

export interface BpeTrainingOptions {
  /** Number of tokens to produce, byte tokens included (default 2039: with the test model's 9 special tokens, 2048 in all). */
  readonly size?: number;
  /** Training text (default: BPE_TRAINING_CORPUS). */
  readonly corpus?: string;
}

let byteTable: readonly string[] | undefined;

/** GPT-2's byte-to-unicode table: entry b is the printable character standing for byte b. */
export function bytesToUnicode(): readonly string[] {
  if (byteTable !== undefined) return byteTable;
  const table: string[] = new Array<string>(256);
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  }
  byteTable = table;
  return table;
}

/** Converts text to its byte-level form (each UTF-8 byte replaced by its table character). */
export function toByteLevel(text: string): string {
  const table = bytesToUnicode();
  let out = "";
  for (const b of Buffer.from(text, "utf8")) out += table[b];
  return out;
}

let byteInverse: Map<string, number> | undefined;

/** The bytes a byte-level string stands for. Throws on characters that are not byte-level characters. */
export function byteLevelToBytes(text: string): Buffer {
  byteInverse ??= new Map<string, number>(bytesToUnicode().map((ch, b) => [ch, b]));
  const bytes: number[] = [];
  for (const ch of text) {
    const b = byteInverse.get(ch);
    if (b === undefined) throw new Error(`not a byte-level character: ${JSON.stringify(ch)}`);
    bytes.push(b);
  }
  return Buffer.from(bytes);
}

/** Inverse of toByteLevel (invalid UTF-8 decodes to U+FFFD). */
export function fromByteLevel(text: string): string {
  return byteLevelToBytes(text).toString("utf8");
}

interface Word {
  symbols: number[];
  readonly count: number;
}

const PAIR_BASE = 1 << 20; // token ids stay well below this

/** Trains a byte-level BPE vocabulary. Deterministic; ties between equally frequent pairs go to the lowest (left, right) ids. */
export function trainBpeVocab(options: BpeTrainingOptions = {}): BpeVocab {
  const size = options.size ?? 2039;
  const corpus = options.corpus ?? BPE_TRAINING_CORPUS;
  if (size < 256 || size >= PAIR_BASE) throw new Error(`vocabulary size ${size} out of range`);

  const table = bytesToUnicode();
  const tokens: string[] = [...table];
  const tokenIds = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const merges: string[] = [];

  const wordCounts = new Map<string, number>();
  for (const match of corpus.matchAll(GPT2_PRETOKENIZER_REGEX)) {
    wordCounts.set(match[0], (wordCounts.get(match[0]) ?? 0) + 1);
  }
  const words: Word[] = [...wordCounts].map(([w, count]) => ({ symbols: [...Buffer.from(w, "utf8")], count }));

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const account = (wordIndex: number, sign: 1 | -1): void => {
    const word = words[wordIndex];
    if (word === undefined) return;
    for (let i = 0; i + 1 < word.symbols.length; i++) {
      const key = (word.symbols[i] ?? 0) * PAIR_BASE + (word.symbols[i + 1] ?? 0);
      const next = (pairCounts.get(key) ?? 0) + sign * word.count;
      if (next > 0) pairCounts.set(key, next);
      else pairCounts.delete(key);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(wordIndex);
      }
    }
  };
  words.forEach((_, i) => account(i, 1));

  while (tokens.length < size) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey < 0) break; // corpus exhausted
    const left = Math.floor(bestKey / PAIR_BASE);
    const right = bestKey % PAIR_BASE;
    const merged = (tokens[left] ?? "") + (tokens[right] ?? "");
    let mergedId = tokenIds.get(merged);
    if (mergedId === undefined) {
      mergedId = tokens.length;
      tokens.push(merged);
      tokenIds.set(merged, mergedId);
    }
    merges.push(`${tokens[left]} ${tokens[right]}`);

    for (const wordIndex of pairWords.get(bestKey) ?? []) {
      const word = words[wordIndex];
      if (word === undefined) continue;
      account(wordIndex, -1);
      const out: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          out.push(mergedId);
          i++;
        } else {
          out.push(word.symbols[i] ?? 0);
        }
      }
      word.symbols = out;
      account(wordIndex, 1);
    }
    pairWords.delete(bestKey);
    pairCounts.delete(bestKey);
  }
  return { tokens, merges };
}

let defaultVocab: BpeVocab | undefined;

/** The default vocabulary (trained once per process and memoized). */
export function defaultBpeVocab(): BpeVocab {
  defaultVocab ??= trainBpeVocab();
  return defaultVocab;
}

/**
 * Reference encoder: splits with the GPT-2 regex and applies merges by rank, the way
 * llama.cpp's BPE tokenizer does. Returns ids into `vocab.tokens`. Useful for checking that
 * llama.cpp tokenizes our vocabulary the way we expect.
 */
export function bpeEncode(vocab: BpeVocab, text: string): number[] {
  const ranks = new Map<string, number>(vocab.merges.map((m, i) => [m, i]));
  const ids = new Map<string, number>(vocab.tokens.map((t, i) => [t, i]));
  const out: number[] = [];
  for (const match of text.matchAll(GPT2_PRETOKENIZER_REGEX)) {
    const symbols = [...toByteLevel(match[0])];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      symbols.splice(best, 2, (symbols[best] ?? "") + (symbols[best + 1] ?? ""));
    }
    for (const s of symbols) {
      const id = ids.get(s);
      if (id === undefined) throw new Error(`BPE produced unknown symbol ${JSON.stringify(s)}`);
      out.push(id);
    }
  }
  return out;
}
