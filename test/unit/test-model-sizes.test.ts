/**
 * Size presets of the test model (`size`, `parley make-test-model --size`): the default stays the
 * same file, and a benchmark preset is a Q8_0 model that loads and generates.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Token } from "node-llama-cpp";
import { TEST_MODEL_SIZES, testModelFileName, writeTestModel } from "../../src/testing/test-model.ts";
import { at } from "../support/gguf.ts";

test("'tiny' is the default model; other presets and overrides name other files", () => {
  assert.equal(testModelFileName({ size: "tiny" }), testModelFileName());
  assert.equal(testModelFileName({ size: "25m", matrixType: undefined }), testModelFileName({ size: "25m" }));
  const names = new Set([testModelFileName(), testModelFileName({ size: "25m" }), testModelFileName({ size: "100m" }), testModelFileName({ size: "25m", matrixType: "F16" })]);
  assert.equal(names.size, 4);
  assert.throws(() => testModelFileName({ size: "7b" as never }), /unknown test model size/);
});

test("the 25m preset is a Q8_0 llama that loads and generates", async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-size-"));
  try {
    const path = join(dir, "m.gguf");
    await writeTestModel(path, { size: "25m" });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    assert.equal(at(info.metadata, "general.file_type"), 7); // MOSTLY_Q8_0
    assert.equal(at(info.metadata, "llama.embedding_length"), TEST_MODEL_SIZES["25m"].embeddingLength);
    assert.equal(at(info.metadata, "llama.block_count"), TEST_MODEL_SIZES["25m"].blockCount);
    const types = new Set((info.tensorInfo ?? []).map((t) => Number(t.ggmlType)));
    assert.deepEqual([...types].sort(), [0, 8]); // F32 norms, Q8_0 matrices

    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      const tokens: Token[] = [];
      for await (const token of context.getSequence().evaluate(model.tokenize("Once upon a time"), { temperature: 0, yieldEogToken: true })) {
        tokens.push(token);
        if (tokens.length >= 16) break;
      }
      assert.equal(tokens.length, 16);
      assert.ok(new Set(tokens).size > 3, `degenerate output: ${tokens.join(",")}`);
    } finally {
      await context.dispose();
      await model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
