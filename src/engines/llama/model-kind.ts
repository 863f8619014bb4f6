/**
 * Whether a local GGUF is a chat model or an embedding model, read from its header alone (no
 * weights, no llama.cpp context): a model spec without `kind` is served as what its file says
 * (auto-kind-engine.ts). A file is an embedding model when it declares how token states pool into
 * one vector (`<arch>.pooling_type` other than none: mean, CLS, last, rank — llama.cpp reads the
 * key for every architecture, e.g. a Qwen3 embedding model is arch `qwen3` with pooling last), or
 * when its architecture is an encoder that llama.cpp only ever runs for embeddings (BERT and its
 * relatives). A reranker (pooling rank) counts as an embedding model here, so that the embedding
 * engine's load refuses it with its own message rather than the chat engine generating nonsense.
 */
import { readGgufFileInfo } from "node-llama-cpp";

/** What a local model is served as. */
export type LocalModelKind = "chat" | "embedding";

/** The kind and the sentence saying why (for the start-up banner). */
export interface DetectedModelKind {
  readonly kind: LocalModelKind;
  readonly reason: string;
}

/**
 * llama.cpp architectures that are encoders without a generative use (`general.architecture`):
 * served as embedding models even when their GGUF names no pooling.
 */
export const ENCODER_ARCHITECTURES: ReadonlySet<string> = new Set(["bert", "modern-bert", "neo-bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "gemma-embedding"]);

/** llama.cpp's `enum llama_pooling_type`, by value (0 none; −1, unspecified, never stored). */
const POOLING_NAMES: readonly string[] = ["none", "mean", "cls", "last", "rank"];

/** The part of a GGUF's metadata the decision reads. */
export interface KindMetadata {
  readonly general?: { readonly architecture?: string };
  readonly [arch: string]: unknown;
}

/** Decides from a GGUF's metadata (pure; `detectModelKind` reads the file). */
export function modelKindOf(metadata: KindMetadata): DetectedModelKind {
  const architecture = metadata.general?.architecture ?? "llama";
  const archKeys = metadata[architecture] as { readonly pooling_type?: unknown } | undefined;
  const pooling = typeof archKeys?.pooling_type === "number" ? archKeys.pooling_type : undefined;
  if (pooling !== undefined && pooling > 0) {
    const name = POOLING_NAMES[pooling] ?? String(pooling);
    return { kind: "embedding", reason: `the GGUF declares ${architecture}.pooling_type = ${pooling} (${name})` };
  }
  if (ENCODER_ARCHITECTURES.has(architecture)) return { kind: "embedding", reason: `the GGUF's architecture \`${architecture}\` is an encoder` };
  return { kind: "chat", reason: `the GGUF (architecture \`${architecture}\`) declares no pooling` };
}

/** Reads the header of the GGUF at `path` (metadata only: no tensor info, no tokens) and decides. */
export async function detectModelKind(path: string, signal?: AbortSignal): Promise<DetectedModelKind> {
  const info = await readGgufFileInfo(path, {
    readTensorInfo: false,
    sourceType: "filesystem",
    logWarnings: false,
    // The vocabulary is most of a header; the decision needs none of it.
    ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"],
    ...(signal === undefined ? {} : { signal }),
  });
  return modelKindOf(info.metadata as unknown as KindMetadata);
}
