import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { bpeEncode, fromByteLevel, trainBpeVocab } from "../../src/testing/bpe-vocab.ts";
import { TEST_MODEL_CHAT_TEMPLATE } from "../../src/testing/chat-template.ts";
import { ensureTestModel, testModelTokenizer, TEST_MODEL_SPECIAL_TOKENS, TEST_MODEL_VOCAB_SIZE, writeTestModel } from "../../src/testing/test-model.ts";
import { at, sha256 } from "../support/gguf.ts";

const S = TEST_MODEL_SPECIAL_TOKENS;

let dir: string;
let modelPath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-test-model-"));
  modelPath = join(dir, "model.gguf");
  await writeTestModel(modelPath);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("test model file", () => {
  test("is deterministic: two writes give the same bytes", async () => {
    const second = join(dir, "again.gguf");
    await writeTestModel(second);
    assert.equal(await sha256(second), await sha256(modelPath));
    const size = (await stat(modelPath)).size;
    assert.ok(size > 100_000 && size < 20_000_000, `unexpected size ${size}`);
  });

  test("different options give a different, larger model", async () => {
    const big = join(dir, "big.gguf");
    await writeTestModel(big, { embeddingLength: 128, blockCount: 3, headCount: 8, headCountKv: 4, feedForwardLength: 384 });
    assert.ok((await stat(big)).size > (await stat(modelPath)).size);
  });

  test("metadata and tensor shapes read back with readGgufFileInfo", async () => {
    const info = await readGgufFileInfo(modelPath, { logWarnings: false });
    const m: unknown = info.metadata;
    assert.equal(info.version, 3);
    assert.equal(at(m, "general.architecture"), "llama");
    assert.equal(at(m, "general.file_type"), 1);
    assert.equal(at(m, "llama.embedding_length"), 64);
    assert.equal(at(m, "llama.block_count"), 2);
    assert.equal(at(m, "llama.rope.dimension_count"), 16);
    assert.equal(at(m, "tokenizer.ggml.model"), "gpt2");
    assert.equal(at(m, "tokenizer.ggml.pre"), "gpt-2");
    assert.equal(at(m, "tokenizer.ggml.eot_token_id"), S.imEnd.id);
    assert.equal(at(m, "tokenizer.ggml.add_bos_token"), true);
    assert.equal(at(m, "tokenizer.ggml.add_eos_token"), false);
    assert.equal(at(m, "tokenizer.chat_template"), TEST_MODEL_CHAT_TEMPLATE);
    const tokens = at(m, "tokenizer.ggml.tokens");
    assert.ok(Array.isArray(tokens));
    assert.equal(tokens.length, TEST_MODEL_VOCAB_SIZE);
    assert.equal(tokens[S.toolCallStart.id], "<tool_call>");

    const shapes = new Map((info.tensorInfo ?? []).map((t) => [t.name, t.dimensions.map(Number)]));
    assert.equal(shapes.size, 3 + 2 * 9);
    assert.deepEqual(shapes.get("token_embd.weight"), [64, TEST_MODEL_VOCAB_SIZE]);
    assert.deepEqual(shapes.get("output.weight"), [64, TEST_MODEL_VOCAB_SIZE]);
    assert.deepEqual(shapes.get("output_norm.weight"), [64]);
    assert.deepEqual(shapes.get("blk.1.attn_k.weight"), [64, 32]);
    assert.deepEqual(shapes.get("blk.1.attn_output.weight"), [64, 64]);
    assert.deepEqual(shapes.get("blk.0.ffn_down.weight"), [192, 64]);
    assert.deepEqual(shapes.get("blk.0.ffn_gate.weight"), [64, 192]);
    for (const t of info.tensorInfo ?? []) assert.equal(Number(t.offset) % 32, 0, `${t.name} is not aligned`);
  });

  test("ensureTestModel caches by content version and tolerates concurrent callers", async () => {
    const cacheDir = join(dir, "cache");
    const paths = await Promise.all([ensureTestModel({ cacheDir }), ensureTestModel({ cacheDir }), ensureTestModel({ cacheDir })]);
    assert.equal(new Set(paths).size, 1);
    const path = paths[0] ?? "";
    assert.match(path, /parley-test-model-v\d+-[0-9a-f]+\.gguf$/);
    assert.deepEqual(await readdir(cacheDir), [path.slice(cacheDir.length + 1)]); // no temp files left
    assert.equal(await sha256(path), await sha256(modelPath));
    assert.equal(await ensureTestModel({ cacheDir }), path);
  });
});

describe("BPE vocabulary", () => {
  test("is consistent: every merge joins existing tokens into a token", () => {
    const { tokens, merges } = testModelTokenizer();
    assert.ok(tokens.length >= 2000);
    const seen = new Set(tokens.slice(0, Object.keys(S).length + 256));
    const all = new Set(tokens);
    for (const merge of merges) {
      const [left, right, ...rest] = merge.split(" ");
      assert.equal(rest.length, 0, merge);
      assert.ok(left !== undefined && right !== undefined && seen.has(left) && seen.has(right), `merge "${merge}" uses unknown tokens`);
      assert.ok(all.has(left + right), `merge "${merge}" result is not a token`);
      seen.add(left + right);
    }
    assert.ok(tokens.includes("Ġthe"), "' the' should be a token");
  });

  test("training is deterministic", () => {
    assert.deepEqual(trainBpeVocab({ size: 600 }), trainBpeVocab({ size: 600 }));
  });
});

