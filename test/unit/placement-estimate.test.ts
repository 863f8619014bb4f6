/**
 * The memory estimate (memory-estimate.ts) on the real test model: plausible numbers on this
 * machine's binding, a KV part that grows with context size × sequences, one more context per
 * LoRA adapter, embedding contexts for embedding models — and the engines' `estimateMemory`
 * (chat, embedding, and the auto-kind engine, which detects the kind first) giving the same as
 * the function for their settings, before loading and once loaded. Also `machineMemory`.
 */
import assert from "node:assert/strict";
import { totalmem } from "node:os";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config/config.ts";
import { createEngine } from "../../src/engines/registry.ts";
import { LlamaEngine } from "../../src/engines/llama/engine.ts";
import { prepareLlama } from "../../src/engines/llama/llama-runtime.ts";
import { machineMemory } from "../../src/engines/llama/machine-memory.ts";
import { estimateModelMemory } from "../../src/engines/llama/memory-estimate.ts";
import type { ChatEngine, MemoryEstimate } from "../../src/engines/types.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { ensureTestLora } from "../support/test-lora.ts";

let chatPath: string;
let embeddingPath: string;
let gpu: string | false;

before(async () => {
  chatPath = await ensureTestModel();
  embeddingPath = await ensureTestModel({ model: { pooling: "mean" } });
  gpu = (await machineMemory()).gpu;
});

const total = (m: MemoryEstimate) => m.ram + m.vram;

describe("machineMemory", () => {
  it("is the host's RAM, and the GPU's memory only with a GPU", async () => {
    const machine = await machineMemory();
    assert.equal(machine.ram, totalmem());
    if (machine.gpu === false) assert.equal(machine.vram, 0);
    else assert.ok(machine.vram > 0);
  });
});

describe("estimateModelMemory", () => {
  it("is plausible: at least the weights, and on the GPU only with one", async () => {
    const estimate = await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 1 });
    assert.ok(Number.isInteger(estimate.ram) && Number.isInteger(estimate.vram));
    assert.ok(total(estimate) > 700_000, `${JSON.stringify(estimate)}: the test model's weights alone are about 0.7 MB`);
    if (gpu === false) {
      assert.equal(estimate.vram, 0);
      assert.ok(estimate.ram > 0);
    }
    const cpuOnly = await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 1, placement: { gpuLayers: 0 } });
    assert.equal(cpuOnly.vram, 0);
  });

  it("grows with context size × sequences (the KV cache)", async () => {
    const at = (contextSize: number, parallel: number) => estimateModelMemory(chatPath, { kind: "chat", contextSize, parallel, placement: { gpuLayers: 0 } });
    const small = await at(512, 1);
    const longer = await at(2048, 1);
    const wider = await at(512, 4);
    const both = await at(2048, 4);
    assert.ok(total(longer) > total(small), "a longer context takes more");
    assert.ok(total(wider) > total(small), "more sequences take more");
    assert.ok(total(both) > total(longer) && total(both) > total(wider));
    // The test model's KV cache: 2 (K and V) × 2 layers × 2 KV heads × 16 values × 2 bytes (f16) = 256 bytes per token.
    assert.ok(total(both) - total(small) >= (2048 * 4 - 512) * 256, `${total(both) - total(small)} bytes for ${2048 * 4 - 512} more tokens`);
  });

  it("counts one more context per LoRA adapter, and its file", async () => {
    const lora = await ensureTestLora();
    const base = await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 2, placement: { gpuLayers: 0 } });
    const adapters = [{ id: "a", path: lora, scale: 1 }];
    const withAdapter = await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 2, adapters, placement: { gpuLayers: 0 } });
    const context = total(withAdapter) - total(base);
    assert.ok(context > 0);
    const two = await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 2, adapters: [...adapters, { id: "b", path: lora, scale: 0.5 }], placement: { gpuLayers: 0 } });
    assert.equal(total(two) - total(base), 2 * context);
  });

  it("embedding models: `parallel` one-sequence embedding contexts", async () => {
    const one = await estimateModelMemory(embeddingPath, { kind: "embedding", contextSize: 512, placement: { gpuLayers: 0 } });
    const three = await estimateModelMemory(embeddingPath, { kind: "embedding", contextSize: 512, parallel: 3, placement: { gpuLayers: 0 } });
    assert.ok(total(one) > 0);
    assert.ok(total(three) > total(one));
  });
});

describe("the engines' estimateMemory", () => {
  const engines: ChatEngine[] = [];
  after(async () => {
    for (const engine of engines) await engine.close(0);
  });
  const config = loadConfig(["--ctx-size", "512", "--parallel", "2", "--threads", "1", "--gpu-layers", "0"], {});
  const local = (path: string, id: string) => {
    const engine = createEngine({ kind: "local", id, aliases: [], source: path, lora: [] }, config, { logger: () => undefined });
    engines.push(engine);
    return engine;
  };

  it("a chat engine's, before loading, is the estimate for its settings, and once loaded is for what it got", async () => {
    const engine = new LlamaEngine({ modelId: "chat", model: { path: async () => chatPath, contextSize: 512, parallel: 2, threads: 1, placement: { gpuLayers: 0 } } });
    engines.push(engine);
    const before = await engine.estimateMemory();
    assert.deepEqual(before, await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 2, placement: { gpuLayers: 0 } }));
    assert.equal(engine.isReady(), false, "estimating loads nothing");
    await engine.load();
    const placement = engine.describe().models[0]?.placement;
    assert.ok(placement !== undefined);
    assert.deepEqual(await engine.estimateMemory(), placement.memory);
    assert.equal(placement.gpuLayers, 0);
    assert.ok(placement.totalLayers > 0);
    // Same settings, same insights: the loaded model's estimate is the planned one, within a few percent.
    assert.ok(Math.abs(total(placement.memory) - total(before)) <= 0.05 * total(before), `${JSON.stringify(placement.memory)} vs ${JSON.stringify(before)}`);
  });

  it("the auto-kind engine detects the kind first and estimates for it", async () => {
    const chat = local(chatPath, "auto-chat");
    const embedding = local(embeddingPath, "auto-embedding");
    assert.deepEqual(await chat.estimateMemory?.(), await estimateModelMemory(chatPath, { kind: "chat", contextSize: 512, parallel: 2, placement: { gpuLayers: 0 } }));
    // An embedding model's `parallel` is its own setting (default 1), not the server's.
    assert.deepEqual(await embedding.estimateMemory?.(), await estimateModelMemory(embeddingPath, { kind: "embedding", contextSize: 512, placement: { gpuLayers: 0 } }));
    assert.equal(embedding.isReady(), false);
    await embedding.load();
    assert.equal(embedding.describe().models[0]?.kind, "embedding");
    assert.deepEqual(await embedding.estimateMemory?.(), embedding.describe().models[0]?.placement?.memory);
  });
});

describe("the process's one binding (--gpu)", () => {
  it("serves an explicit ask for the backend it resolved to, and refuses another once a model holds it", async () => {
    const llama = await prepareLlama();
    assert.equal(await prepareLlama(llama.gpu === false ? "false" : llama.gpu), llama);
    // The engines above loaded models on it: switching now would pull it from under them.
    const other = llama.gpu === "vulkan" ? "cuda" : "vulkan";
    await assert.rejects(prepareLlama(other), new RegExp(`already runs with --gpu auto .*--gpu ${other} cannot be used in the same process`));
    assert.equal(await prepareLlama(), llama, "and it stays");
  });
});
