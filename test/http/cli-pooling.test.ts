/**
 * `parley make-test-model --pooling`: the command writes the same bytes as the cached pooled
 * (embedding) test model, and refuses an unknown pooling or one combined with `--tokenizer`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { detectModelKind } from "../../src/engines/llama/model-kind.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";

const BIN = join(import.meta.dirname, "../../bin/parley.js");

function exitCode(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: "ignore" });
  return new Promise((resolve) => child.on("exit", resolve));
}

const hash = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

describe("parley make-test-model --pooling", () => {
  it("writes the pooled test model, detected as an embedding model", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-cli-pooling-"));
    try {
      const out = join(dir, "embed.gguf");
      assert.equal(await exitCode(["make-test-model", out, "--pooling", "cls"]), 0);
      assert.equal(await hash(out), await hash(await ensureTestModel({ model: { pooling: "cls" } })));
      assert.equal((await detectModelKind(out)).kind, "embedding");
      assert.equal(await exitCode(["make-test-model", join(dir, "x.gguf"), "--pooling", "max"]), 2);
      assert.equal(await exitCode(["make-test-model", join(dir, "y.gguf"), "--pooling", "mean", "--tokenizer", "qwen3"]), 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
