/**
 * Turns a Hugging Face byte-level BPE tokenizer (the parsed `tokenizer.json` and
 * `tokenizer_config.json` of a model) into the `tokenizer.ggml.*` metadata a GGUF conversion
 * writes for it, so test models can carry real vocabularies (real-tokenizer-model.ts).
 *
 * What it writes, as llama.cpp's converter does for a "gpt2"-type vocabulary:
 *  - every id below `vocabSize`: the model's vocabulary and the added tokens; ids in neither
 *    become `[PAD<id>]` with type unused (5), as when config.json's vocab_size is larger;
 *  - token types: normal (1); an added token that is `special`, or looks like a control token
 *    (`<|…|>`), is control (3); any other added token (Qwen3's `<think>`, `<tool_call>`) is
 *    user-defined (4);
 *  - merges "left right" in priority order (the newer `[left, right]` form is joined, a space
 *    inside a part written as U+0120 like the converter does);
 *  - bos/eos/pad/unk ids from tokenizer_config.json's `*_token`, else from config.json facts the
 *    caller gives; `add_bos_token`/`add_eos_token` from tokenizer_config.json, else from a
 *    TemplateProcessing post-processor that starts / ends with a special token (true when it is
 *    BOS / EOS);
 *  - `eot_token_id` = the EOS id (optional): a chat model's tokenizer_config names its turn end as
 *    EOS. Conversions usually write none and leave llama.cpp to guess by text.
 *
 * Only byte-level BPE tokenizers are handled (Qwen, Llama 3, GPT-2 style); others throw.
 */
import { gguf, type GgufMetadataValue } from "./gguf-writer.ts";
import { GGUF_TOKEN_TYPE } from "./test-model-vocab.ts";

/** The parts of a `tokenizer.json` read here. */
export interface HfTokenizerJson {
  readonly model: {
    readonly type: string;
    readonly vocab: Readonly<Record<string, number>>;
    readonly merges: readonly (string | readonly [string, string])[];
  };
  readonly added_tokens?: readonly { readonly id: number; readonly content: string; readonly special?: boolean }[];
  readonly pre_tokenizer?: unknown;
  readonly post_processor?: unknown;
}

/** A special token in `tokenizer_config.json`: its text, or an AddedToken object. */
type HfTokenRef = string | { readonly content: string } | null | undefined;

/** The parts of a `tokenizer_config.json` read here. */
export interface HfTokenizerConfig {
  readonly bos_token?: HfTokenRef;
  readonly eos_token?: HfTokenRef;
  readonly pad_token?: HfTokenRef;
  readonly unk_token?: HfTokenRef;
  readonly add_bos_token?: boolean;
  readonly add_eos_token?: boolean;
  readonly chat_template?: string | readonly { readonly name: string; readonly template: string }[];
  readonly added_tokens_decoder?: Readonly<Record<string, { readonly content: string; readonly special?: boolean }>>;
}

/** Facts from the model's `config.json`, which tokenizer packages do not ship. */
export interface HfModelConfigFacts {
  /** Rows of the embedding matrix; larger than the tokenizer's vocabulary when padded. */
  readonly vocab_size?: number;
  readonly bos_token_id?: number;
  readonly eos_token_id?: number;
  readonly pad_token_id?: number;
}

export interface HfVocabOptions {
  /** `tokenizer.ggml.pre`: llama.cpp's name for the pre-tokenizer ("qwen2", "llama-bpe", ...). */
  readonly pre: string;
  /** config.json facts (default none): vocab_size pads the vocabulary, *_token_id fill unset ids. */
  readonly config?: HfModelConfigFacts;
  /** Write `tokenizer.ggml.eot_token_id` = the EOS id (default true). */
  readonly eotFromEos?: boolean;
}

/** A converted vocabulary: what the GGUF stores, with the ids tests need. */
export interface HfGgufVocabulary {
  readonly tokens: readonly string[];
  readonly tokenTypes: readonly number[];
  readonly merges: readonly string[];
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly pad: number | undefined;
  readonly eot: number | undefined;
  readonly addBos: boolean | undefined;
  readonly addEos: boolean | undefined;
  /** `tokenizer_config.json`'s chat template (the default one when several are named). */
  readonly chatTemplate: string | undefined;
  /** The `tokenizer.ggml.*` metadata entries, in file order. */
  readonly metadata: readonly (readonly [string, GgufMetadataValue])[];
}

/** llama.cpp's converter treats these added tokens as control tokens even when not marked special. */
function looksSpecial(text: string): boolean {
  return (text.startsWith("<|") && text.endsWith("|>")) || (text.startsWith("<｜") && text.endsWith("｜>"));
}

function refText(ref: HfTokenRef): string | undefined {
  if (ref === null || ref === undefined) return undefined;
  return typeof ref === "string" ? ref : ref.content;
}

/** Added tokens from tokenizer.json, with tokenizer_config.json's `added_tokens_decoder` filling gaps. */
function addedTokens(json: HfTokenizerJson, config: HfTokenizerConfig): Map<number, { content: string; special: boolean }> {
  const added = new Map<number, { content: string; special: boolean }>();
  for (const [id, token] of Object.entries(config.added_tokens_decoder ?? {})) {
    added.set(Number(id), { content: token.content, special: token.special === true });
  }
  for (const token of json.added_tokens ?? []) added.set(token.id, { content: token.content, special: token.special === true });
  return added;
}

