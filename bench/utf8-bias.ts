/**
 * A `logit_bias` that bans every token whose bytes are not valid UTF-8 on their own (lone byte
 * tokens ≥ 0x80, partial characters), read from the GGUF's vocabulary. Random-weight models such
 * as Parley's test model emit such tokens in orders no text has; llama.cpp's llama-server then
 * fails the request at its end (HTTP 500 "…does not match the expected … format"), while Parley's
 * UTF-8 guard bans them as it goes. With this bias (sent to both servers alike) every output is
 * valid UTF-8 by construction, so both run the same workload. Real models do not need it.
 */
import { readGgufFileInfo } from "node-llama-cpp";
import { byteLevelToBytes } from "../src/testing/bpe-vocab.ts";

const CONTROL = 3;
const strict = new TextDecoder("utf-8", { fatal: true });

function validAlone(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The bytes a vocabulary entry stands for; undefined when the tokenizer is not one we can read. */
function tokenBytes(model: string, text: string): Uint8Array | undefined {
  if (model === "gpt2") {
    try {
      return byteLevelToBytes(text);
    } catch {
      return undefined;
    }
  }
  if (model === "llama") {
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
    return byte?.[1] === undefined ? Buffer.from(text.replaceAll("\u2581", " ")) : Uint8Array.of(parseInt(byte[1], 16));
  }
  return undefined;
}

export interface ModelInfo {
  /** `general.name`, if any. */
  readonly name: string | undefined;
  /** The ban-partial-UTF-8 bias (token id → -100); empty when the tokenizer is not gpt2/llama. */
  readonly partialUtf8Bias: Record<string, number>;
}

/** Reads the GGUF's metadata (local file) and computes the bias. */
export async function readModelInfo(modelPath: string): Promise<ModelInfo> {
  const info = await readGgufFileInfo(modelPath, { readTensorInfo: false, logWarnings: false });
  const metadata = info.metadata as unknown as {
    general?: { name?: string };
    tokenizer?: { ggml?: { model?: string; tokens?: readonly string[]; token_type?: readonly number[] } };
  };
  const ggml = metadata.tokenizer?.ggml;
  const bias: Record<string, number> = {};
  for (const [id, text] of (ggml?.tokens ?? []).entries()) {
    if (ggml?.token_type?.[id] === CONTROL) continue; // never printed
    const bytes = tokenBytes(ggml?.model ?? "", text);
    if (bytes !== undefined && !validAlone(bytes)) bias[String(id)] = -100;
  }
  return { name: metadata.general?.name, partialUtf8Bias: bias };
}
