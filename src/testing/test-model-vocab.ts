/**
 * Tokenizer variants of the test model, so tests can check that Parley serves GGUFs shaped like
 * the ones users bring, not just its own:
 *
 *  - `"bpe"` (default): byte-level BPE (`tokenizer.ggml.model = "gpt2"`, pre-tokenizer `gpt-2`),
 *    ChatML special tokens first (ids 0-8, TEST_MODEL_SPECIAL_TOKENS), then the 256 byte tokens,
 *    then the merged tokens (bpe-vocab.ts).
 *  - `"spm"`: a SentencePiece vocabulary as llama.cpp's "llama" tokenizer reads it, laid out like
 *    Llama/Mistral conversions: `<unk>` (0, type unknown), `<s>` (1, BOS) and `</s>` (2, EOS), the
 *    ChatML and tool tokens a chat fine-tune adds (ids 3-8, TEST_MODEL_SPM_SPECIAL_TOKENS), the
 *    256 byte-fallback tokens `<0x00>`…`<0xFF>` (type byte), then text pieces with `▁` for space.
 *    The pieces are derived from the trained BPE vocabulary: each merged BPE token that is valid
 *    UTF-8 on its own, in merge order, then the printable ASCII characters (like Llama's own
 *    vocabulary, single characters come last). A piece's score is minus its position, so
 *    llama.cpp's SPM tokenizer, which merges the highest-scoring adjacent pair first, replays the
 *    BPE merges; characters that end up in no piece are encoded through the byte tokens.
 *
 * Options shared by both: `vocabSize` (total, special tokens included) shrinks the vocabulary by
 * dropping the last pieces/merges; `specialTokensAsText` stores the ChatML special tokens (texts
 * starting with `<|`) as normal text tokens (type 1), as some conversions do, while the BOS/EOS/EOT
 * ids still point at them.
 *
 * `specialTokenSet` (BPE only) swaps the 9 special slots for another family's control tokens, so
 * a test can write a GGUF shaped like a Llama 3 or Mistral conversion (TEST_MODEL_LLAMA3_SPECIAL_TOKENS,
 * TEST_MODEL_MISTRAL_SPECIAL_TOKENS). Every set has 9 tokens, so the byte and merged tokens keep
 * the same ids and the same merges in all three; with "llama3" or "mistral", `specialTokensAsText`
 * applies to all of the set's control tokens.
 */
import { trainBpeVocab, byteLevelToBytes, type BpeVocab } from "./bpe-vocab.ts";
import { gguf, type GgufMetadataValue } from "./gguf-writer.ts";
import { TEST_MODEL_LLAMA3_SPECIAL_TOKENS, TEST_MODEL_MISTRAL_SPECIAL_TOKENS, TEST_MODEL_SPECIAL_TOKENS, TEST_MODEL_SPM_SPECIAL_TOKENS } from "./special-token-sets.ts";

/** GGUF token types (`tokenizer.ggml.token_type`). */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export {
  TEST_MODEL_LLAMA3_SPECIAL_TOKENS,
  TEST_MODEL_MISTRAL_SPECIAL_TOKENS,
  TEST_MODEL_SPECIAL_TOKENS,
  TEST_MODEL_SPM_SPECIAL_TOKENS,
} from "./special-token-sets.ts";

/** Default total vocabulary size (both tokenizers). */
export const TEST_MODEL_VOCAB_SIZE = 2048;

/** Smallest vocabulary: the 9 special tokens and the 256 byte tokens. */
export const TEST_MODEL_MIN_VOCAB_SIZE = 9 + 256;

export type TestModelTokenizerKind = "bpe" | "spm";

/** Which family's special tokens fill the special slots of a BPE test model. */
export type TestModelSpecialTokenSet = "chatml" | "llama3" | "mistral";

export interface TestVocabOptions {
  readonly tokenizer: TestModelTokenizerKind;
  /** Total number of tokens, special tokens included. */
  readonly vocabSize: number;
  readonly specialTokensAsText: boolean;
  /** The BPE model's special tokens (default "chatml"); "spm" supports "chatml" only. */
  readonly specialTokenSet?: TestModelSpecialTokenSet;
}