function mergeText(merge: string | readonly [string, string]): string {
  if (typeof merge === "string") return merge;
  return merge.map((part) => part.replaceAll(" ", "\u0120")).join(" ");
}

/** Whether the post-processor (or one in a Sequence) is a TemplateProcessing whose `single` starts/ends with this token. */
function templateAdds(postProcessor: unknown, token: string | undefined, end: "first" | "last"): boolean | undefined {
  if (token === undefined || postProcessor === null || typeof postProcessor !== "object") return undefined;
  const p = postProcessor as { type?: string; processors?: unknown[]; single?: { SpecialToken?: { id?: string } }[] };
  const processors = p.type === "Sequence" ? (p.processors ?? []) : [p];
  for (const processor of processors as (typeof p)[]) {
    if (processor?.type !== "TemplateProcessing" || !Array.isArray(processor.single) || processor.single.length < 2) continue;
    const item = end === "first" ? processor.single[0] : processor.single[processor.single.length - 1];
    const special = item?.SpecialToken?.id;
    return special === undefined ? undefined : special === token;
  }
  return undefined;
}

/** Converts a byte-level BPE tokenizer to GGUF vocabulary metadata (see the file header). */
export function hfTokenizerToGguf(json: HfTokenizerJson, config: HfTokenizerConfig, options: HfVocabOptions): HfGgufVocabulary {
  if (json.model.type !== "BPE") throw new Error(`only BPE tokenizers are supported, not "${json.model.type}"`);
  const added = addedTokens(json, config);
  let maxId = -1;
  for (const id of Object.values(json.model.vocab)) maxId = Math.max(maxId, id);
  for (const id of added.keys()) maxId = Math.max(maxId, id);
  const size = options.config?.vocab_size ?? maxId + 1;
  if (size <= maxId) throw new Error(`vocab_size ${size} is smaller than the tokenizer's largest id ${maxId}`);

  const tokens = new Array<string | undefined>(size).fill(undefined);
  const tokenTypes = new Array<number>(size).fill(GGUF_TOKEN_TYPE.unused);
  for (const [text, id] of Object.entries(json.model.vocab)) {
    if (tokens[id] !== undefined) throw new Error(`token id ${id} appears twice in the vocabulary`);
    tokens[id] = text;
    tokenTypes[id] = GGUF_TOKEN_TYPE.normal;
  }
  for (const [id, token] of added) {
    const control = token.special || looksSpecial(token.content);
    // as the converter does: user-defined tokens are stored pre-normalised (SentencePiece's ▁ as a space)
    tokens[id] = control ? token.content : token.content.replaceAll("\u2581", " ");
    tokenTypes[id] = control ? GGUF_TOKEN_TYPE.control : GGUF_TOKEN_TYPE.userDefined;
  }
  const filled = tokens.map((text, id) => text ?? `[PAD${id}]`);

  const idOf = new Map<string, number>();
  filled.forEach((text, id) => {
    if (!idOf.has(text) || tokenTypes[id] !== GGUF_TOKEN_TYPE.normal) idOf.set(text, id);
  });
  const lookup = (ref: HfTokenRef): number | undefined => {
    const text = refText(ref);
    if (text === undefined) return undefined;
    const id = idOf.get(text);
    if (id === undefined) throw new Error(`special token ${JSON.stringify(text)} is not in the vocabulary`);
    return id;
  };
  const facts = options.config ?? {};
  const bos = lookup(config.bos_token) ?? facts.bos_token_id;
  const eos = lookup(config.eos_token) ?? facts.eos_token_id;
  const pad = lookup(config.pad_token) ?? facts.pad_token_id;
  const unk = lookup(config.unk_token);
  const eot = options.eotFromEos === false ? undefined : eos;
  const addBos = config.add_bos_token ?? templateAdds(json.post_processor, refText(config.bos_token), "first");
  const addEos = config.add_eos_token ?? templateAdds(json.post_processor, refText(config.eos_token), "last");
  const merges = json.model.merges.map(mergeText);
  const chatTemplate = typeof config.chat_template === "string" ? config.chat_template : config.chat_template?.find((t) => t.name === "default")?.template;

  const optionalId = (key: string, id: number | undefined): (readonly [string, GgufMetadataValue])[] => (id === undefined ? [] : [[`tokenizer.ggml.${key}`, gguf.u32(id)]]);
  const optionalBool = (key: string, value: boolean | undefined): (readonly [string, GgufMetadataValue])[] => (value === undefined ? [] : [[`tokenizer.ggml.${key}`, gguf.bool(value)]]);
  const metadata: (readonly [string, GgufMetadataValue])[] = [
    ["tokenizer.ggml.model", gguf.str("gpt2")],
    ["tokenizer.ggml.pre", gguf.str(options.pre)],
    ["tokenizer.ggml.tokens", gguf.strings(filled)],
    ["tokenizer.ggml.token_type", gguf.i32s(tokenTypes)],
    ["tokenizer.ggml.merges", gguf.strings(merges)],
    ...optionalId("bos_token_id", bos),
    ...optionalId("eos_token_id", eos),
    ...optionalId("unknown_token_id", unk),
    ...optionalId("padding_token_id", pad),
    ...optionalId("eot_token_id", eot),
    ...optionalBool("add_bos_token", addBos),
    ...optionalBool("add_eos_token", addEos),
  ];
  return { tokens: filled, tokenTypes, merges, bos, eos, pad, eot, addBos, addEos, chatTemplate, metadata };
}
