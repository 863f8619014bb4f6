/**
 * A tiny, deterministic LoRA adapter GGUF for Parley's test model (src/testing/test-model.ts), so that
 * per-request LoRA (`peft`) can be tested for real, offline.
 *
 * What llama.cpp (llama_adapter_lora_init) requires of the file:
 * - metadata `general.type` = "adapter", `adapter.type` = "lora" (strings), and
 *   `general.architecture` equal to the base model's ("llama"); `adapter.lora.alpha` is read
 *   as a float32 (it asserts the type). Effective multiplier = scale * alpha / rank, or just
 *   `scale` when alpha is 0.
 * - tensors in pairs `<base tensor name>.lora_a` / `.lora_b`, each base tensor existing in the
 *   model; any other name (except `*_norm.weight`, which is skipped) fails the load.
 * - shapes in ggml order (ne[0] innermost): for a base weight W with dims [K, N] (input K,
 *   output N), lora_a is [K, rank] and lora_b is [rank, N]; the graph adds
 *   multiplier * B·(A·x) to W·x. (token_embd.weight would use a flipped layout; not written.)
 */
import { createHash } from "node:crypto";
import { defaultTestModelCacheDir, ensureCachedFile } from "../../src/testing/cached-file.ts";
import { gguf, writeGgufFile, type GgufMetadataValue, type GgufTensor } from "../../src/testing/gguf-writer.ts";
import { testModelFileName, testModelVocabulary, type TestModelOptions } from "../../src/testing/test-model.ts";

/** Bump when anything that changes the generated adapter bytes changes. */
export const TEST_LORA_CONTENT_VERSION = 1;

/** Base weight matrices (per block, except "output") an adapter can target. */
export type TestLoraTarget = "attn_q" | "attn_k" | "attn_v" | "attn_output" | "ffn_gate" | "ffn_up" | "ffn_down" | "output";

export interface TestLoraOptions {
  /** Options of the base test model the adapter is for (default: the default test model). */
  readonly base?: TestModelOptions;
  /** LoRA rank (default 4). */
  readonly rank?: number;
  /** `adapter.lora.alpha` (default: rank, so the multiplier at scale 1 is exactly 1; 0 means "no alpha scaling"). */
  readonly alpha?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
  /**
   * Size of the weight change at scale 1 with alpha = rank: each adapted matrix's delta has
   * element std `strength / sqrt(K)`, i.e. it adds about `strength` RMS to the output of a
   * unit-RMS input (the base matrices add 1-2.5). Default 1: outputs change clearly.
   */
  readonly strength?: number;
  /** Matrices to adapt in every block ("output": the LM head). Default DEFAULT_TEST_LORA_TARGETS. */
  readonly targets?: readonly TestLoraTarget[];
}

export const DEFAULT_TEST_LORA_TARGETS: readonly TestLoraTarget[] = ["attn_q", "attn_v", "ffn_up", "output"];

interface ResolvedLora {
  readonly rank: number;
  readonly alpha: number;
  readonly seed: number;
  readonly strength: number;
  readonly targets: readonly TestLoraTarget[];
}

function resolveLora(options: TestLoraOptions = {}): ResolvedLora {
  const rank = options.rank ?? 4;
  if (!Number.isInteger(rank) || rank <= 0) throw new Error("LoRA rank must be a positive integer");
  const targets = [...new Set(options.targets ?? DEFAULT_TEST_LORA_TARGETS)];
  if (targets.length === 0) throw new Error("a LoRA adapter needs at least one target");
  return { rank, alpha: options.alpha ?? rank, seed: options.seed ?? 1, strength: options.strength ?? 1, targets };
}

/**
 * The base model's matrix dimensions. Mirrors the defaults of resolveOptions in test-model.ts
 * (which is private); a mismatch would make llama.cpp reject the adapter ("incorrect shape").
 */
function baseDims(base: TestModelOptions = {}) {
  const embd = base.embeddingLength ?? 64;
  const heads = base.headCount ?? 4;
  const kv = (embd / heads) * (base.headCountKv ?? 2);
  const ff = base.feedForwardLength ?? 192;
  const vocab = testModelVocabulary(base);
  return { blocks: base.blockCount ?? 2, embd, kv, ff, nVocab: vocab.tokens.length, muted: vocab.mutedTokens };
}

