/**
 * GGUF value and tensor encoding: metadata value types, a growable little-endian byte sink,
 * F32/F16/Q8_0 tensor bytes. The file layout itself is in gguf-writer.ts.
 */
import { endianness } from "node:os";

/** GGUF metadata value type ids (gguf_type). */
export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

/** ggml tensor type ids supported by this writer. */
export const GGML_TENSOR_TYPE = { F32: 0, F16: 1, Q8_0: 8 } as const;

/** Values per Q8_0 block: one F16 scale, then 32 int8 quants (34 bytes). */
const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export type GgufNumberType = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
export type GgufBigNumberType = "uint64" | "int64";
export type GgufTensorType = keyof typeof GGML_TENSOR_TYPE;

/** A typed metadata value. Use the helpers below (`gguf.u32(1)`, `gguf.strings([...])`, ...) to build them. */
export type GgufMetadataValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigNumberType; readonly value: bigint | number }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "array"; readonly itemType: GgufNumberType; readonly value: ArrayLike<number> }
  | { readonly type: "array"; readonly itemType: GgufBigNumberType; readonly value: ArrayLike<bigint | number> }
  | { readonly type: "array"; readonly itemType: "bool"; readonly value: ArrayLike<boolean> }
  | { readonly type: "array"; readonly itemType: "string"; readonly value: ArrayLike<string> };

/** Helpers for building typed metadata values. */
export const gguf = {
  u8: (value: number): GgufMetadataValue => ({ type: "uint8", value }),
  u32: (value: number): GgufMetadataValue => ({ type: "uint32", value }),
  i32: (value: number): GgufMetadataValue => ({ type: "int32", value }),
  u64: (value: bigint | number): GgufMetadataValue => ({ type: "uint64", value }),
  f32: (value: number): GgufMetadataValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufMetadataValue => ({ type: "bool", value }),
  str: (value: string): GgufMetadataValue => ({ type: "string", value }),
  strings: (value: ArrayLike<string>): GgufMetadataValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: ArrayLike<number>): GgufMetadataValue => ({ type: "array", itemType: "int32", value }),
  u32s: (value: ArrayLike<number>): GgufMetadataValue => ({ type: "array", itemType: "uint32", value }),
  f32s: (value: ArrayLike<number>): GgufMetadataValue => ({ type: "array", itemType: "float32", value }),
};

/** A tensor to store. */
export interface GgufTensor {
  /** Tensor name, e.g. `blk.0.attn_q.weight`. */
  readonly name: string;
  /** ggml dims, innermost first (`ne[0]` is the row length). 1 to 4 entries. */
  readonly dims: readonly number[];
  /** Storage type in the file. */
  readonly type: GgufTensorType;
  /**
   * Values in ggml order (row-major with `dims[0]` contiguous); length must equal the
   * product of dims. A function is called only when the tensor's data is written, so large
   * files can be produced without holding every tensor in memory at once.
   */
  readonly data: Float32Array | (() => Float32Array);
}

export class ByteSink {
  private chunks: Buffer[] = [];
  private current = Buffer.alloc(64 * 1024);
  private pos = 0;
  length = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.current.length) return;
    this.chunks.push(this.current.subarray(0, this.pos));
    this.current = Buffer.alloc(Math.max(64 * 1024, n));
    this.pos = 0;
  }
  u8(v: number): void {
    this.ensure(1);
    this.current.writeUInt8(v, this.pos);
    this.pos += 1;
    this.length += 1;
  }
  i8(v: number): void {
    this.ensure(1);
    this.current.writeInt8(v, this.pos);
    this.pos += 1;
    this.length += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.current.writeUInt16LE(v, this.pos);
    this.pos += 2;
    this.length += 2;
  }
  i16(v: number): void {
    this.ensure(2);
    this.current.writeInt16LE(v, this.pos);
    this.pos += 2;
    this.length += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.current.writeUInt32LE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.current.writeInt32LE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  f32(v: number): void {
    this.ensure(4);
    this.current.writeFloatLE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.current.writeDoubleLE(v, this.pos);
    this.pos += 8;
    this.length += 8;
  }
  u64(v: bigint | number): void {
    this.ensure(8);
    this.current.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    this.length += 8;
  }
  i64(v: bigint | number): void {
    this.ensure(8);
    this.current.writeBigInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.current.set(b, this.pos);
    this.pos += b.length;
    this.length += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    const n = padLength(this.length, alignment);
    if (n > 0) this.bytes(new Uint8Array(n));
  }
  toBuffer(): Buffer {
    return Buffer.concat([...this.chunks, this.current.subarray(0, this.pos)]);
  }
}

