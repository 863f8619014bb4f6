import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DraftPolicy, StepCosts } from "../../src/engines/llama/draft-policy.ts";
import { positionSeed } from "../../src/engines/llama/speculative-steps.ts";

/** Costs like llama.cpp's CPU kernels on one thread (ms by batch size): a long batch is cheaper per token, a short one is not. */
function cpuCosts(): StepCosts {
  const costs = new StepCosts();
  for (const [tokens, ms] of [
    [1, 2.4],
    [2, 6.4],
    [5, 9],
    [9, 12.5],
    [17, 16],
  ] as const)
    costs.record(tokens, ms);
  return costs;
}

/** Costs like a GPU's: a batch of 17 costs little more than one token. */
function gpuCosts(): StepCosts {
  const costs = new StepCosts();
  for (let tokens = 1; tokens <= 17; tokens++) costs.record(tokens, 1.5 + tokens * 0.02);
  return costs;
}

const draft = Array.from({ length: 16 }, (_, i) => 100 + i);

describe("StepCosts", () => {
  it("interpolates between measured sizes, and assumes an unmeasured larger size costs the largest measured below it", () => {
    const costs = new StepCosts();
    assert.equal(costs.estimate(4), undefined);
    costs.record(1, 2);
    costs.record(5, 10);
    assert.equal(costs.estimate(3), 6);
    assert.equal(costs.estimate(9), 10);
    assert.equal(costs.estimate(1), 2);
  });

  it("follows recent steps", () => {
    const costs = new StepCosts();
    costs.record(4, 10);
    for (let i = 0; i < 30; i++) costs.record(4, 20);
    assert.ok(Math.abs((costs.estimate(4) ?? 0) - 20) < 0.1);
  });
});

describe("DraftPolicy", () => {
  it("drafts nothing until a plain step was measured, then tries the whole draft once", () => {
    const costs = new StepCosts();
    const policy = new DraftPolicy(costs, { prior: 0.5 });
    assert.equal(policy.choose(draft, 1), 0);
    costs.record(1, 2.4);
    assert.equal(policy.choose(draft, 1), 16, "a size never measured is assumed as cheap as the largest measured below it");
    costs.record(17, 16);
    // Interpolated, a 2-token step looks cheap: it is tried once, measured, and then drafting stops.
    assert.equal(policy.choose(draft, 1), 1);
    costs.record(2, 6.4);
    assert.equal(policy.choose(draft, 1), 0, "at even odds no CPU step of drafts pays");
  });

  it("on CPU-like costs, drafts only when drafts are nearly always right; on GPU-like costs, already at even odds", () => {
    assert.equal(new DraftPolicy(cpuCosts(), { prior: 0.5 }).choose(draft, 1), 0);
    assert.ok(new DraftPolicy(cpuCosts(), { prior: 0.97 }).choose(draft, 1) >= 8);
    assert.ok(new DraftPolicy(gpuCosts(), { prior: 0.5 }).choose(draft, 1) >= 4);
  });

  it("never sends a single drafted token where a two-token batch costs more than two steps", () => {
    const policy = new DraftPolicy(cpuCosts(), { prior: 0.99 });
    assert.notEqual(policy.choose([7], 1), 1);
  });

  it("learns from drafts it sent and from drafts it held back", () => {
    const policy = new DraftPolicy(cpuCosts(), { prior: 0.5 });
    assert.equal(policy.choose(draft, 1), 0);
    // The held-back draft keeps turning out right: drafting starts.
    for (let step = 0; step < 20 && policy.choose(draft, 1) === 0; step++) policy.followed([100]);
    assert.ok(policy.acceptance > 0.85, `acceptance ${policy.acceptance}`);
    assert.ok(policy.choose(draft, 1) > 0);
    // Sent drafts that fail at once bring it down, and drafting stops.
    for (let step = 0; step < 10; step++) policy.sent(16, 0);
    assert.ok(policy.acceptance < 0.3, `acceptance ${policy.acceptance}`);
    assert.equal(policy.choose(draft, 1), 0);
  });

  it("a held-back draft is scored up to its first mismatch", () => {
    const policy = new DraftPolicy(cpuCosts(), { prior: 0.5, priorWeight: 2, decay: 1 });
    policy.choose([1, 2, 3], 1);
    policy.followed([1]);
    policy.followed([2]);
    policy.followed([9]);
    policy.followed([3]); // nothing held back any more
    // Prior 1 of 2, then kept, kept, failed: 3 of 5.
    assert.equal(policy.acceptance, 3 / 5);
  });
});

describe("positionSeed", () => {
  it("is deterministic, and different for every step", () => {
    assert.equal(positionSeed(42, 3), positionSeed(42, 3));
    const seeds = new Set(Array.from({ length: 1000 }, (_, index) => positionSeed(42, index)));
    assert.equal(seeds.size, 1000);
    for (const seed of seeds) assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
    assert.notEqual(positionSeed(1, 0), positionSeed(2, 0));
  });
});
