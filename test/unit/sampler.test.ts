import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sampleToken, seededRandom } from "../../src/engines/llama/sampler.ts";

describe("JS sampler (logprobs requests)", () => {
  const probs = new Map([
    [10, 0.5],
    [11, 0.3],
    [12, 0.15],
    [13, 0.05],
  ]);
  const frequencies = (temperature: number, topP: number, n = 20_000) => {
    const random = seededRandom(7);
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const token = sampleToken(probs, { temperature, topP }, random);
      counts.set(token, (counts.get(token) ?? 0) + 1 / n);
    }
    return counts;
  };

  it("seededRandom is deterministic per seed and spreads over [0, 1)", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const values = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      values.slice(0, 5),
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(values.every((v) => v >= 0 && v < 1));
    assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) / 1000 - 0.5) < 0.05);
  });

  it("temperature 1, top_p 1 samples the distribution itself", () => {
    const f = frequencies(1, 1);
    for (const [token, p] of probs) assert.ok(Math.abs((f.get(token) ?? 0) - p) < 0.015, `token ${token}`);
  });

  it("top-p keeps the smallest set of most likely tokens reaching top_p, renormalised", () => {
    const f = frequencies(1, 0.75);
    assert.deepEqual([...f.keys()].sort(), [10, 11]);
    assert.ok(Math.abs((f.get(10) ?? 0) - 0.5 / 0.8) < 0.015);
  });

  it("temperature reshapes the kept tokens as p^(1/T)", () => {
    const f = frequencies(0.5, 1);
    const z = [...probs.values()].reduce((s, p) => s + p ** 2, 0);
    for (const [token, p] of probs) assert.ok(Math.abs((f.get(token) ?? 0) - p ** 2 / z) < 0.015, `token ${token}`);
  });

  it("a tiny top_p is greedy; unsorted input is handled", () => {
    const unsorted = new Map([
      [1, 0.1],
      [2, 0.7],
      [3, 0.2],
    ]);
    assert.equal(sampleToken(unsorted, { temperature: 1, topP: 1e-9 }, seededRandom(1)), 2);
  });
});

describe("sampleToken: top-k and min-p", () => {
  const probs = new Map([
    [7, 0.5],
    [3, 0.3],
    [9, 0.15],
    [1, 0.05],
  ]);
  it("top_k 1 is greedy at any temperature", () => {
    const random = seededRandom(5);
    for (let i = 0; i < 200; i++) assert.equal(sampleToken(probs, { temperature: 2, topP: 1, topK: 1 }, random), 7);
  });
  it("top_k 2 and min_p 0.5 keep exactly the allowed tokens", () => {
    const random = seededRandom(6);
    const seenK = new Set<number>();
    const seenP = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      seenK.add(sampleToken(probs, { temperature: 1.5, topP: 1, topK: 2 }, random));
      seenP.add(sampleToken(probs, { temperature: 1.5, topP: 1, minP: 0.5 }, random));
    }
    assert.deepEqual([...seenK].sort(), [3, 7]);
    assert.deepEqual([...seenP].sort(), [3, 7]); // 0.15 < 0.5 × 0.5
  });
  it("min_p 1 keeps only the most likely token", () => {
    const random = seededRandom(8);
    for (let i = 0; i < 200; i++) assert.equal(sampleToken(probs, { temperature: 1, topP: 1, minP: 1 }, random), 7);
  });
});
