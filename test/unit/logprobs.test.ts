import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeLogprobs } from "../../src/engines/llama/logprobs.ts";

const softmax = (logits: number[]) => {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return new Map(exps.map((e, i) => [i, e / sum]));
};

describe("computeLogprobs", () => {
  const logits = [0.5, 2, -1, 1, -3];
  const probs = softmax(logits);
  const expected = [...probs.values()].map(Math.log);

  it("gives the chosen token's log-probability and the top alternatives, sorted", () => {
    const result = computeLogprobs(probs, 3, 3);
    assert.ok(Math.abs(result.chosen - (expected[3] ?? 0)) < 1e-12);
    assert.deepEqual(
      result.top.map((t) => t.token),
      [1, 3, 0],
    );
    result.top.forEach((alt) => assert.ok(Math.abs(alt.logprob - (expected[alt.token] ?? 0)) < 1e-12));
  });

  it("renormalises a map whose mass is not exactly 1", () => {
    const scaled = new Map([...probs].map(([t, p]) => [t, p * 0.5]));
    const result = computeLogprobs(scaled, 1, 5);
    assert.ok(Math.abs(result.chosen - (expected[1] ?? 0)) < 1e-12);
    assert.ok(Math.abs(result.top.reduce((s, t) => s + Math.exp(t.logprob), 0) - 1) < 1e-12);
  });

  it("gives −Infinity for a token outside the candidates and an empty top list for 0", () => {
    const result = computeLogprobs(new Map([[0, 1]]), 7, 0);
    assert.equal(result.chosen, -Infinity);
    assert.deepEqual(result.top, []);
  });
});
