/**
 * A small, dependency-free writer for GGUF v3 files.
 *
 * Layout written (all integers little-endian):
 *   magic "GGUF" | version u32 (=3) | tensor count u64 | metadata KV count u64
 *   metadata KVs: key (u64 length + UTF-8 bytes) | value type u32 | value
 *   tensor infos: name | n_dims u32 | ne[0..n_dims) u64 | ggml type u32 | data offset u64
 *   zero padding up to `alignment`, then each tensor's data, each padded to `alignment`.
 *
 * `ne[0]` is the innermost (contiguous) dimension, as in ggml: a matrix multiplied as
 * `W x` with `x` of length K and result of length N has dims `[K, N]`, and its data is
 * N rows of K values each.
 *
 * F32, F16 and Q8_0 tensor storage are supported; tensor values are always given as F32 and
 * converted when the tensor type is F16 (round-to-nearest-even) or quantized for Q8_0 (blocks of
 * 32 values along `ne[0]`, which must be a multiple of 32).
 */
import { open } from "node:fs/promises";
import { ByteSink, GGML_TENSOR_TYPE, gguf, padLength, tensorByteLength, tensorBytes, writeValue, type GgufMetadataValue, type GgufTensor } from "./gguf-encoding.ts";

export {
  GGML_TENSOR_TYPE,
  GGUF_VALUE_TYPE,
  float32ToFloat16Bits,
  gguf,
  type GgufBigNumberType,
  type GgufMetadataValue,
  type GgufNumberType,
  type GgufTensor,
  type GgufTensorType,
} from "./gguf-encoding.ts";

/** Everything that goes into a GGUF file. */
export interface GgufFileSpec {
  /** Metadata KVs, written in insertion order. `general.alignment` is added when `alignment` is not 32. */
  readonly metadata: ReadonlyMap<string, GgufMetadataValue> | Readonly<Record<string, GgufMetadataValue>>;
  /** Tensors, written in this order. */
  readonly tensors: readonly GgufTensor[];
  /** Data alignment in bytes (power of two); default 32, the GGUF default. */
  readonly alignment?: number;
}

const DEFAULT_ALIGNMENT = 32;
function metadataEntries(spec: GgufFileSpec): [string, GgufMetadataValue][] {
  const entries: [string, GgufMetadataValue][] = spec.metadata instanceof Map ? [...spec.metadata.entries()] : Object.entries(spec.metadata as Readonly<Record<string, GgufMetadataValue>>);
  const alignment = spec.alignment ?? DEFAULT_ALIGNMENT;
  if (alignment !== DEFAULT_ALIGNMENT && !entries.some(([k]) => k === "general.alignment")) {
    entries.push(["general.alignment", gguf.u32(alignment)]);
  }
  return entries;
}

/** Encodes the header, metadata and tensor infos, padded to the alignment (i.e. everything before the tensor data). */
export function encodeGgufHeader(spec: GgufFileSpec): Buffer {
  const alignment = spec.alignment ?? DEFAULT_ALIGNMENT;
  if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new Error(`bad alignment ${alignment}`);
  const entries = metadataEntries(spec);
  const sink = new ByteSink();
  sink.bytes(Buffer.from("GGUF", "ascii"));
  sink.u32(3);
  sink.u64(spec.tensors.length);
  sink.u64(entries.length);
  for (const [key, value] of entries) {
    sink.str(key);
    writeValue(sink, value);
  }
  let offset = 0;
  const names = new Set<string>();
  for (const t of spec.tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor name ${t.name}`);
    names.add(t.name);
    if (t.dims.length < 1 || t.dims.length > 4) throw new Error(`tensor ${t.name}: 1-4 dims required`);
    sink.str(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(GGML_TENSOR_TYPE[t.type]);
    sink.u64(offset);
    const size = tensorByteLength(t);
    offset += size + padLength(size, alignment);
  }
  sink.pad(alignment);
  return sink.toBuffer();
}

/** Encodes a complete GGUF file in memory. */
export function encodeGguf(spec: GgufFileSpec): Buffer {
  const alignment = spec.alignment ?? DEFAULT_ALIGNMENT;
  const parts: Uint8Array[] = [encodeGgufHeader(spec)];
  for (const t of spec.tensors) {
    const bytes = tensorBytes(t);
    parts.push(bytes);
    const pad = padLength(bytes.length, alignment);
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  return Buffer.concat(parts);
}

/** Writes a GGUF file, producing (and dropping) one tensor's data at a time. Overwrites `path`. */
export async function writeGgufFile(path: string, spec: GgufFileSpec): Promise<void> {
  const alignment = spec.alignment ?? DEFAULT_ALIGNMENT;
  const handle = await open(path, "w");
  try {
    await handle.write(encodeGgufHeader(spec));
    for (const t of spec.tensors) {
      const bytes = tensorBytes(t);
      await handle.write(bytes);
      const pad = padLength(bytes.length, alignment);
      if (pad > 0) await handle.write(new Uint8Array(pad));
    }
  } finally {
    await handle.close();
  }
}