/** A test-model vocabulary as stored in the GGUF, with the ids tests need. */
export interface TestVocabulary {
  readonly tokenizer: TestModelTokenizerKind;
  readonly specialTokenSet: TestModelSpecialTokenSet;
  readonly tokens: readonly string[];
  readonly tokenTypes: readonly number[];
  /** SentencePiece scores (spm only). */
  readonly scores: readonly number[] | undefined;
  /** BPE merges, "left right" in priority order (bpe only). */
  readonly merges: readonly string[] | undefined;
  readonly bos: number;
  readonly eos: number;
  /** Ends an assistant turn (`tokenizer.ggml.eot_token_id`): `<|im_end|>`, `<|eot_id|>` or `</s>`. */
  readonly eot: number;
  /** Opens a turn: `<|im_start|>`, `<|start_header_id|>` or `[INST]`. */
  readonly imStart: number;
  /** End-of-generation tokens (EOS and EOT): ban them all to make a generation run to max_tokens. */
  readonly eogTokens: readonly number[];
  /** Tokens the weights give a large negative logit, so they are (practically) never generated. */
  readonly mutedTokens: readonly number[];
  /** The `tokenizer.ggml.*` metadata entries, in file order. */
  readonly metadata: readonly (readonly [string, GgufMetadataValue])[];
}

const SPACE_PIECE = "\u2581";

const trained = new Map<number, BpeVocab>();

function trainCached(size: number): BpeVocab {
  let vocab = trained.get(size);
  if (vocab === undefined) trained.set(size, (vocab = trainBpeVocab({ size })));
  return vocab;
}

export function buildTestVocabulary(options: TestVocabOptions): TestVocabulary {
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < TEST_MODEL_MIN_VOCAB_SIZE) {
    throw new Error(`vocabSize must be an integer >= ${TEST_MODEL_MIN_VOCAB_SIZE}`);
  }
  if (options.tokenizer === "spm" && (options.specialTokenSet ?? "chatml") !== "chatml") {
    throw new Error(`specialTokenSet "${options.specialTokenSet}" needs the BPE tokenizer`);
  }
  const vocab = options.tokenizer === "spm" ? spmVocabulary(options) : bpeVocabulary(options);
  if (vocab.tokens.length !== vocabSize) {
    throw new Error(`vocabSize ${vocabSize} is too large for the training corpus (at most ${vocab.tokens.length})`);
  }
  if (new Set(vocab.tokens).size !== vocab.tokens.length) throw new Error("duplicate token text in test vocabulary");
  return vocab;
}

type SpecialTable = Readonly<Record<string, { readonly id: number; readonly text: string; readonly type: number }>>;

/** Whether `specialTokensAsText` stores this special token as text: ChatML's `<|…|>` tokens, or every control token of another set. */
type AsTextRule = (token: { readonly text: string; readonly type: number }) => boolean;
const CHATML_AS_TEXT: AsTextRule = (s) => s.text.startsWith("<|");
const CONTROL_AS_TEXT: AsTextRule = (s) => s.type === GGUF_TOKEN_TYPE.control;

function specialsInOrder(table: SpecialTable, asText: boolean, rule: AsTextRule = CHATML_AS_TEXT): { texts: string[]; types: number[] } {
  const specials = Object.values(table).sort((a, b) => a.id - b.id);
  specials.forEach((s, i) => {
    if (s.id !== i) throw new Error("special token ids must be 0..n-1");
  });
  return {
    texts: specials.map((s) => s.text),
    types: specials.map((s) => (asText && rule(s) ? GGUF_TOKEN_TYPE.normal : s.type)),
  };
}

/** What a BPE vocabulary takes from its special-token set. */
interface BpeSpecialSet {
  readonly table: SpecialTable;
  readonly asText: AsTextRule;
  readonly bos: number;
  readonly eos: number;
  readonly eot: number;
  readonly turnStart: number;
  readonly pad: number | undefined;
  readonly eog: readonly number[];
  readonly muted: readonly number[];
}

