import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { beamSearch, type BeamHypothesis, type BeamSearchOptions } from "../../src/chat/beam-search.ts";

type EarlyStopping = boolean | "never";
/** Next-token log-probabilities (index = token id) after a prefix. */
type Model = (prefix: readonly number[]) => number[];

const END = 0;

/** A deterministic fake model: log-softmax of pseudo-random logits derived from a hash of (seed, prefix). */
function fakeModel(vocab: number, seed: number, spread = 3): Model {
  return (prefix) => {
    let h = (0x811c9dc5 ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
    for (const token of [...prefix, vocab]) h = Math.imul(h ^ (token + 1), 0x01000193) >>> 0;
    const logits: number[] = [];
    for (let v = 0; v < vocab; v++) {
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
      h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
      h = (h ^ (h >>> 15)) >>> 0;
      logits.push((h / 2 ** 32) * 2 * spread - spread);
    }
    const max = Math.max(...logits);
    const logZ = max + Math.log(logits.reduce((acc, l) => acc + Math.exp(l - max), 0));
    return logits.map((l) => l - logZ);
  };
}

/** `expand` over a model, keeping only the top `keep` entries of each distribution when given. */
function expandWith(model: Model, keep?: number, calls?: { count: number }): BeamSearchOptions["expand"] {
  return async (beams) => {
    if (calls) calls.count++;
    return beams.map((beam) => {
      const entries = model(beam).map((lp, token) => [token, lp] as [number, number]);
      entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      return new Map(keep === undefined ? entries : entries.slice(0, keep));
    });
  };
}

interface Setup {
  readonly model: Model;
  readonly width: number;
  readonly n: number;
  readonly maxTokens: number;
  readonly lengthPenalty: number;
  readonly earlyStopping: EarlyStopping;
  readonly ends?: readonly number[];
}

function run(setup: Setup, extra: Partial<BeamSearchOptions> = {}): Promise<BeamHypothesis[]> {
  const ends = setup.ends ?? [END];
  return beamSearch({
    width: setup.width,
    n: setup.n,
    maxTokens: setup.maxTokens,
    lengthPenalty: setup.lengthPenalty,
    earlyStopping: setup.earlyStopping,
    isEnd: (t) => ends.includes(t),
    expand: expandWith(setup.model),
    signal: new AbortController().signal,
    ...extra,
  });
}

const score = (sum: number, length: number, lp: number): number => sum / Math.max(1, length) ** lp;
const view = (hs: readonly BeamHypothesis[]) => hs.map((h) => ({ tokens: [...h.tokens], finish: h.finishReason, score: h.score }));

/** Every hypothesis: non-end tokens then the end token (stop), or maxTokens non-end tokens (length). */
function bruteForce(model: Model, vocab: number, maxTokens: number, lp: number): BeamHypothesis[] {
  const out: BeamHypothesis[] = [];
  const walk = (tokens: number[], sum: number): void => {
    if (tokens.length === maxTokens) {
      out.push({ tokens, cumulativeLogprob: sum, score: score(sum, tokens.length, lp), finishReason: "length" });
      return;
    }
    const dist = model(tokens);
    const endSum = sum + dist[END]!;
    out.push({ tokens, cumulativeLogprob: endSum, score: score(endSum, tokens.length, lp), finishReason: "stop" });
    for (let t = 0; t < vocab; t++) if (t !== END) walk([...tokens, t], sum + dist[t]!);
  };
  walk([], 0);
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Obviously-correct step-by-step beam search: expand every beam over the whole vocabulary, sort all
 * candidates, take the top 2*width, end candidates ranked below width finish, the first width others
 * run on. `exhaust` never stops early.
 */
function reference(setup: Setup, mode: EarlyStopping | "exhaust"): BeamHypothesis[] {
  const { model, width, maxTokens, lengthPenalty: lp } = setup;
  const ends = setup.ends ?? [END];
  type H = BeamHypothesis & { order: number };
  const pool: H[] = [];
  let found = 0;
  const add = (tokens: number[], sum: number, finishReason: "stop" | "length"): void => {
    pool.push({ tokens, cumulativeLogprob: sum, score: score(sum, tokens.length, lp), finishReason, order: found++ });
    pool.sort((a, b) => b.score - a.score || a.order - b.order);
    if (pool.length > width) pool.pop();
  };
  let running: { tokens: number[]; sum: number }[] = [{ tokens: [], sum: 0 }];
  for (let step = 1; step <= maxTokens; step++) {
    const all: { beam: number; token: number; sum: number }[] = [];
    running.forEach((b, beam) => model(b.tokens).forEach((l, token) => all.push({ beam, token, sum: b.sum + l })));
    all.sort((a, b) => b.sum - a.sum || a.beam - b.beam || a.token - b.token);
    const next: typeof running = [];
    for (const [rank, c] of all.slice(0, 2 * width).entries()) {
      if (next.length === width) break;
      const parent = running[c.beam]!;
      if (ends.includes(c.token)) {
        if (rank < width) add(parent.tokens, c.sum, "stop");
      } else next.push({ tokens: [...parent.tokens, c.token], sum: c.sum });
    }
    running = next;
    if (running.length === 0) return pool.slice(0, setup.n);
    if (pool.length >= width && mode !== "exhaust") {
      if (mode === true) return pool.slice(0, setup.n);
      const len = mode === "never" && lp > 0 ? maxTokens : step;
      if (pool[pool.length - 1]!.score >= score(running[0]!.sum, len, lp)) return pool.slice(0, setup.n);
    }
  }
  for (const b of running) add(b.tokens, b.sum, "length");
  return pool.slice(0, setup.n);
}

const PENALTIES = [0, 1, 2, -0.5];
const SEEDS = [1, 2, 3, 4, 5, 6];

describe("beamSearch", () => {
  it("equals brute force when width never prunes (early stopping 'never')", async () => {
    for (const [vocab, maxTokens] of [
      [3, 4],
      [4, 3],
      [3, 2],
      [4, 1],
    ] as const) {
      for (const lengthPenalty of PENALTIES) {
        for (const seed of SEEDS) {
          const model = fakeModel(vocab, seed);
          const width = vocab ** maxTokens;
          const n = Math.min(5, width);
          const got = await run({ model, width, n, maxTokens, lengthPenalty, earlyStopping: "never" });
          const want = bruteForce(model, vocab, maxTokens, lengthPenalty).slice(0, n);
          const label = `V=${vocab} L=${maxTokens} lp=${lengthPenalty} seed=${seed}`;
          assert.deepEqual(view(got), view(want), label);
          for (const [i, h] of got.entries()) assert.equal(h.cumulativeLogprob, want[i]!.cumulativeLogprob, label);
        }
      }
    }
  });

  it("matches the full-expansion reference for small widths, for each early-stopping mode", async () => {
    let cases = 0;
    for (const vocab of [3, 5]) {
      for (const width of [1, 2, 3, 4]) {
        for (const earlyStopping of [true, false, "never"] as const) {
          for (const lengthPenalty of PENALTIES) {
            for (const seed of SEEDS) {
              const setup = { model: fakeModel(vocab, seed), width, n: width, maxTokens: 7, lengthPenalty, earlyStopping };
              const label = `V=${vocab} w=${width} es=${earlyStopping} lp=${lengthPenalty} seed=${seed}`;
              assert.deepEqual(view(await run(setup)), view(reference(setup, earlyStopping)), label);
              cases++;
            }
          }
        }
      }
    }
    assert.equal(cases, 2 * 4 * 3 * PENALTIES.length * SEEDS.length);
  });

  it("early stopping 'never' returns what running to maxTokens would, and does stop early sometimes", async () => {
    let stoppedEarly = 0;
    for (const width of [2, 3]) {
      for (const lengthPenalty of PENALTIES) {
        for (const seed of SEEDS) {
          const setup = { model: fakeModel(4, seed, 4), width, n: width, maxTokens: 10, lengthPenalty, earlyStopping: "never" as const };
          const calls = { count: 0 };
          const got = await run(setup, { expand: expandWith(setup.model, undefined, calls) });
          assert.deepEqual(view(got), view(reference(setup, "exhaust")), `w=${width} lp=${lengthPenalty} seed=${seed}`);
          if (calls.count < setup.maxTokens) stoppedEarly++;
        }
      }
    }
    assert.ok(stoppedEarly > 0, "no case stopped early: the bound was never exercised");
  });

  it("gives the same results when expand returns only the top 2*width entries", async () => {
    for (const width of [1, 2, 3]) {
      for (const lengthPenalty of PENALTIES) {
        for (const seed of SEEDS) {
          const setup = { model: fakeModel(9, seed), width, n: width, maxTokens: 6, lengthPenalty, earlyStopping: false };
          const full = await run(setup);
          const partial = await run(setup, { expand: expandWith(setup.model, 2 * width) });
          assert.deepEqual(view(partial), view(full));
        }
      }
    }
  });

  it("handles several end tokens like the reference", async () => {
    for (const earlyStopping of [true, false, "never"] as const) {
      for (const seed of SEEDS) {
        const setup = { model: fakeModel(5, seed), width: 3, n: 2, maxTokens: 6, lengthPenalty: 1, earlyStopping, ends: [0, 3] };
        assert.deepEqual(view(await run(setup)), view(reference(setup, earlyStopping)));
      }
    }
  });

  it("considers only the top 2*width candidates, and only end candidates ranked below width", async () => {
    // Four end tokens outrank everything: the top 4 candidates are all ends, so no beam runs on.
    const endHeavy: Model = () => [-0.5, -1, -1.5, -2, -5, -6];
    const setup = { model: endHeavy, width: 2, n: 2, maxTokens: 4, lengthPenalty: 2, earlyStopping: "never" as const, ends: [0, 1, 2, 3] };
    const calls = { count: 0 };
    const got = await run(setup, { expand: expandWith(endHeavy, undefined, calls) });
    assert.equal(calls.count, 1);
    assert.deepEqual(
      got.map((h) => [h.tokens, h.cumulativeLogprob, h.finishReason]),
      [
        [[], -0.5, "stop"],
        [[], -1, "stop"],
      ],
    );
    assert.deepEqual(view(got), view(reference(setup, "never")));
  });

  it("is deterministic and returns n hypotheses, best score first", async () => {
    for (const seed of SEEDS) {
      const setup = { model: fakeModel(6, seed), width: 4, n: 3, maxTokens: 8, lengthPenalty: 1, earlyStopping: "never" as const };
      const a = await run(setup);
      const b = await run(setup);
      assert.deepEqual(a, b);
      assert.equal(a.length, 3);
      for (let i = 1; i < a.length; i++) assert.ok(a[i - 1]!.score >= a[i]!.score);
      for (const h of a) {
        assert.ok(!h.tokens.includes(END));
        assert.equal(h.score, score(h.cumulativeLogprob, h.tokens.length, 1));
      }
    }
  });

  it("breaks ties deterministically: lower parent rank, then lower token id", async () => {
    // Uniform model: every sequence of the same length has the same score.
    const uniform: Model = () => [Math.log(0.25), Math.log(0.25), Math.log(0.25), Math.log(0.25)];
    const got = await run({ model: uniform, width: 3, n: 3, maxTokens: 2, lengthPenalty: 0, earlyStopping: "never", ends: [] });
    assert.deepEqual(
      got.map((h) => h.tokens),
      [
        [0, 0],
        [0, 1],
        [0, 2],
      ],
    );
    assert.ok(got.every((h) => h.finishReason === "length"));
  });

  it("turns running beams into 'length' hypotheses at maxTokens", async () => {
    const got = await run({ model: fakeModel(4, 7), width: 2, n: 2, maxTokens: 5, lengthPenalty: 1, earlyStopping: false, ends: [] });
    assert.equal(got.length, 2);
    for (const h of got) {
      assert.equal(h.finishReason, "length");
      assert.equal(h.tokens.length, 5);
    }
  });

  it("rejects with the abort reason, before or during expansion", async () => {
    const before = new AbortController();
    const reason = new Error("cancelled");
    before.abort(reason);
    const setup = { model: fakeModel(4, 1), width: 2, n: 1, maxTokens: 5, lengthPenalty: 1, earlyStopping: false };
    await assert.rejects(run(setup, { signal: before.signal }), (e) => e === reason);

    const during = new AbortController();
    let calls = 0;
    const expand: BeamSearchOptions["expand"] = async (beams, signal) => {
      if (++calls === 3) during.abort("client went away");
      assert.equal(signal, during.signal);
      return expandWith(setup.model)(beams, signal);
    };
    await assert.rejects(run(setup, { signal: during.signal, expand }), (e) => e === "client went away");
    assert.equal(calls, 3);
  });

  it("validates its options", async () => {
    const setup = { model: fakeModel(4, 1), width: 2, n: 1, maxTokens: 5, lengthPenalty: 1, earlyStopping: false };
    await assert.rejects(run({ ...setup, n: 3 }), RangeError);
    await assert.rejects(run({ ...setup, width: 0, n: 0 }), RangeError);
    await assert.rejects(run({ ...setup, maxTokens: 0 }), RangeError);
    await assert.rejects(run({ ...setup, lengthPenalty: Number.NaN }), RangeError);
    const short: BeamSearchOptions["expand"] = async () => [];
    await assert.rejects(run(setup, { expand: short }), /distributions/);
  });
});
