import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import { encodeGguf, float32ToFloat16Bits, gguf, writeGgufFile, type GgufFileSpec } from "../../src/testing/gguf-writer.ts";
import { at } from "../support/gguf.ts";

test("float32ToFloat16Bits rounds like IEEE half precision", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [2 ** -25, 0x0000],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
  ];
  for (const [value, bits] of cases) assert.equal(float32ToFloat16Bits(value), bits, `f16(${value})`);
  assert.equal(float32ToFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(float32ToFloat16Bits(NaN) & 0x3ff, 0);
});

test("writes typed metadata, arrays and aligned F32/F16 tensors that node-llama-cpp reads back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-gguf-"));
  try {
    const spec: GgufFileSpec = {
      alignment: 64,
      metadata: {
        "general.architecture": gguf.str("llama"),
        "test.u32": gguf.u32(7),
        "test.i32": gguf.i32(-5),
        "test.f32": gguf.f32(0.25),
        "test.bool": gguf.bool(true),
        "test.u64": gguf.u64(2n ** 40n),
        "test.strings": gguf.strings(["a", "ünïcode", ""]),
        "test.ints": gguf.i32s([1, -2, 3]),
        "test.floats": gguf.f32s([0.5, -1.5]),
      },
      tensors: [
        { name: "a", dims: [3], type: "F32", data: new Float32Array([1, 2, 3]) },
        { name: "b", dims: [2, 3], type: "F16", data: () => new Float32Array([1, -1, 0.5, 2, 0, 3]) },
      ],
    };
    const path = join(dir, "t.gguf");
    await writeGgufFile(path, spec);
    const bytes = await readFile(path);
    assert.deepEqual(bytes, encodeGguf(spec));
    assert.equal(bytes.subarray(0, 4).toString("ascii"), "GGUF");
    assert.equal(bytes.readUInt32LE(4), 3);

    const info = await readGgufFileInfo(path, { logWarnings: false });
    const m: unknown = info.metadata;
    assert.equal(at(m, "general.alignment"), 64);
    assert.equal(at(m, "test.u32"), 7);
    assert.equal(at(m, "test.i32"), -5);
    assert.equal(at(m, "test.f32"), 0.25);
    assert.equal(at(m, "test.bool"), true);
    assert.equal(BigInt(at(m, "test.u64") as number | bigint), 2n ** 40n);
    assert.deepEqual(at(m, "test.strings"), ["a", "ünïcode", ""]);
    assert.deepEqual(at(m, "test.ints"), [1, -2, 3]);
    assert.deepEqual(at(m, "test.floats"), [0.5, -1.5]);

    const tensors = info.tensorInfo ?? [];
    assert.deepEqual(
      tensors.map((t) => [t.name, t.dimensions.map(Number), Number(t.ggmlType), Number(t.offset)]),
      [
        ["a", [3], 0, 0],
        ["b", [2, 3], 1, 64],
      ],
    );
    const dataStart = bytes.length - 64 - 64; // a: 12 bytes padded to 64, b: 12 bytes padded to 64
    assert.equal(dataStart % 64, 0);
    assert.equal(bytes.readFloatLE(dataStart + 8), 3);
    assert.equal(bytes.readUInt16LE(dataStart + 64 + 2), 0xbc00); // -1 as f16
    assert.equal(bytes.readUInt16LE(dataStart + 64 + 10), 0x4200); // 3 as f16
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("rejects inconsistent tensors", () => {
  assert.throws(() => encodeGguf({ metadata: {}, tensors: [{ name: "x", dims: [2, 2], type: "F32", data: new Float32Array(3) }] }), /values/);
  const t = { name: "x", dims: [1], type: "F32", data: new Float32Array(1) } as const;
  assert.throws(() => encodeGguf({ metadata: {}, tensors: [t, t] }), /duplicate/);
});

test("Q8_0: 34-byte blocks of an F16 scale (max |x| / 127) and int8 quants, rounded half away from zero", () => {
  const values = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? (i - 16) / 16 : 0));
  values[0] = -127 / 16; // max |x| of the first block: scale 1/16
  values[1] = 1.5 / 16; // 1.5 steps: rounds to 2
  values[2] = -1.5 / 16; // -1.5 steps: rounds to -2
  const spec: GgufFileSpec = { metadata: {}, tensors: [{ name: "q", dims: [32, 2], type: "Q8_0", data: values }] };
  const bytes = encodeGguf(spec);
  const block = bytes.subarray(bytes.length - 2 * 34 - 28); // 68 bytes of data, padded to 96
  assert.equal(block.readUInt16LE(0), float32ToFloat16Bits(1 / 16));
  assert.equal(block.readInt8(2), -127);
  assert.equal(block.readInt8(3), 2);
  assert.equal(block.readInt8(4), -2);
  assert.equal(block.readInt8(2 + 31), 15); // (31 - 16) / 16
  assert.equal(block.readUInt16LE(34), 0); // an all-zero block: scale 0, quants 0
  assert.throws(() => encodeGguf({ metadata: {}, tensors: [{ name: "q", dims: [16, 2], type: "Q8_0", data: new Float32Array(32) }] }), /divisible by 32/);
});
