/**
 * The `/v1/embeddings` response, in OpenAI's shape (`CreateEmbeddingResponse` of the `openai`
 * package, checked at compile time): one `embedding` item per input in order, as numbers or, with
 * `encoding_format: "base64"`, as the base64 of the vector's little-endian float32 bytes (what the
 * `openai` SDKs request by default and decode into a Float32Array). Both carry the same float32
 * values: a vector written as numbers is the exact decimal of each float32.
 */
import type { CreateEmbeddingResponse } from "openai/resources/embeddings";
import type { EmbedResult } from "../../../engines/types.ts";

/** An item's `embedding`: numbers, or a base64 string for `base64`. */
type WireEmbedding = Omit<CreateEmbeddingResponse["data"][number], "embedding"> & { embedding: number[] | string };

export type EmbeddingResponseWire = Omit<CreateEmbeddingResponse, "data"> & { data: WireEmbedding[] };

export function embeddingResponse(result: EmbedResult, model: string, encoding: "float" | "base64"): EmbeddingResponseWire {
  return {
    object: "list",
    data: result.vectors.map((vector, index) => ({ object: "embedding", index, embedding: encoding === "base64" ? base64(vector) : Array.from(vector) })),
    model,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}

/** The vector's float32 values, little-endian, in base64. */
export function base64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] ?? 0, i * 4);
  return bytes.toString("base64");
}