function bpeSpecialSet(set: TestModelSpecialTokenSet): BpeSpecialSet {
  const [S, L, M] = [TEST_MODEL_SPECIAL_TOKENS, TEST_MODEL_LLAMA3_SPECIAL_TOKENS, TEST_MODEL_MISTRAL_SPECIAL_TOKENS];
  switch (set) {
    case "llama3": // llama.cpp ends generation on <|eom_id|> too (it recognises the text)
      return {
        table: L,
        asText: CONTROL_AS_TEXT,
        bos: L.bos.id,
        eos: L.eos.id,
        eot: L.eot.id,
        turnStart: L.startHeader.id,
        pad: L.pad.id,
        eog: [L.eos.id, L.eot.id, L.eom.id],
        muted: [L.bos.id, L.startHeader.id, L.endHeader.id, L.pythonTag.id, L.pad.id, L.reserved.id],
      };
    case "mistral": // [TOOL_CALLS] is not muted, like <tool_call> in the ChatML set: the model may start a call
      return {
        table: M,
        asText: CONTROL_AS_TEXT,
        bos: M.bos.id,
        eos: M.eos.id,
        eot: M.eos.id,
        turnStart: M.inst.id,
        pad: undefined,
        eog: [M.eos.id],
        muted: [M.bos.id, M.inst.id, M.instEnd.id, M.availableTools.id, M.availableToolsEnd.id, M.toolResults.id, M.toolResultsEnd.id],
      };
    default:
      return {
        table: S,
        asText: CHATML_AS_TEXT,
        bos: S.bos.id,
        eos: S.eos.id,
        eot: S.imEnd.id,
        turnStart: S.imStart.id,
        pad: S.pad.id,
        eog: [S.eos.id, S.imEnd.id],
        muted: [S.bos.id, S.pad.id, S.imStart.id],
      };
  }
}

function bpeVocabulary(options: TestVocabOptions): TestVocabulary {
  const set = options.specialTokenSet ?? "chatml";
  const S = bpeSpecialSet(set);
  const specials = specialsInOrder(S.table, options.specialTokensAsText, S.asText);
  const bpe = trainCached(options.vocabSize - specials.texts.length);
  const tokens = [...specials.texts, ...bpe.tokens];
  const tokenTypes = [...specials.types, ...bpe.tokens.map(() => GGUF_TOKEN_TYPE.normal)];
  return {
    tokenizer: "bpe",
    specialTokenSet: set,
    tokens,
    tokenTypes,
    scores: undefined,
    merges: bpe.merges,
    bos: S.bos,
    eos: S.eos,
    eot: S.eot,
    imStart: S.turnStart,
    eogTokens: S.eog,
    mutedTokens: S.muted,
    metadata: [
      ["tokenizer.ggml.model", gguf.str("gpt2")],
      ["tokenizer.ggml.pre", gguf.str("gpt-2")],
      ["tokenizer.ggml.tokens", gguf.strings(tokens)],
      ["tokenizer.ggml.token_type", gguf.i32s(tokenTypes)],
      ["tokenizer.ggml.merges", gguf.strings(bpe.merges)],
      ["tokenizer.ggml.bos_token_id", gguf.u32(S.bos)],
      ["tokenizer.ggml.eos_token_id", gguf.u32(S.eos)],
      ["tokenizer.ggml.eot_token_id", gguf.u32(S.eot)],
      ...(S.pad === undefined ? [] : [["tokenizer.ggml.padding_token_id", gguf.u32(S.pad)] as const]),
      ["tokenizer.ggml.add_bos_token", gguf.bool(true)],
      ["tokenizer.ggml.add_eos_token", gguf.bool(false)],
    ],
  };
}

/** `<0x0A>`-style name of a byte-fallback token (upper-case hex, as llama.cpp looks them up). */
export function byteTokenText(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
}

let spmPieceCache: { readonly merged: readonly string[]; readonly singles: readonly string[] } | undefined;

/**
 * SentencePiece text pieces in priority order, derived from the full BPE training: `merged`, the
 * merged tokens that are valid UTF-8 on their own (spaces as `▁`), and `singles`, the printable
 * ASCII characters (`▁` for space) that are not among them.
 */