export function padLength(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

function writeScalar(sink: ByteSink, type: Exclude<keyof typeof GGUF_VALUE_TYPE, "array">, v: number | bigint | boolean | string): void {
  switch (type) {
    case "uint8":
      sink.u8(Number(v));
      break;
    case "int8":
      sink.i8(Number(v));
      break;
    case "uint16":
      sink.u16(Number(v));
      break;
    case "int16":
      sink.i16(Number(v));
      break;
    case "uint32":
      sink.u32(Number(v));
      break;
    case "int32":
      sink.i32(Number(v));
      break;
    case "float32":
      sink.f32(Number(v));
      break;
    case "float64":
      sink.f64(Number(v));
      break;
    case "uint64":
      sink.u64(typeof v === "bigint" ? v : Number(v));
      break;
    case "int64":
      sink.i64(typeof v === "bigint" ? v : Number(v));
      break;
    case "bool":
      sink.u8(v === true ? 1 : 0);
      break;
    case "string":
      sink.str(String(v));
      break;
  }
}

export function writeValue(sink: ByteSink, value: GgufMetadataValue): void {
  sink.u32(GGUF_VALUE_TYPE[value.type]);
  if (value.type !== "array") {
    writeScalar(sink, value.type, value.value);
    return;
  }
  sink.u32(GGUF_VALUE_TYPE[value.itemType]);
  sink.u64(value.value.length);
  for (let i = 0; i < value.value.length; i++) {
    const item = value.value[i];
    if (item === undefined) throw new Error("GGUF array has a hole");
    writeScalar(sink, value.itemType, item);
  }
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Round-to-nearest-even conversion of one float32 value to IEEE half-precision bits. */
export function float32ToFloat16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = rest > halfway || (rest === halfway && (half & 1) === 1) ? half + 1 : half;
    return sign | rounded;
  }
  const rest = mant & 0x1fff;
  let half = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1; // may carry into exponent: still correct
  e = half >>> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

export function tensorBytes(t: GgufTensor): Uint8Array {
  const values = typeof t.data === "function" ? t.data() : t.data;
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (values.length !== expected) {
    throw new Error(`tensor ${t.name}: ${values.length} values, dims [${t.dims.join(", ")}] need ${expected}`);
  }
  if (t.type === "Q8_0") return quantizeQ8_0(t, values);
  if (t.type === "F32") {
    if (endianness() === "LE") return new Uint8Array(new Float32Array(values).buffer);
    const le = Buffer.alloc(values.length * 4);
    for (let i = 0; i < values.length; i++) le.writeFloatLE(values[i] ?? 0, i * 4);
    return le;
  }
  if (endianness() === "LE") {
    const halves = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) halves[i] = float32ToFloat16Bits(values[i] ?? 0);
    return new Uint8Array(halves.buffer);
  }
  const out = Buffer.alloc(values.length * 2);
  for (let i = 0; i < values.length; i++) out.writeUInt16LE(float32ToFloat16Bits(values[i] ?? 0), i * 2);
  return out;
}

export function tensorByteLength(t: GgufTensor): number {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.type === "Q8_0") return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  return count * (t.type === "F32" ? 4 : 2);
}

/**
 * ggml's Q8_0 (quantize_row_q8_0_ref): per block of 32 values, scale d = max|x| / 127 stored as
 * F16, then round(x / d) as int8, halves rounded away from zero. Rows must be whole blocks.
 */
function quantizeQ8_0(t: GgufTensor, values: Float32Array): Uint8Array {
  const rowLength = t.dims[0] ?? 0;
  if (rowLength % Q8_0_BLOCK !== 0) throw new Error(`tensor ${t.name}: Q8_0 needs a row length (dims[0] = ${rowLength}) divisible by ${Q8_0_BLOCK}`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = Buffer.alloc(blocks * Q8_0_BLOCK_BYTES);
  for (let b = 0; b < blocks; b++) {
    const start = b * Q8_0_BLOCK;
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(values[start + i] ?? 0));
    const d = amax / 127;
    const inverse = d === 0 ? 0 : 1 / d;
    const offset = b * Q8_0_BLOCK_BYTES;
    out.writeUInt16LE(float32ToFloat16Bits(d), offset);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const x = (values[start + i] ?? 0) * inverse;
      out.writeInt8(Math.sign(x) * Math.round(Math.abs(x)), offset + 2 + i);
    }
  }
  return out;
}
