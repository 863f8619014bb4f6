import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { ensureTestLora, testLoraFileName, writeTestLora } from "../support/test-lora.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { at, sha256 } from "../support/gguf.ts";

let dir: string;
let loraPath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-test-lora-"));
  loraPath = await ensureTestLora({ cacheDir: dir });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("test LoRA file", () => {
  test("is deterministic and cached under a name that depends on its options and base", async () => {
    const again = join(dir, "again.gguf");
    await writeTestLora(again);
    assert.equal(await sha256(again), await sha256(loraPath));
    assert.equal(await ensureTestLora({ cacheDir: dir }), loraPath);
    assert.match(testLoraFileName(), /^parley-test-lora-v\d+-[0-9a-f]{12}\.gguf$/);
    assert.notEqual(testLoraFileName({ rank: 8 }), testLoraFileName());
    assert.notEqual(testLoraFileName({ base: { blockCount: 3 } }), testLoraFileName());
  });

  test("has the adapter metadata and lora_a [K, rank] / lora_b [rank, N] tensors", async () => {
    const info = await readGgufFileInfo(loraPath, { logWarnings: false });
    const m: unknown = info.metadata;
    assert.equal(at(m, "general.type"), "adapter");
    assert.equal(at(m, "general.architecture"), "llama");
    assert.equal(at(m, "adapter.type"), "lora");
    assert.equal(at(m, "adapter.lora.alpha"), 4);
    const dims = new Map(info.fullTensorInfo?.map((t) => [t.name, t.dimensions.map(Number)]));
    assert.equal(dims.size, 14); // (attn_q, attn_v, ffn_up) x 2 blocks + output, a and b each
    assert.deepEqual(dims.get("blk.1.attn_v.weight.lora_a"), [64, 4]);
    assert.deepEqual(dims.get("blk.1.attn_v.weight.lora_b"), [4, 32]);
    assert.deepEqual(dims.get("output.weight.lora_b"), [4, 2048]);
  });
});

describe("test LoRA in node-llama-cpp", () => {
  let llama: Llama;
  let model: LlamaModel;
  const contexts: LlamaContext[] = [];
  const context = async (scale?: number, path = loraPath): Promise<LlamaContext> => {
    const lora = scale === undefined ? undefined : { adapters: [{ filePath: path, scale }] };
    const ctx = await model.createContext({ contextSize: 256, threads: 1, ...(lora ? { lora } : {}) });
    contexts.push(ctx);
    return ctx;
  };
  let prompt: Token[];

  before(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => {} });
    model = await llama.loadModel({ modelPath: await ensureTestModel() });
    prompt = model.tokenize("Hello there, how are you today?");
  });
  after(async () => {
    for (const ctx of contexts) await ctx.dispose();
    await model?.dispose();
    await llama?.dispose();
  });

  async function nextTokenProbs(ctx: LlamaContext): Promise<Map<Token, number>> {
    const seq = ctx.getSequence();
    try {
      const last = prompt.at(-1);
      assert.ok(last !== undefined);
      const res = await seq.controlledEvaluate([...prompt.slice(0, -1), [last, { generateNext: { probabilities: true } }]]);
      const probs = res.at(-1)?.next?.probabilities;
      assert.ok(probs);
      return probs;
    } finally {
      await seq.dispose();
    }
  }
  async function greedy(ctx: LlamaContext, count = 8): Promise<Token[]> {
    const seq = ctx.getSequence();
    try {
      const out: Token[] = [];
      for await (const token of seq.evaluate(prompt, { temperature: 0 })) if (out.push(token) >= count) break;
      return out;
    } finally {
      await seq.dispose();
    }
  }
  /** Total variation distance between two next-token distributions. */
  function tvd(a: Map<Token, number>, b: Map<Token, number>): number {
    let sum = 0;
    for (const id of new Set([...a.keys(), ...b.keys()])) sum += Math.abs((a.get(id) ?? 0) - (b.get(id) ?? 0));
    return sum / 2;
  }

  test("the adapter changes the next-token distribution; scale 0 and no adapter give the base", async () => {
    const [base, adapted, zero, plain] = [await context(), await context(1), await context(0), await context()];
    const baseProbs = await nextTokenProbs(base);
    assert.ok(tvd(baseProbs, await nextTokenProbs(adapted)) > 0.3, "adapter barely changes the distribution");
    assert.ok(tvd(baseProbs, await nextTokenProbs(zero)) < 1e-6);
    assert.ok(tvd(baseProbs, await nextTokenProbs(plain)) < 1e-6); // created after the adapter was loaded
    assert.notDeepEqual(await greedy(adapted), await greedy(base));
  });

  test("alpha scales the adapter: alpha 8 at scale 0.5 equals alpha 4 at scale 1", async () => {
    const alpha8 = join(dir, "alpha8.gguf");
    await writeTestLora(alpha8, { alpha: 8 });
    assert.ok(tvd(await nextTokenProbs(await context(0.5, alpha8)), await nextTokenProbs(await context(1))) < 1e-5);
  });

  test("contexts with and without the adapter evaluate concurrently with their own outputs", async () => {
    const [base, adapted] = [await context(), await context(1)];
    const expected = [await greedy(base), await greedy(adapted)];
    assert.deepEqual(await Promise.all([greedy(base), greedy(adapted)]), expected);
  });

  test("an adapter for another base shape is rejected", async () => {
    const wrong = join(dir, "wrong.gguf");
    await writeTestLora(wrong, { base: { embeddingLength: 128 } });
    await assert.rejects(context(1, wrong), /LoRA/);
  });
});
