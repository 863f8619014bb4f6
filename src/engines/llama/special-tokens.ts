/**
 * The model's special tokens, read from the GGUF's own metadata first (`tokenizer.ggml.*`) and
 * from node-llama-cpp second. node-llama-cpp reports BOS/EOS only when the GGUF types them as
 * control tokens, yet some conversions store them as plain text while still naming them by id
 * and asking for BOS (`add_bos_token`). Parley honours what the file says.
 */
import type { LlamaModel } from "node-llama-cpp";

/** The `tokenizer.ggml` metadata Parley reads. */
export interface GgufTokenizerMetadata {
  readonly model?: string;
  readonly tokens?: readonly string[];
  readonly token_type?: readonly number[];
  readonly bos_token_id?: number;
  readonly eos_token_id?: number;
  readonly eot_token_id?: number;
  readonly unknown_token_id?: number;
  readonly padding_token_id?: number;
  readonly add_bos_token?: boolean;
  readonly add_eos_token?: boolean;
}

export interface SpecialTokens {
  /** The BOS and EOS ids, if the model has them. */
  readonly bos: number | null;
  readonly eos: number | null;
  /** Texts exposed to chat templates as `bos_token` / `eos_token` ("" when absent). */
  readonly bosText: string;
  readonly eosText: string;
  /** Whether prompts must start with BOS. */
  readonly addBos: boolean;
  /** Whether the tokenizer appends EOS to text it encodes (rare; used only with `add_special_tokens`). */
  readonly addEos: boolean;
  /** Every id the model names as special: never shown in `content`. */
  readonly ids: readonly number[];
}

export function resolveSpecialTokens(metadata: GgufTokenizerMetadata, model: LlamaModel): SpecialTokens {
  const tokens = metadata.tokens ?? [];
  const bos = metadata.bos_token_id ?? model.tokens.bos;
  const eos = metadata.eos_token_id ?? model.tokens.eos;
  const textOf = (id: number | null, fallback: string | null) => (id === null ? "" : (tokens[id] ?? fallback ?? ""));
  const named = [bos, eos, metadata.eot_token_id, metadata.unknown_token_id, metadata.padding_token_id, model.tokens.bos, model.tokens.eos, model.tokens.eot];
  return {
    bos,
    eos,
    bosText: textOf(bos, model.tokens.bosString),
    eosText: textOf(eos, model.tokens.eosString),
    addBos: bos !== null && (metadata.add_bos_token ?? model.tokens.shouldPrependBosToken),
    addEos: eos !== null && (metadata.add_eos_token ?? false),
    ids: [...new Set(named.filter((id): id is number => typeof id === "number" && id >= 0))],
  };
}