/** Deterministic PRNG (mulberry32), uniform in [0, 1), seeded from a tensor name and the seed. */
function makeRandom(name: string, seed: number): () => number {
  let state = 0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1);
  for (const byte of Buffer.from(name, "utf8")) state = Math.imul(state ^ byte, 0x01000193);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` uniform values with standard deviation `std`. */
function uniform(name: string, count: number, std: number, seed: number): Float32Array {
  const random = makeRandom(name, seed);
  const half = std * Math.sqrt(3);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * half;
  return out;
}

function buildTensors(o: ResolvedLora, base: TestModelOptions | undefined): GgufTensor[] {
  const d = baseDims(base);
  // [K (input), N (output)] of each target, as in test-model.ts's buildTensors
  const shapes: Record<TestLoraTarget, [number, number]> = {
    attn_q: [d.embd, d.embd],
    attn_k: [d.embd, d.kv],
    attn_v: [d.embd, d.kv],
    attn_output: [d.embd, d.embd],
    ffn_gate: [d.embd, d.ff],
    ffn_up: [d.embd, d.ff],
    ffn_down: [d.ff, d.embd],
    output: [d.embd, d.nVocab],
  };
  const pair = (target: TestLoraTarget, weight: string): GgufTensor[] => {
    const [k, n] = shapes[target];
    // A·x has ~unit-RMS components for a unit-RMS x; B then gives the delta output RMS `strength`
    const a: GgufTensor = { name: `${weight}.lora_a`, dims: [k, o.rank], type: "F32", data: () => uniform(`${weight}.lora_a`, k * o.rank, 1 / Math.sqrt(k), o.seed) };
    const b: GgufTensor = {
      name: `${weight}.lora_b`,
      dims: [o.rank, n],
      type: "F32",
      data: () => {
        const values = uniform(`${weight}.lora_b`, o.rank * n, o.strength / Math.sqrt(o.rank), o.seed);
        // Keep the test model's invariants (see test-model.ts): nothing writes residual channel 0
        // (row 0 of attn_output / ffn_down), and muted tokens keep their large negative logit.
        if (target === "attn_output" || target === "ffn_down") values.fill(0, 0, o.rank);
        if (target === "output") for (const id of d.muted) values.fill(0, id * o.rank, (id + 1) * o.rank);
        return values;
      },
    };
    return [a, b];
  };
  const tensors: GgufTensor[] = [];
  for (let blk = 0; blk < d.blocks; blk++) {
    for (const t of o.targets) if (t !== "output") tensors.push(...pair(t, `blk.${blk}.${t}.weight`));
  }
  if (o.targets.includes("output")) tensors.push(...pair("output", "output.weight"));
  return tensors;
}

function buildMetadata(o: ResolvedLora): Map<string, GgufMetadataValue> {
  return new Map<string, GgufMetadataValue>([
    ["general.architecture", gguf.str("llama")],
    ["general.type", gguf.str("adapter")],
    ["general.name", gguf.str("Parley Test LoRA")],
    ["adapter.type", gguf.str("lora")],
    ["adapter.lora.alpha", gguf.f32(o.alpha)], // must be float32: llama.cpp asserts the type
  ]);
}

/** Writes the test LoRA adapter to `outPath` (overwriting it). Same options => same bytes. */
export async function writeTestLora(outPath: string, options?: TestLoraOptions): Promise<void> {
  const o = resolveLora(options);
  await writeGgufFile(outPath, { metadata: buildMetadata(o), tensors: buildTensors(o, options?.base) });
}

/** File name of a cached adapter: content version + hash of its options and of the base model's file name. */
export function testLoraFileName(options?: TestLoraOptions): string {
  const hash = createHash("sha256")
    .update(JSON.stringify({ v: TEST_LORA_CONTENT_VERSION, base: testModelFileName(options?.base), o: resolveLora(options) }))
    .digest("hex")
    .slice(0, 12);
  return `parley-test-lora-v${TEST_LORA_CONTENT_VERSION}-${hash}.gguf`;
}

/** Returns the path of a cached copy of the adapter (beside the test models), generating it when missing. */
export async function ensureTestLora(options: { cacheDir?: string; lora?: TestLoraOptions } = {}): Promise<string> {
  return ensureCachedFile(options.cacheDir ?? defaultTestModelCacheDir(), testLoraFileName(options.lora), (path) => writeTestLora(path, options.lora));
}
