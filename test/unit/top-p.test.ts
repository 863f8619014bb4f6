import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sampleTopP, seededRandom } from "../../src/engines/llama/top-p.ts";

describe("top-p sampling", () => {
  const probs = new Map([
    [10, 0.5],
    [11, 0.3],
    [12, 0.15],
    [13, 0.05],
  ]);

  it("seededRandom is deterministic per seed and spreads over [0, 1)", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const values = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(values.slice(0, 5), Array.from({ length: 5 }, () => b()));
    assert.ok(values.every((v) => v >= 0 && v < 1));
    assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) / 1000 - 0.5) < 0.05);
  });

  it("keeps the smallest set of most likely tokens reaching top_p", () => {
    const random = seededRandom(1);
    const seen = new Set(Array.from({ length: 500 }, () => sampleTopP(probs, 0.75, random)));
    assert.deepEqual([...seen].sort(), [10, 11]);
  });

  it("top_p ≈ 0 is greedy; top_p = 1 can reach every token", () => {
    const random = seededRandom(2);
    assert.equal(sampleTopP(probs, 1e-9, random), 10);
    const seen = new Set(Array.from({ length: 2000 }, () => sampleTopP(probs, 1, random)));
    assert.equal(seen.size, 4);
  });

  it("draws in proportion to the renormalised nucleus", () => {
    const random = seededRandom(3);
    const n = 20_000;
    let tens = 0;
    for (let i = 0; i < n; i++) if (sampleTopP(probs, 0.8, random) === 10) tens++;
    assert.ok(Math.abs(tens / n - 0.5 / 0.8) < 0.02);
  });
});
