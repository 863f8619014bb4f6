/**
 * The kind decision (engines/llama/model-kind.ts) on GGUF metadata shapes and on the real test
 * model files, and the auto-kind engine's delegation (auto-kind-engine.ts) with stand-in engines:
 * what it answers before the kind is known, which optional members it has after, load failures,
 * and a close that comes while the file is being read.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { autoKindEngine } from "../../src/engines/llama/auto-kind-engine.ts";
import { LLAMA_EMBEDDING_CAPABILITIES } from "../../src/engines/llama/capabilities.ts";
import { detectModelKind, type DetectedModelKind, type LocalModelKind, modelKindOf } from "../../src/engines/llama/model-kind.ts";
import type { ChatEngine, EmbedResult } from "../../src/engines/types.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";

describe("modelKindOf", () => {
  const cases: [string, Record<string, unknown>, LocalModelKind][] = [
    ["a llama without pooling", { general: { architecture: "llama" }, llama: { context_length: 4096 } }, "chat"],
    ["pooling none (0)", { general: { architecture: "qwen3" }, qwen3: { pooling_type: 0 } }, "chat"],
    ["a Qwen3 embedding model (pooling last)", { general: { architecture: "qwen3" }, qwen3: { pooling_type: 3 } }, "embedding"],
    ["mean pooling", { general: { architecture: "llama" }, llama: { pooling_type: 1 } }, "embedding"],
    ["a reranker (pooling rank)", { general: { architecture: "qwen3" }, qwen3: { pooling_type: 4 } }, "embedding"],
    ["BERT without a pooling key", { general: { architecture: "bert" }, bert: {} }, "embedding"],
    ["nomic-bert", { general: { architecture: "nomic-bert" } }, "embedding"],
    ["jina-bert-v2", { general: { architecture: "jina-bert-v2" }, "jina-bert-v2": { pooling_type: 1 } }, "embedding"],
    ["no architecture named (llama.cpp's default: llama)", { llama: { pooling_type: 2 } }, "embedding"],
    ["pooling under another architecture's prefix", { general: { architecture: "gemma3" }, llama: { pooling_type: 1 } }, "chat"],
  ];
  for (const [name, metadata, kind] of cases) {
    it(`${name}: ${kind}`, () => {
      const detected = modelKindOf(metadata);
      assert.equal(detected.kind, kind);
      assert.ok(detected.reason.length > 0);
    });
  }

  it("names the pooling in its reason", () => {
    assert.match(modelKindOf({ general: { architecture: "qwen3" }, qwen3: { pooling_type: 3 } }).reason, /qwen3\.pooling_type = 3 \(last\)/);
  });
});

describe("detectModelKind", () => {
  it("reads the test models' headers", async () => {
    assert.equal((await detectModelKind(await ensureTestModel())).kind, "chat");
    for (const pooling of ["mean", "cls", "last"] as const) {
      assert.equal((await detectModelKind(await ensureTestModel({ model: { pooling } }))).kind, "embedding", pooling);
    }
  });

  it("rejects a file that is not a GGUF", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-kind-"));
    try {
      await writeFile(join(dir, "x.gguf"), "not a gguf file at all");
      await assert.rejects(detectModelKind(join(dir, "x.gguf")));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A stand-in for the engine the auto-kind engine builds: records its calls. */
function standIn(kind: LocalModelKind, log: string[]): ChatEngine {
  let loaded = false;
  const engine: ChatEngine = {
    fingerprint: `fp_${kind}`,
    capabilities: kind === "embedding" ? LLAMA_EMBEDDING_CAPABILITIES : { ...LLAMA_EMBEDDING_CAPABILITIES, generates: true, embeddings: false },
    async load() {
      log.push("load");
      loaded = true;
    },
    isReady: () => loaded,
    describe: () => ({ models: [{ id: "m", created: 0, ownedBy: "parley" }], banner: loaded ? { message: "ready", fields: { kind } } : undefined }),
    async generate() {
      log.push("generate");
      return { events: (async function* () {})(), warnings: [] };
    },
    async close() {
      log.push("close");
    },
  };
  if (kind === "chat") return { ...engine, tokenize: async () => [1, 2], applyTemplate: async () => "x", tokenBytes: () => [] };
  return { ...engine, embed: async (): Promise<EmbedResult> => ({ vectors: [], promptTokens: 0 }) };
}

