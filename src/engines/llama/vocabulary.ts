/**
 * Token id → exact bytes, read from the GGUF's own vocabulary.
 *
 * llama.cpp hands pieces to JavaScript as strings, which mangles tokens that hold part of a UTF-8
 * character. Parley needs the bytes (for `logprobs[].bytes` and to never emit half a character), so
 * it decodes the vocabulary itself for the two tokenizer families that cover nearly every GGUF:
 * byte-level BPE (`gpt2`: GPT-2's byte↔unicode mapping) and SentencePiece (`llama`: `▁` for space,
 * `<0xNN>` byte tokens). Other tokenizer models fall back to llama.cpp's own detokenizer.
 */

/** GGUF `tokenizer.ggml.token_type` values. */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface VocabularySource {
  /** `tokenizer.ggml.model` (e.g. "gpt2", "llama"). */
  readonly model: string;
  readonly tokens: readonly string[];
  readonly tokenTypes: readonly number[] | undefined;
  /** Fallback for tokenizer families not decoded here. */
  readonly detokenize: (token: number) => string;
  /**
   * Ids the model names as special (BOS, EOS, EOT, padding…). They are treated as control tokens
   * even when the GGUF types them as ordinary text, as some conversions do.
   */
  readonly specialTokenIds?: Iterable<number>;
}

const utf8 = new TextEncoder();

/**
 * Every token's bytes sit in one buffer (`offsets[id]` to `offsets[id + 1]`), decoded in one tight
 * pass at load: a 150k-token vocabulary costs a few tens of milliseconds and no per-token objects
 * (views are made on first use).
 */
export class Vocabulary {
  readonly size: number;
  /** Bytes of the longest token: no token covers more characters of text than this. */
  readonly maxTokenBytes: number;
  readonly #buffer: Uint8Array;
  readonly #offsets: Uint32Array;
  readonly #views: (Uint8Array | undefined)[];
  readonly #types: Uint8Array;

  constructor(source: VocabularySource) {
    const { tokens } = source;
    const size = tokens.length;
    this.size = size;
    const types = new Uint8Array(size);
    for (let id = 0; id < size; id++) types[id] = source.tokenTypes?.[id] ?? TokenType.normal;
    for (const id of source.specialTokenIds ?? []) if (id >= 0 && id < size) types[id] = TokenType.control;
    this.#types = types;

    const decode = pieceDecoder(source.model);
    // other tokenizer families: llama.cpp's detokenizer for every token that is not kept literally
    const pieces = decode === undefined ? tokens.map((text, id) => (isLiteral(types[id]) ? text : source.detokenize(id))) : tokens;
    let capacity = 0;
    for (const piece of pieces) capacity += piece.length * 3; // UTF-8 needs at most 3 bytes per UTF-16 unit
    let buffer = new Uint8Array(capacity);
    const offsets = new Uint32Array(size + 1);
    let end = 0;
    let longest = 1;
    for (let id = 0; id < size; id++) {
      const type = types[id] ?? TokenType.normal;
      const piece = pieces[id] ?? "";
      const written = isLiteral(type) || decode === undefined ? utf8.encodeInto(piece, buffer.subarray(end)).written : decode(piece, type, buffer, end);
      end += written;
      offsets[id + 1] = end;
      if (written > longest) longest = written;
    }
    if (end < buffer.length) buffer = buffer.slice(0, end);
    this.#buffer = buffer;
    this.#offsets = offsets;
    this.#views = new Array<Uint8Array | undefined>(size);
    this.maxTokenBytes = longest;
  }

  /** The token's bytes as it appears in text (control tokens: their literal text). */
  bytes(token: number): Uint8Array {
    if (!(token >= 0 && token < this.size)) return new Uint8Array();
    let view = this.#views[token];
    if (view === undefined) {
      view = this.#buffer.subarray(this.#offsets[token], this.#offsets[token + 1]);
      this.#views[token] = view;
    }
    return view;
  }

  /** Control tokens whose text is one of `texts` (e.g. tool-call markers such as `[TOOL_CALLS]`). */
  controlTokensWithText(texts: readonly string[]): Set<number> {
    const wanted = new Set(texts);
    const found = new Set<number>();
    if (wanted.size === 0) return found;
    const decoder = new TextDecoder();
    this.#types.forEach((type, id) => {
      if (type === TokenType.control && wanted.has(decoder.decode(this.bytes(id)))) found.add(id);
    });
    return found;
  }

  /**
   * Control and unknown tokens (BOS, EOS, chat markers, `<unk>`): skipped when detokenizing
   * content, as llama.cpp and Hugging Face's `skip_special_tokens` do.
   */
  isControl(token: number): boolean {
    const type = this.#types[token];
    return type === TokenType.control || type === TokenType.unknown;
  }
}

/** Tokens whose bytes are their text as it stands: control, user-defined and unknown tokens. */
function isLiteral(type: number | undefined): boolean {
  return type === TokenType.control || type === TokenType.userDefined || type === TokenType.unknown;
}

/** Writes a piece's bytes into `out` at `at`; returns how many (room for 3 per UTF-16 unit is there). */
type PieceDecoder = (text: string, type: number, out: Uint8Array, at: number) => number;

const QUESTION_MARK = 0x3f;
const SPACE = 0x20;

function pieceDecoder(model: string): PieceDecoder | undefined {
  if (model === "gpt2") {
    const toByte = unicodeToByte();
    return (text, _type, out, at) => {
      let n = 0;
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        const byte = code < toByte.length ? (toByte[code] ?? -1) : -1;
        out[at + n++] = byte < 0 ? QUESTION_MARK : byte;
        // a character outside the table becomes one "?", even when it takes two UTF-16 units
        if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
          const next = text.charCodeAt(i + 1);
          if (next >= 0xdc00 && next < 0xe000) i++;
        }
      }
      return n;
    };
  }
  if (model === "llama") {
    return (text, type, out, at) => {
      if (type === TokenType.byte) {
        const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
        if (byte?.[1] !== undefined) {
          out[at] = parseInt(byte[1], 16);
          return 1;
        }
      }
      // "▁" (U+2581, bytes E2 96 81) stands for a space: encode, then turn each into 0x20
      const written = utf8.encodeInto(text, out.subarray(at)).written;
      let n = 0;
      for (let i = 0; i < written; i++) {
        if (out[at + i] === 0xe2 && out[at + i + 1] === 0x96 && out[at + i + 2] === 0x81 && i + 2 < written) {
          out[at + n++] = SPACE;
          i += 2;
        } else {
          out[at + n++] = out[at + i] ?? 0;
        }
      }
      return n;
    };
  }
  return undefined;
}

/** Inverse of GPT-2's byte→unicode table, by UTF-16 code: printable bytes map to themselves, the rest to U+0100+; -1 elsewhere. */
function unicodeToByte(): Int16Array {
  const table = new Int16Array(0x100 + 68).fill(-1); // 68 = bytes that are not printable
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[printable ? b : 256 + shifted++] = b;
  }
  return table;
}
