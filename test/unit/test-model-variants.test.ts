import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { TEST_MODEL_CHAT_TEMPLATE } from "../../src/testing/chat-template.ts";
import {
  GGUF_TOKEN_TYPE,
  TEST_MODEL_SPECIAL_TOKENS,
  TEST_MODEL_SPM_SPECIAL_TOKENS,
  testModelFileName,
  testModelVocabulary,
  writeTestModel,
  type TestModelOptions,
} from "../../src/testing/test-model.ts";
import { at, sha256 } from "../support/gguf.ts";

interface Variant {
  readonly name: string;
  readonly options: TestModelOptions;
  /** llama.cpp warnings this variant is meant to trigger (regexes); any other warning fails. */
  readonly expectedWarnings?: readonly RegExp[];
}

// llama.cpp itself flags EOG-looking tokens stored as text and retypes them as control tokens.
const retyped = (text: string): RegExp => new RegExp(`control-looking token: +\\d+ '${text.replace(/[|]/g, "\\|")}' was not control-type`);

const VARIANTS: readonly Variant[] = [
  { name: "default", options: {} },
  { name: "spm", options: { tokenizer: "spm" } },
  { name: "spm-tiny", options: { tokenizer: "spm", vocabSize: 300, chatTemplate: false } },
  { name: "bpe-tiny", options: { vocabSize: 300 } },
  { name: "no-template", options: { chatTemplate: false } },
  {
    name: "special-as-text",
    options: { specialTokensAsText: true },
    expectedWarnings: [retyped("<|endoftext|>"), retyped("<|im_end|>")],
  },
  { name: "spm-special-as-text", options: { tokenizer: "spm", specialTokensAsText: true }, expectedWarnings: [retyped("<|im_end|>")] },
];

const ROUND_TRIP_TEXTS = ["Hello world", "The price is 5€, naïve café, 日本語 🙂", "  two leading spaces\n\nand\ttabs ", '{"key": [1, 2.5, null]}'];

let dir: string;
let llama: Llama;
const logs: { level: LlamaLogLevel; message: string }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-test-model-variants-"));
  llama = await getLlama({
    gpu: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (message.trim() !== "") logs.push({ level, message: message.trim() });
    },
  });
});

after(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

for (const variant of VARIANTS) {
  describe(`test model variant: ${variant.name}`, () => {
    const vocab = testModelVocabulary(variant.options);
    let path: string;
    let model: LlamaModel;
    let loadLogs: typeof logs;

    before(async () => {
      path = join(dir, `${variant.name}.gguf`);
      await writeTestModel(path, variant.options);
      logs.length = 0;
      model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: 256, threads: 1 });
      const sequence = context.getSequence();
      // one evaluation step, so any warning from evaluation shows up too
      await sequence.evaluateWithoutGeneratingNewTokens(model.tokenize("Hello world") as Token[]);
      await context.dispose();
      await new Promise((resolve) => setTimeout(resolve, 300)); // llama.cpp logs arrive asynchronously
      loadLogs = [...logs];
    });

    after(async () => {
      await model?.dispose();
    });

    test("loads without llama.cpp warnings (other than the ones the variant is meant to trigger)", () => {
      const expected = variant.expectedWarnings ?? [];
      const unexpected = loadLogs.filter((log) => !expected.some((re) => re.test(log.message)));
      assert.deepEqual(unexpected, []);
      for (const re of expected)
        assert.ok(
          loadLogs.some((log) => re.test(log.message)),
          `expected a warning matching ${re}`,
        );
    });

    test("llama.cpp sees the vocabulary's special and end-of-generation tokens", () => {
      assert.equal(model.tokens.eos, vocab.eos);
      assert.equal(model.tokens.eot, vocab.eot);
      for (const id of vocab.eogTokens) assert.equal(model.isEogToken(id as Token), true, `token ${id} should end generation`);
      assert.equal(model.fileInfo.metadata.tokenizer.ggml.tokens.length, vocab.tokens.length);
    });

    test("tokenizes and detokenizes text round trip", () => {
      for (const text of ROUND_TRIP_TEXTS) {
        const tokens = model.tokenize(text);
        assert.ok(tokens.length > 0);
        assert.equal(model.detokenize(tokens), text, JSON.stringify(text));
      }
    });

    test("the same options give the same bytes and cache name", async () => {
      const again = join(dir, `${variant.name}-again.gguf`);
      await writeTestModel(again, { ...variant.options });
      assert.equal(await sha256(again), await sha256(path));
      assert.equal(testModelFileName({ ...variant.options }), testModelFileName(variant.options));
    });
  });
}

