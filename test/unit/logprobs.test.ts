import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeLogprobs } from "../../src/engines/llama/logprobs.ts";

const softmax = (logits: number[], t = 1) => {
  const scaled = logits.map((l) => l / t);
  const max = Math.max(...scaled);
  const exps = scaled.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return new Map(exps.map((e, i) => [i, e / sum]));
};

describe("computeLogprobs", () => {
  const logits = [2, 1, 0.5, -1, -3];
  const expected = [...softmax(logits).values()].map(Math.log);

  it("recovers the untempered distribution from tempered probabilities", () => {
    for (const t of [0.3, 0.7, 1, 1.5, 2]) {
      const result = computeLogprobs(softmax(logits, t), 1, t, 5);
      assert.ok(Math.abs(result.chosen - (expected[1] ?? 0)) < 1e-9, `t=${t}`);
      result.top.forEach((alt, i) => assert.ok(Math.abs(alt.logprob - (expected[alt.token] ?? 0)) < 1e-9 && alt.token === i));
    }
  });

  it("treats temperature 0 (greedy) as untempered", () => {
    const result = computeLogprobs(softmax(logits), 0, 0, 2);
    assert.ok(Math.abs(result.chosen - (expected[0] ?? 0)) < 1e-12);
    assert.deepEqual(result.top.map((t) => t.token), [0, 1]);
  });

  it("gives −Infinity for a token outside the candidates and an empty top list for 0", () => {
    const result = computeLogprobs(new Map([[0, 1]]), 7, 1, 0);
    assert.equal(result.chosen, -Infinity);
    assert.deepEqual(result.top, []);
  });

  it("normalises over what is present (sum of probabilities = 1)", () => {
    const result = computeLogprobs(softmax(logits, 0.5), 0, 0.5, 5);
    const mass = result.top.reduce((s, t) => s + Math.exp(t.logprob), 0);
    assert.ok(Math.abs(mass - 1) < 1e-9);
  });
});