describe("chat template (@huggingface/jinja)", () => {
  const template = new Template(TEST_MODEL_CHAT_TEMPLATE);

  test("renders plain chats", () => {
    const text = template.render({
      bos_token: S.bos.text,
      add_generation_prompt: true,
      messages: [
        { role: "developer", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "Hi " },
            { type: "text", text: "there" },
          ],
        },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Bye" },
      ],
    });
    assert.equal(
      text,
      "<|startoftext|><|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n" +
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  test("renders tools, tool calls and tool results", () => {
    const tool = {
      type: "function",
      function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
    };
    const text = template.render({
      bos_token: "",
      add_generation_prompt: false,
      tools: [tool],
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "a", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } },
            { id: "b", type: "function", function: { name: "get_weather", arguments: { city: "Lyon" } } },
          ],
        },
        { role: "tool", tool_call_id: "a", content: "sunny" },
      ],
    });
    assert.ok(text.startsWith("<|im_start|>system\nBe brief.\n\n# Tools\n"), text);
    assert.ok(text.includes(`\n<tools>\n{"type": "function", "function": {"name": "get_weather"`), text);
    assert.ok(
      text.includes('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n' + '<tool_call>{"name": "get_weather", "arguments": {"city": "Lyon"}}</tool_call><|im_end|>\n'),
      text,
    );
    assert.ok(text.endsWith("<|im_start|>tool\n<tool_response>sunny</tool_response><|im_end|>\n"), text);
    assert.equal(text.split("<|im_start|>system").length, 2);
  });
});

describe("node-llama-cpp", () => {
  let llama: Llama;
  let model: LlamaModel;
  let context: LlamaContext;
  const problems: string[] = [];
  const originalWarn = console.warn;

  before(async () => {
    console.warn = (...args: unknown[]) => {
      problems.push(`console.warn: ${args.map(String).join(" ")}`);
    };
    try {
      llama = await getLlama({
        gpu: false,
        logLevel: LlamaLogLevel.warn,
        logger(level, message) {
          if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) problems.push(`${level}: ${message}`);
        },
      });
      model = await llama.loadModel({ modelPath });
      context = await model.createContext({ contextSize: 512, threads: 1 });
      // llama.cpp logs reach JS asynchronously and may arrive after the promises resolve
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      console.warn = originalWarn;
    }
  });

  after(async () => {
    await context?.dispose();
    await model?.dispose();
    await llama?.dispose();
  });

  test("loads (model and context) without warnings or errors", () => {
    assert.deepEqual(problems, []);
    assert.equal(model.fileInfo.metadata.general.architecture, "llama");
  });

  test("special token ids", () => {
    assert.equal(model.tokens.bos, S.bos.id);
    assert.equal(model.tokens.eos, S.eos.id);
    assert.equal(model.tokens.eot, S.imEnd.id);
    assert.equal(model.tokens.bosString, S.bos.text);
    assert.equal(model.tokens.shouldPrependBosToken, true);
    assert.equal(model.tokens.shouldAppendEosToken, false);
    for (const special of Object.values(S)) {
      assert.deepEqual(model.tokenize(special.text, true), [special.id], special.text);
    }
    assert.notDeepEqual(model.tokenize("<|im_end|>", false), [S.imEnd.id]);
    const [eot, eos] = [model.tokens.eot, model.tokens.eos];
    assert.ok(eot !== null && eos !== null && model.isEogToken(eot) && model.isEogToken(eos));
  });

  test("tokenize / detokenize round-trips, matching the reference BPE encoder", () => {
    const { tokens, merges } = testModelTokenizer();
    const offset = Object.keys(S).length;
    const bpe = { tokens: tokens.slice(offset), merges };
    const samples = [
      "Hello, the world! The quick brown fox jumps over the lazy dog.",
      '{"name": "get_weather", "arguments": {"city": "Paris"}}',
      "def add(a, b):\n    return a + b\n\n\tindented\r\n",
      "naïve café — 日本語, emoji 🎉👍🏽 and ünïcödé",
      "  leading and trailing spaces  ",
      "numbers 1234567890 3.14159 -42",
    ];
    for (const text of samples) {
      const ids = model.tokenize(text, false);
      assert.equal(model.detokenize(ids), text);
      assert.deepEqual(
        ids.map(Number),
        bpeEncode(bpe, text).map((id) => id + offset),
        text,
      );
    }
    assert.deepEqual(
      model.tokenize(" the", false).map((id) => fromByteLevel(tokens[id] ?? "")),
      [" the"],
    );
    const chat = "<|im_start|>user\nhi<|im_end|>\n";
    assert.equal(model.detokenize(model.tokenize(chat, true), true), chat);
  });

  test("greedy generation is deterministic and depends on the prompt", async () => {
    const generate = async (prompt: string): Promise<number[]> => {
      const sequence = context.getSequence();
      try {
        const out: number[] = [];
        const bos = model.tokens.bos;
        assert.ok(bos !== null);
        for await (const token of sequence.evaluate([bos, ...model.tokenize(prompt, true)], { temperature: 0 })) {
          out.push(token);
          if (out.length >= 16 || model.isEogToken(token)) break;
        }
        return out;
      } finally {
        await sequence.dispose();
      }
    };
    const a = await generate("<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n");
    const b = await generate("<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n");
    const c = await generate("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
    assert.ok(a.length > 0);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(new Set(a).size > 1, "greedy output should not repeat a single token");
    for (const id of [S.bos.id, S.pad.id, S.imStart.id]) assert.ok(!a.includes(id) && !c.includes(id));
  });
});