export function spmPieces(): { readonly merged: readonly string[]; readonly singles: readonly string[] } {
  if (spmPieceCache !== undefined) return spmPieceCache;
  const bpe = trainCached(1 << 16); // stops when the corpus has no pairs left
  const strict = new TextDecoder("utf-8", { fatal: true });
  const toPiece = (byteLevel: string): string | undefined => {
    let text: string;
    try {
      text = strict.decode(byteLevelToBytes(byteLevel));
    } catch {
      return undefined; // part of a UTF-8 character: SentencePiece pieces are whole characters
    }
    if (text.includes(SPACE_PIECE)) return undefined;
    return text.replaceAll(" ", SPACE_PIECE);
  };
  const seen = new Set<string>(Object.values(TEST_MODEL_SPM_SPECIAL_TOKENS).map((s) => s.text));
  const unique = (pieces: readonly (string | undefined)[]): string[] => {
    const out: string[] = [];
    for (const piece of pieces) {
      if (piece === undefined || seen.has(piece)) continue;
      seen.add(piece);
      out.push(piece);
    }
    return out;
  };
  const merged = unique(bpe.tokens.slice(256).map(toPiece));
  const chars = Array.from({ length: 0x7f - 0x20 }, (_, i) => (i === 0 ? SPACE_PIECE : String.fromCharCode(0x20 + i)));
  spmPieceCache = { merged, singles: unique(chars) };
  return spmPieceCache;
}

function spmVocabulary(options: TestVocabOptions): TestVocabulary {
  const S = TEST_MODEL_SPM_SPECIAL_TOKENS;
  const specials = specialsInOrder(S, options.specialTokensAsText);
  const byteTokens = Array.from({ length: 256 }, (_, b) => byteTokenText(b));
  // Like Llama's vocabulary: merged pieces by priority, then every single character. A vocabulary
  // too small to hold the characters and as many merged pieces gets merged pieces and `▁` only
  // (other text outside them goes through the byte tokens). `▁` itself must be a piece: a space
  // encoded as the bytes of U+2581 would decode to "▁", not " ".
  const room = Math.max(0, options.vocabSize - specials.texts.length - byteTokens.length);
  const { merged, singles } = spmPieces();
  const pieces = room >= 2 * singles.length ? [...merged.slice(0, room - singles.length), ...singles] : [...merged.slice(0, Math.max(0, room - 1)), SPACE_PIECE].slice(0, room);
  const tokens = [...specials.texts, ...byteTokens, ...pieces];
  const tokenTypes = [...specials.types, ...byteTokens.map(() => GGUF_TOKEN_TYPE.byte), ...pieces.map(() => GGUF_TOKEN_TYPE.normal)];
  const scores = [...specials.texts.map(() => 0), ...byteTokens.map(() => 0), ...pieces.map((_, i) => -i)];
  return {
    tokenizer: "spm",
    specialTokenSet: "chatml",
    tokens,
    tokenTypes,
    scores,
    merges: undefined,
    bos: S.bos.id,
    eos: S.eos.id,
    eot: S.imEnd.id,
    imStart: S.imStart.id,
    eogTokens: [S.eos.id, S.imEnd.id],
    mutedTokens: [S.unk.id, S.bos.id, S.imStart.id],
    metadata: [
      ["tokenizer.ggml.model", gguf.str("llama")],
      ["tokenizer.ggml.pre", gguf.str("default")],
      ["tokenizer.ggml.tokens", gguf.strings(tokens)],
      ["tokenizer.ggml.scores", gguf.f32s(scores)],
      ["tokenizer.ggml.token_type", gguf.i32s(tokenTypes)],
      ["tokenizer.ggml.bos_token_id", gguf.u32(S.bos.id)],
      ["tokenizer.ggml.eos_token_id", gguf.u32(S.eos.id)],
      ["tokenizer.ggml.unknown_token_id", gguf.u32(S.unk.id)],
      ["tokenizer.ggml.eot_token_id", gguf.u32(S.imEnd.id)],
      ["tokenizer.ggml.add_bos_token", gguf.bool(true)],
      ["tokenizer.ggml.add_eos_token", gguf.bool(false)],
      // SentencePiece's "dummy prefix": llama.cpp prepends a space to text at the start and after special tokens
      ["tokenizer.ggml.add_space_prefix", gguf.bool(true)],
    ],
  };
}