const isLoading = (error: unknown) => error instanceof ParleyError && error.kind === "unavailable" && error.retryAfter !== undefined;

describe("AutoKindEngine", () => {
  const detectAs = (kind: LocalModelKind) => async (): Promise<DetectedModelKind> => ({ kind, reason: `stub says ${kind}` });

  it("answers 503 for everything before the kind is known, with both kinds' requests let through", async () => {
    const engine = autoKindEngine({ modelId: "m", path: async () => "/x.gguf", detect: detectAs("chat"), create: () => assert.fail("not yet") });
    assert.equal(engine.isReady(), false);
    assert.equal(engine.capabilities.embeddings, true);
    assert.notEqual(engine.capabilities.generates, false);
    assert.equal(engine.describe().models[0]?.kind, undefined);
    assert.equal(engine.describe().banner, undefined);
    const signal = new AbortController().signal;
    await assert.rejects(engine.generate({} as never, signal), isLoading);
    await assert.rejects(engine.embed?.({ model: "m", inputs: ["a"] }, signal) ?? Promise.resolve(), isLoading);
    await assert.rejects(engine.tokenize?.("a") ?? Promise.resolve(), isLoading);
    await assert.rejects(engine.applyTemplate?.({} as never, signal) ?? Promise.resolve(), isLoading);
    assert.throws(() => engine.tokenBytes?.([1]), isLoading);
  });

  for (const kind of ["chat", "embedding"] as const) {
    it(`delegates to the ${kind} engine once detected, with exactly its optional members`, async () => {
      const log: string[] = [];
      const made: { kind: LocalModelKind; path: string }[] = [];
      let pathCalls = 0;
      const engine = autoKindEngine({
        modelId: "m",
        path: async () => {
          pathCalls++;
          return "/resolved.gguf";
        },
        detect: detectAs(kind),
        create: (k, path) => {
          void path().then((p) => made.push({ kind: k, path: p }));
          return standIn(k, log);
        },
      });
      await Promise.all([engine.load(), engine.load()]);
      assert.equal(pathCalls, 1);
      assert.deepEqual(made, [{ kind, path: "/resolved.gguf" }]);
      assert.deepEqual(log, ["load"]);
      assert.equal(engine.isReady(), true);
      assert.equal(engine.fingerprint, `fp_${kind}`);
      assert.equal(engine.capabilities.embeddings, kind === "embedding");
      assert.equal(engine.tokenize === undefined, kind === "embedding");
      assert.equal(engine.applyTemplate === undefined, kind === "embedding");
      assert.equal(engine.tokenBytes === undefined, kind === "embedding");
      assert.equal(engine.embed === undefined, kind === "chat");
      assert.deepEqual(engine.describe().banner?.fields, { kind, kindDetected: `stub says ${kind}` });
      await engine.generate({} as never, new AbortController().signal);
      await engine.close(0);
      assert.deepEqual(log, ["load", "generate", "close"]);
      assert.equal(engine.isReady(), false);
    });
  }

  it("rejects load when the engine for the detected kind cannot be built", async () => {
    const engine = autoKindEngine({
      modelId: "m",
      path: async () => "/x.gguf",
      detect: detectAs("embedding"),
      create: () => {
        throw new Error("takes no LoRA adapters");
      },
    });
    await assert.rejects(engine.load(), /takes no LoRA adapters/);
    assert.equal(engine.isReady(), false);
  });

  it("builds nothing when closed while the file is being read, and answers shutting down", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let created = 0;
    const engine = autoKindEngine({
      modelId: "m",
      path: async () => {
        await gate;
        return "/x.gguf";
      },
      detect: detectAs("chat"),
      create: (kind) => {
        created++;
        return standIn(kind, []);
      },
    });
    const loading = engine.load();
    await engine.close(0);
    release();
    await loading;
    assert.equal(created, 0);
    assert.equal(engine.isReady(), false);
    await assert.rejects(engine.generate({} as never, new AbortController().signal), (error: unknown) => error instanceof ParleyError && /shutting down/.test(error.message));
  });
});
