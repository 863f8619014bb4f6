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

export class Vocabulary {
  readonly size: number;
  /** Bytes of the longest token: no token covers more characters of text than this. */
  readonly maxTokenBytes: number;
  readonly #bytes: Uint8Array[];
  readonly #types: Uint8Array;

  constructor(source: VocabularySource) {
    this.size = source.tokens.length;
    this.#types = Uint8Array.from(source.tokens, (_, i) => source.tokenTypes?.[i] ?? TokenType.normal);
    for (const id of source.specialTokenIds ?? []) if (id >= 0 && id < this.size) this.#types[id] = TokenType.control;
    const decodePiece = pieceDecoder(source.model);
    this.#bytes = source.tokens.map((text, id) => {
      const type = this.#types[id];
      if (type === TokenType.control || type === TokenType.userDefined || type === TokenType.unknown) return utf8.encode(text);
      return decodePiece?.(text, type ?? TokenType.normal) ?? utf8.encode(source.detokenize(id));
    });
    this.maxTokenBytes = this.#bytes.reduce((max, bytes) => Math.max(max, bytes.length), 1);
  }

  /** The token's bytes as it appears in text (control tokens: their literal text). */
  bytes(token: number): Uint8Array {
    return this.#bytes[token] ?? new Uint8Array();
  }

  /** Control tokens whose text is one of `texts` (e.g. tool-call markers such as `[TOOL_CALLS]`). */
  controlTokensWithText(texts: readonly string[]): Set<number> {
    const wanted = new Set(texts);
    const found = new Set<number>();
    if (wanted.size === 0) return found;
    const decoder = new TextDecoder();
    this.#types.forEach((type, id) => {
      if (type === TokenType.control && wanted.has(decoder.decode(this.#bytes[id]))) found.add(id);
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

type PieceDecoder = (text: string, type: number) => Uint8Array;

function pieceDecoder(model: string): PieceDecoder | undefined {
  if (model === "gpt2") {
    const toByte = unicodeToByte();
    return (text) => Uint8Array.from(Array.from(text), (ch) => toByte.get(ch) ?? 0x3f);
  }
  if (model === "llama") {
    return (text, type) => {
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (type === TokenType.byte && byte?.[1] !== undefined) return Uint8Array.of(parseInt(byte[1], 16));
      return utf8.encode(text.replaceAll("\u2581", " "));
    };
  }
  return undefined;
}

/** Inverse of GPT-2's byte→unicode table: printable bytes map to themselves, the rest to U+0100+. */
function unicodeToByte(): Map<string, number> {
  const map = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCodePoint(printable ? b : 256 + shifted++), b);
  }
  return map;
}
