/**
 * The GPU and memory settings as people write them: byte sizes, `--gpu-layers`, `--memory-budget`,
 * the placement flags and their environment variables, the config file's per-model fields, and
 * how they become node-llama-cpp's options and the checks that refuse a KV cache type llama.cpp
 * cannot create (placement-options.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GgmlType } from "node-llama-cpp";
import { parseByteSize } from "../../src/config/byte-size.ts";
import { parseConfigFile, type LocalModelSpec } from "../../src/config/config-file.ts";
import { loadConfig } from "../../src/config/config.ts";
import { parseGpuLayers, parseMemoryBudget } from "../../src/config/placement.ts";
import {
  checkKvCacheType,
  contextPlacementOptions,
  flashAttentionOption,
  ggmlKvType,
  headSizes,
  llamaGpuOption,
  modelLoadOptions,
  plannedGpuLayers,
} from "../../src/engines/llama/placement-options.ts";

describe("parseByteSize", () => {
  it("reads plain bytes, binary and decimal units, case-insensitively, with an optional space", () => {
    assert.equal(parseByteSize("2000000000"), 2_000_000_000);
    assert.equal(parseByteSize("512MiB"), 512 * 1024 ** 2);
    assert.equal(parseByteSize("8G"), 8 * 1024 ** 3);
    assert.equal(parseByteSize("8 gib"), 8 * 1024 ** 3);
    assert.equal(parseByteSize("20GB"), 20 * 1000 ** 3);
    assert.equal(parseByteSize("1.5GiB"), 1.5 * 1024 ** 3);
    assert.equal(parseByteSize("1kB"), 1000);
    assert.equal(parseByteSize(4096.7), 4096);
  });

  it("refuses what is not a size, naming an example", () => {
    for (const bad of ["", "GiB", "-1GiB", "12 parsecs", "1e9", "0x10"]) assert.throws(() => parseByteSize(bad), /expected a size such as 512MiB/, bad);
    assert.throws(() => parseByteSize(-1), /expected a size in bytes/);
    assert.throws(() => parseByteSize(Number.NaN), /expected a size in bytes/);
  });
});

describe("parseGpuLayers", () => {
  it("takes auto, max or a count of layers", () => {
    assert.equal(parseGpuLayers("auto"), "auto");
    assert.equal(parseGpuLayers("max"), "max");
    assert.equal(parseGpuLayers("0"), 0);
    assert.equal(parseGpuLayers("33"), 33);
    assert.equal(parseGpuLayers(12), 12);
  });

  it("refuses anything else", () => {
    for (const bad of ["-1", "1.5", "all", "", " 3"]) assert.throws(() => parseGpuLayers(bad), /expected auto, max or a number of layers/, bad);
    assert.throws(() => parseGpuLayers(-2), /expected auto, max or a number/);
  });
});

describe("parseMemoryBudget", () => {
  it("auto is the machine's (no size), one size is the device's, ram= and vram= each their own", () => {
    assert.deepEqual(parseMemoryBudget("auto"), {});
    assert.deepEqual(parseMemoryBudget("20GiB"), { device: 20 * 1024 ** 3 });
    assert.deepEqual(parseMemoryBudget("ram=64GiB,vram=22GiB"), { ram: 64 * 1024 ** 3, vram: 22 * 1024 ** 3 });
    assert.deepEqual(parseMemoryBudget("vram = 8G"), { vram: 8 * 1024 ** 3 });
  });

  it("refuses unknown parts and missing sizes", () => {
    assert.throws(() => parseMemoryBudget("gpu=8GiB"), /ram=<size>,vram=<size>/);
    assert.throws(() => parseMemoryBudget("ram="), /ram=<size>,vram=<size>/);
    assert.throws(() => parseMemoryBudget("ram=lots"), /expected a size/);
    assert.throws(() => parseMemoryBudget("plenty"), /expected a size/);
  });
});

describe("placement flags", () => {
  it("are absent by default, with --gpu auto", () => {
    const config = loadConfig([], {});
    assert.equal(config.gpuLayers, undefined);
    assert.equal(config.flashAttn, undefined);
    assert.equal(config.kvCacheType, undefined);
    assert.equal(config.mlock, undefined);
    assert.equal(config.noMmap, undefined);
    assert.equal(config.gpu, "auto");
  });

  it("parse from the command line", () => {
    const config = loadConfig(["--gpu-layers", "20", "--flash-attn", "on", "--kv-cache-type", "q4_0", "--mlock", "--no-mmap", "--gpu", "false"], {});
    assert.equal(config.gpuLayers, 20);
    assert.equal(config.flashAttn, "on");
    assert.equal(config.kvCacheType, "q4_0");
    assert.equal(config.mlock, true);
    assert.equal(config.noMmap, true);
    assert.equal(config.gpu, "false");
    assert.equal(loadConfig(["--gpu-layers", "max"], {}).gpuLayers, "max");
  });

  it("parse from the environment, flags winning", () => {
    const env = { PARLEY_GPU_LAYERS: "auto", PARLEY_FLASH_ATTN: "off", PARLEY_KV_CACHE_TYPE: "q8_0", PARLEY_MLOCK: "1", PARLEY_NO_MMAP: "true", PARLEY_GPU: "vulkan" };
    const config = loadConfig([], env);
    assert.deepEqual([config.gpuLayers, config.flashAttn, config.kvCacheType, config.mlock, config.noMmap, config.gpu], ["auto", "off", "q8_0", true, true, "vulkan"]);
    assert.equal(loadConfig(["--gpu", "cuda"], env).gpu, "cuda");
  });

  it("refuse invalid values, naming the flag", () => {
    assert.throws(() => loadConfig(["--gpu-layers", "lots"], {}), /gpu-layers/);
    assert.throws(() => loadConfig(["--flash-attn", "yes"], {}), /flash-attn/);
    assert.throws(() => loadConfig(["--kv-cache-type", "q5_1"], {}), /kv-cache-type/);
    assert.throws(() => loadConfig(["--gpu", "rocm"], {}), /gpu/);
  });
});

describe("placement in the config file", () => {
  const local = (models: string) => parseConfigFile(`models:\n${models}`, "models.yaml", {}).models[0] as LocalModelSpec;

  it("reads a model's gpuLayers, flashAttn, kvCacheType, mlock and mmap", () => {
    const spec = local("  - id: m\n    local: { path: m.gguf, gpuLayers: 12, flashAttn: on, kvCacheType: q8_0, mlock: true, mmap: false }\n");
    assert.deepEqual(spec.placement, { gpuLayers: 12, flashAttention: "on", kvCacheType: "q8_0", mlock: true, mmap: false });
    assert.deepEqual(local("  - id: m\n    local: { path: m.gguf, gpuLayers: max }\n").placement, { gpuLayers: "max" });
  });

  it("leaves the settings a model does not give out (the flags' then apply)", () => {
    assert.deepEqual(local("  - id: m\n    local: { path: m.gguf }\n").placement ?? {}, {});
  });

  it("refuses invalid values with the field's path", () => {
    assert.throws(() => local("  - id: m\n    local: { path: m.gguf, gpuLayers: -1 }\n"), /gpuLayers/);
    assert.throws(() => local("  - id: m\n    local: { path: m.gguf, kvCacheType: f32 }\n"), /kvCacheType/);
    assert.throws(() => local("  - id: m\n    local: { path: m.gguf, noMmap: true }\n"), /noMmap/);
  });
});

describe("node-llama-cpp options from the placement", () => {
  it("--gpu false is the CPU only; the others are node-llama-cpp's backends", () => {
    assert.equal(llamaGpuOption("false"), false);
    assert.equal(llamaGpuOption("auto"), "auto");
    assert.equal(llamaGpuOption("cuda"), "cuda");
  });

  it("flash attention on/off/auto and the KV cache types", () => {
    assert.deepEqual([flashAttentionOption("on"), flashAttentionOption("off"), flashAttentionOption("auto"), flashAttentionOption(undefined)], [true, false, "auto", "auto"]);
    assert.deepEqual([ggmlKvType("f16"), ggmlKvType("q8_0"), ggmlKvType("q4_0")], [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0]);
  });

  it("the model's load options carry only what was set, plus its contexts' defaults", () => {
    assert.deepEqual(modelLoadOptions({}), { defaultContextFlashAttention: "auto" });
    assert.deepEqual(modelLoadOptions({ gpuLayers: 0, mmap: false, mlock: true, flashAttention: "on", kvCacheType: "q8_0" }), {
      gpuLayers: 0,
      useMmap: false,
      useMlock: true,
      defaultContextFlashAttention: true,
      experimentalDefaultContextKvCacheKeyType: "Q8_0",
      experimentalDefaultContextKvCacheValueType: "Q8_0",
    });
  });

  it("every context gets flash attention and both halves of the KV cache type", () => {
    assert.deepEqual(contextPlacementOptions({}), { flashAttention: "auto", experimentalKvCacheKeyType: "F16", experimentalKvCacheValueType: "F16" });
    assert.deepEqual(contextPlacementOptions({ flashAttention: "off", kvCacheType: "q4_0" }), { flashAttention: false, experimentalKvCacheKeyType: "Q4_0", experimentalKvCacheValueType: "Q4_0" });
  });

  it("plans all layers for auto and max, at most the model's for a number, none without a GPU", () => {
    assert.equal(plannedGpuLayers(undefined, 33, "cuda"), 33);
    assert.equal(plannedGpuLayers("auto", 33, "cuda"), 33);
    assert.equal(plannedGpuLayers("max", 33, "metal"), 33);
    assert.equal(plannedGpuLayers(20, 33, "vulkan"), 20);
    assert.equal(plannedGpuLayers(99, 33, "cuda"), 33);
    assert.equal(plannedGpuLayers("max", 33, false), 0);
  });

  it("head sizes: the GGUF's key/value lengths, else n_embd / n_head", () => {
    assert.deepEqual(headSizes({ embedding_length: 4096, attention: { head_count: 32 } }), { headSizeK: 128, headSizeV: 128 });
    assert.deepEqual(headSizes({ embedding_length: 2048, attention: { head_count: 16, key_length: 192, value_length: 128 } }), { headSizeK: 192, headSizeV: 128 });
  });
});

describe("checkKvCacheType", () => {
  const model = { flashAttentionSupported: true, headSizeK: 128, headSizeV: 128 };

  it("accepts f16 always, and a quantized cache with flash attention on or auto on heads of whole blocks", () => {
    checkKvCacheType({}, { flashAttentionSupported: false, headSizeK: 16, headSizeV: 16 });
    checkKvCacheType({ kvCacheType: "f16", flashAttention: "off" }, model);
    checkKvCacheType({ kvCacheType: "q8_0", flashAttention: "on" }, model);
    checkKvCacheType({ kvCacheType: "q4_0" }, model);
  });

  it("refuses a quantized cache with flash attention off, naming both settings", () => {
    assert.throws(() => checkKvCacheType({ kvCacheType: "q8_0", flashAttention: "off" }, model), /--kv-cache-type q8_0.*--flash-attn off/);
  });

  it("refuses a quantized cache on a model without flash attention", () => {
    assert.throws(() => checkKvCacheType({ kvCacheType: "q4_0" }, { ...model, flashAttentionSupported: false }), /--kv-cache-type q4_0.*does not support flash attention/);
  });

  it("refuses heads that are not whole blocks of the type", () => {
    assert.throws(() => checkKvCacheType({ kvCacheType: "q8_0", flashAttention: "on" }, { ...model, headSizeK: 16, headSizeV: 16 }), /blocks of 32 values.*heads have 16 key values each/);
    assert.throws(() => checkKvCacheType({ kvCacheType: "q4_0" }, { ...model, headSizeV: 80 }), /heads have 80 value values each/);
  });
});
