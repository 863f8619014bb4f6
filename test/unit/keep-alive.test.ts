/** `keep_alive` values (schemas/keep-alive.ts) and `--models-dir` scanning (config/models-dir.ts). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { modelsInDir } from "../../src/config/models-dir.ts";
import { keepAliveField, parseDuration } from "../../src/schemas/keep-alive.ts";

describe("keep_alive", () => {
  it("reads seconds and Go durations as Ollama does", () => {
    assert.equal(parseDuration("300"), 300);
    assert.equal(parseDuration("5m"), 300);
    assert.equal(parseDuration("1h30m"), 5400);
    assert.equal(parseDuration("1.5s"), 1.5);
    assert.equal(parseDuration("250ms"), 0.25);
    assert.equal(parseDuration("-1"), -1);
    assert.equal(parseDuration("-5m"), -300);
    assert.equal(parseDuration("soon"), undefined);
    assert.equal(parseDuration("5 m"), undefined);
  });

  it("normalises to seconds, any negative value to -1 (keep loaded)", () => {
    assert.equal(keepAliveField.parse(0), 0);
    assert.equal(keepAliveField.parse("10m"), 600);
    assert.equal(keepAliveField.parse(-3), -1);
    assert.equal(keepAliveField.parse("-1h"), -1);
    assert.equal(keepAliveField.parse(null), null);
    assert.equal(keepAliveField.safeParse("later").success, false);
  });
});

describe("--models-dir", () => {
  it("serves each *.gguf by its name, a split model once, and skips projectors and other files", () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-dir-"));
    try {
      for (const name of ["b-model.gguf", "A.GGUF", "big-00001-of-00002.gguf", "big-00002-of-00002.gguf", "mmproj-b.gguf", "notes.txt"]) writeFileSync(join(dir, name), "");
      const models = modelsInDir(dir);
      assert.deepEqual(
        models.map((m) => [m.id, m.source]),
        [
          ["A", join(dir, "A.GGUF")],
          ["b-model", join(dir, "b-model.gguf")],
          ["big", join(dir, "big-00001-of-00002.gguf")],
        ],
      );
      assert.throws(() => modelsInDir(join(dir, "missing")), /cannot read the folder/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
