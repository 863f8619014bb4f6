/**
 * GPU and memory controls over HTTP: the placement flags reach the model (it still generates,
 * with exact usage) and `/v1/models` says where it runs — device, layers offloaded, flash
 * attention, KV cache type, memory estimate; a quantized KV cache works on a model whose heads
 * are whole blocks, and is refused at load with a message naming the settings where llama.cpp
 * could not create it (flash attention off; heads of 16 values on the default test model).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/config.ts";
import type { WireModel } from "../../src/http/routes/models.ts";
import { startServer } from "../../src/server.ts";
import { machineMemory } from "../../src/engines/llama/machine-memory.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

/** A completion of exactly `max_tokens` tokens, its usage checked. */
async function generates(server: TestServer, model = MODEL): Promise<void> {
  const completion = await server.client.chat.completions.create({ model, messages: [{ role: "user", content: "Hello there" }], max_tokens: 5, logit_bias: NO_EOS, seed: 1 });
  const usage = completion.usage;
  assert.ok(usage !== undefined);
  assert.equal(usage.completion_tokens, 5);
  assert.ok(usage.prompt_tokens > 0);
  assert.equal(usage.total_tokens, usage.prompt_tokens + 5);
  assert.equal(completion.choices[0]?.finish_reason, "length");
}

async function modelEntry(server: TestServer, id: string): Promise<WireModel> {
  const list = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: WireModel[] };
  const listed = list.data.find((m) => m.id === id);
  const single = (await (await fetch(`${server.url}/v1/models/${id}`)).json()) as WireModel;
  assert.deepEqual(single.placement, listed?.placement, "the list and the single entry agree");
  assert.ok(listed !== undefined);
  return listed;
}

/** Resolves with the load's error of a server started with `flags` (closing it), or rejects if the model loaded. */
async function loadFailure(flags: readonly string[]): Promise<Error> {
  const server = await startServer(loadConfig(["--port", "0", "--threads", "1", "--ctx-size", "512", "--log-level", "silent", "--responses-store", "off", ...flags], {}));
  try {
    await server.ready;
  } catch (error) {
    return error as Error;
  } finally {
    await server.close();
  }
  throw new Error("the model loaded");
}

describe("placement flags", () => {
  it("--gpu-layers 0 --flash-attn off --kv-cache-type f16 --mlock --no-mmap: generates, and /v1/models says where it runs", async () => {
    const server = await startTestServer(["--gpu-layers", "0", "--flash-attn", "off", "--kv-cache-type", "f16", "--mlock", "--no-mmap"]);
    try {
      await generates(server);
      const { placement } = await modelEntry(server, MODEL);
      assert.ok(placement !== undefined);
      assert.equal(placement.device, "cpu");
      assert.equal(placement.gpu_layers, 0);
      assert.ok(Number.isInteger(placement.total_layers) && placement.total_layers > 0);
      assert.equal(placement.flash_attention, false);
      assert.equal(placement.kv_cache_type, "f16");
      assert.ok(placement.memory.ram_bytes > 700_000, "at least the weights, in RAM");
      assert.equal(placement.memory.vram_bytes, 0, "no layer on a GPU, so nothing in its memory");
    } finally {
      await server.close();
    }
  });

  it("the defaults put every layer where the binding runs, and the estimate grows with --ctx-size × --parallel", async () => {
    const { gpu } = await machineMemory();
    const small = await startTestServer(["--ctx-size", "512", "--parallel", "1"]);
    let smallMemory: { ram_bytes: number; vram_bytes: number };
    try {
      const { placement } = await modelEntry(small, MODEL);
      assert.ok(placement !== undefined);
      assert.equal(placement.device, gpu === false ? "cpu" : gpu);
      assert.equal(placement.gpu_layers, gpu === false ? 0 : placement.total_layers);
      assert.equal(placement.kv_cache_type, "f16");
      if (gpu === false) assert.equal(placement.memory.vram_bytes, 0);
      smallMemory = placement.memory;
    } finally {
      await small.close();
    }
    const large = await startTestServer(["--ctx-size", "2048", "--parallel", "4"]);
    try {
      await generates(large);
      const memory = (await modelEntry(large, MODEL)).placement?.memory;
      assert.ok(memory !== undefined);
      assert.ok(memory.ram_bytes + memory.vram_bytes > smallMemory.ram_bytes + smallMemory.vram_bytes, `${JSON.stringify(memory)} vs ${JSON.stringify(smallMemory)}`);
    } finally {
      await large.close();
    }
  });
});

describe("a quantized KV cache", () => {
  it("--flash-attn on --kv-cache-type q8_0 on a model with 32-value heads: generates, and says so", async () => {
    const model = await ensureTestModel({ model: { headCount: 2, headCountKv: 1 } }); // n_embd 64 / 2 heads
    const server = await startTestServer(["--model", model, "--model-alias", "q8", "--flash-attn", "on", "--kv-cache-type", "q8_0"]);
    try {
      await generates(server, "q8");
      const { placement } = await modelEntry(server, "q8");
      assert.equal(placement?.flash_attention, true);
      assert.equal(placement?.kv_cache_type, "q8_0");
    } finally {
      await server.close();
    }
  });

  it("q8_0 on the test model (heads of 16 values) fails its load, saying why", async () => {
    const error = await loadFailure(["--flash-attn", "on", "--kv-cache-type", "q8_0"]);
    assert.match(error.message, /--kv-cache-type q8_0 .*blocks of 32 values.*16 key values.*--kv-cache-type f16/);
  });

  it("q4_0 with --flash-attn off fails its load, naming both settings", async () => {
    const model = await ensureTestModel({ model: { headCount: 2, headCountKv: 1 } });
    const error = await loadFailure(["--model", model, "--flash-attn", "off", "--kv-cache-type", "q4_0"]);
    assert.match(error.message, /--kv-cache-type q4_0 .*flash attention.*--flash-attn off/);
  });
});