describe("test model variants: files", () => {
  test("explicit default options are the default model, byte for byte and by cache name", async () => {
    const explicit: TestModelOptions = { tokenizer: "bpe", chatTemplate: TEST_MODEL_CHAT_TEMPLATE, specialTokensAsText: false, vocabSize: 2048 };
    const a = join(dir, "explicit-default.gguf");
    const b = join(dir, "implicit-default.gguf");
    await writeTestModel(a, explicit);
    await writeTestModel(b);
    assert.equal(await sha256(a), await sha256(b));
    assert.equal(testModelFileName(explicit), testModelFileName());
  });

  test("every variant has its own cache name", () => {
    const names = VARIANTS.map((v) => testModelFileName(v.options));
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^parley-test-model-v\d+-[0-9a-f]{12}\.gguf$/);
  });

  test("spm: SentencePiece metadata, byte-fallback tokens and scores", async () => {
    const path = join(dir, "spm-meta.gguf");
    await writeTestModel(path, { tokenizer: "spm" });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const m: unknown = info.metadata;
    const S = TEST_MODEL_SPM_SPECIAL_TOKENS;
    assert.equal(at(m, "tokenizer.ggml.model"), "llama");
    assert.equal(at(m, "tokenizer.ggml.add_bos_token"), true);
    assert.equal(at(m, "tokenizer.ggml.add_space_prefix"), true);
    assert.equal(at(m, "tokenizer.ggml.bos_token_id"), S.bos.id);
    assert.equal(at(m, "tokenizer.ggml.eos_token_id"), S.eos.id);
    assert.equal(at(m, "tokenizer.ggml.unknown_token_id"), S.unk.id);
    assert.equal(at(m, "tokenizer.ggml.eot_token_id"), S.imEnd.id);
    assert.equal(at(m, "tokenizer.chat_template"), TEST_MODEL_CHAT_TEMPLATE);
    const tokens = at(m, "tokenizer.ggml.tokens") as string[];
    const types = at(m, "tokenizer.ggml.token_type") as number[];
    const scores = at(m, "tokenizer.ggml.scores") as number[];
    assert.equal(tokens.length, 2048);
    assert.equal(types.length, 2048);
    assert.equal(scores.length, 2048);
    assert.deepEqual(tokens.slice(0, 3), ["<unk>", "<s>", "</s>"]);
    assert.deepEqual(types.slice(0, 3), [GGUF_TOKEN_TYPE.unknown, GGUF_TOKEN_TYPE.control, GGUF_TOKEN_TYPE.control]);
    const bytes = tokens.flatMap((t, i) => (types[i] === GGUF_TOKEN_TYPE.byte ? [t] : []));
    assert.deepEqual(
      bytes,
      Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
    );
    const pieces = tokens.filter((_, i) => types[i] === GGUF_TOKEN_TYPE.normal);
    assert.ok(pieces.includes("\u2581the") && pieces.includes("\u2581"), "expected ▁the and ▁ pieces");
    assert.ok(
      pieces.every((p) => !p.includes(" ")),
      "spaces are stored as ▁",
    );
    const pieceScores = scores.filter((_, i) => types[i] === GGUF_TOKEN_TYPE.normal);
    assert.ok(
      pieceScores.every((s, i) => i === 0 || s < (pieceScores[i - 1] ?? 0)),
      "piece scores decrease with priority",
    );
  });

  test("spm: llama.cpp's SentencePiece tokenizer gives sensible tokens, with byte fallback for what no piece covers", async () => {
    const path = join(dir, "spm-tok.gguf");
    await writeTestModel(path, { tokenizer: "spm" });
    const model = await llama.loadModel({ modelPath: path });
    try {
      const vocab = testModelVocabulary({ tokenizer: "spm" });
      const pieces = (text: string): string[] => model.tokenize(text).map((t) => vocab.tokens[t] ?? "?");
      assert.equal(pieces("Hello world").join(""), "\u2581Hello\u2581world"); // SentencePiece's dummy space prefix
      assert.ok(pieces("the cat and the dog").includes("\u2581the"));
      assert.ok(pieces("Hello world").length <= 4, pieces("Hello world").join(" "));
      assert.deepEqual(pieces("5€").slice(-3), ["<0xE2>", "<0x82>", "<0xAC>"]);
      // with BOS, as Parley asks for it
      assert.equal(model.tokens.bos, TEST_MODEL_SPM_SPECIAL_TOKENS.bos.id);
      assert.equal(model.tokens.shouldPrependBosToken, true);
      assert.deepEqual(model.tokenize("<|im_start|>user", true).slice(0, 1), [TEST_MODEL_SPM_SPECIAL_TOKENS.imStart.id]);
    } finally {
      await model.dispose();
    }
  });

  test("chatTemplate false writes no template; a string replaces it", async () => {
    const none = join(dir, "no-template-meta.gguf");
    const custom = join(dir, "custom-template-meta.gguf");
    await writeTestModel(none, { chatTemplate: false });
    await writeTestModel(custom, { chatTemplate: "{{ messages[0].content }}" });
    assert.equal(at((await readGgufFileInfo(none, { logWarnings: false })).metadata, "tokenizer.chat_template"), undefined);
    assert.equal(at((await readGgufFileInfo(custom, { logWarnings: false })).metadata, "tokenizer.chat_template"), "{{ messages[0].content }}");
  });

  test("specialTokensAsText stores the ChatML special tokens as normal tokens, ids unchanged", async () => {
    const path = join(dir, "as-text-meta.gguf");
    await writeTestModel(path, { specialTokensAsText: true });
    const m: unknown = (await readGgufFileInfo(path, { logWarnings: false })).metadata;
    const S = TEST_MODEL_SPECIAL_TOKENS;
    const tokens = at(m, "tokenizer.ggml.tokens") as string[];
    const types = at(m, "tokenizer.ggml.token_type") as number[];
    for (const s of [S.bos, S.eos, S.imStart, S.imEnd, S.pad]) {
      assert.equal(tokens[s.id], s.text);
      assert.equal(types[s.id], GGUF_TOKEN_TYPE.normal, s.text);
    }
    assert.equal(types[S.toolCallStart.id], GGUF_TOKEN_TYPE.userDefined);
    assert.equal(at(m, "tokenizer.ggml.eos_token_id"), S.eos.id);
    assert.equal(at(m, "tokenizer.ggml.eot_token_id"), S.imEnd.id);
  });

  test("vocabSize makes a tiny vocabulary; the tensors follow", async () => {
    for (const tokenizer of ["bpe", "spm"] as const) {
      const path = join(dir, `tiny-${tokenizer}-meta.gguf`);
      await writeTestModel(path, { tokenizer, vocabSize: 300 });
      const info = await readGgufFileInfo(path, { logWarnings: false });
      assert.equal((at(info.metadata, "tokenizer.ggml.tokens") as string[]).length, 300);
      assert.equal(at(info.metadata, "llama.vocab_size"), 300);
      const shapes = new Map((info.tensorInfo ?? []).map((t) => [t.name, t.dimensions.map(Number)]));
      assert.deepEqual(shapes.get("token_embd.weight"), [64, 300]);
      assert.deepEqual(shapes.get("output.weight"), [64, 300]);
      if (tokenizer === "bpe") assert.equal((at(info.metadata, "tokenizer.ggml.merges") as string[]).length, 300 - 9 - 256);
    }
    assert.throws(() => testModelVocabulary({ vocabSize: 100 }), /vocabSize/);
    assert.throws(() => testModelVocabulary({ vocabSize: 100_000 }), /vocabSize/);
  });
});
