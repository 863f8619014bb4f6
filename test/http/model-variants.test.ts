/**
 * Parley must serve GGUFs shaped like the ones users bring, not only its own test model: a
 * SentencePiece vocabulary with byte fallback, no chat template, ChatML special tokens stored as
 * plain text, a tiny vocabulary. Each variant is written by the test-model writer, served by a real
 * server, and driven with the official client.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Template } from "@huggingface/jinja";
import { getLlama, LlamaLogLevel, type Llama, type Token } from "node-llama-cpp";
import type OpenAI from "openai";
import { DEFAULT_CHAT_TEMPLATE } from "../../src/chat/template.ts";
import { TEST_MODEL_SPECIAL_TOKENS, TEST_MODEL_SPM_SPECIAL_TOKENS, testModelVocabulary, writeTestModel, type TestModelOptions } from "../../src/testing/test-model.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

interface Variant {
  /** File base name, hence the model id. */
  readonly name: string;
  readonly options: TestModelOptions;
  readonly flags?: readonly string[];
  /** Tokens that are not end-of-generation but must never show up as text: forced with +100, content stays "". */
  readonly silentTokens: readonly { readonly id: number; readonly text: string }[];
  /** Like silentTokens, for known gaps: run as `todo` tests (reported, not failing). */
  readonly silentTokensTodo?: readonly { readonly id: number; readonly text: string; readonly why: string }[];
  /** The server must fall back to the default ChatML template (none in the file, or one it cannot parse). */
  readonly expectDefaultTemplate?: boolean;
}

const BPE = TEST_MODEL_SPECIAL_TOKENS;
const SPM = TEST_MODEL_SPM_SPECIAL_TOKENS;

const VARIANTS: readonly Variant[] = [
  { name: "variant-spm", options: { tokenizer: "spm" }, silentTokens: [SPM.bos, SPM.unk] },
  {
    name: "variant-spm-tiny-no-template",
    options: { tokenizer: "spm", vocabSize: 300, chatTemplate: false },
    silentTokens: [SPM.bos, SPM.unk],
    expectDefaultTemplate: true,
  },
  {
    name: "variant-special-as-text",
    options: { specialTokensAsText: true },
    // llama.cpp warns (by design of this variant) that <|endoftext|> and <|im_end|> are typed as text
    flags: ["--log-level", "error"],
    silentTokens: [BPE.pad, BPE.bos],
    silentTokensTodo: [
      {
        ...BPE.imStart,
        why: "typed as text and named by no GGUF id, so llama.cpp (and Parley) treat it as ordinary text",
      },
    ],
  },
  { name: "variant-bpe-tiny-no-template", options: { vocabSize: 300, chatTemplate: false }, silentTokens: [BPE.bos, BPE.pad], expectDefaultTemplate: true },
  {
    name: "variant-broken-template",
    // A template our Jinja engine cannot parse: the model must still be served, with ChatML.
    options: { chatTemplate: "{% for message in messages %}{{ message.content" },
    flags: ["--log-level", "error"],
    silentTokens: [BPE.bos, BPE.pad],
    expectDefaultTemplate: true,
  },
];

const MESSAGES: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Write about the café, 5€ and naïve code." },
];
const MAX_TOKENS = 16;

let dir: string;
let llama: Llama;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-model-variants-"));
  // only tokenizes prompts to count them; nothing to log
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
});

after(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

for (const variant of VARIANTS) {
  describe(`serving ${variant.name}`, () => {
    const vocab = testModelVocabulary(variant.options);
    const noEog = Object.fromEntries(vocab.eogTokens.map((id) => [String(id), -100]));
    // Texts of every token that is not content: specials typed control/unknown, and those named BOS/EOS/EOT.
    const specialTexts = [...new Set([...Object.values(variant.options.tokenizer === "spm" ? SPM : BPE).map((s) => s.text)])].filter((text) => !text.startsWith("<tool"));
    let path: string;
    let t: TestServer;

    before(async () => {
      path = join(dir, `${variant.name}.gguf`);
      await writeTestModel(path, variant.options);
      t = await startTestServer(["--model", path, ...(variant.flags ?? [])]);
    });
    after(() => t?.close());

    const request = {
      model: variant.name,
      messages: MESSAGES,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      logit_bias: noEog,
      logprobs: true,
      top_logprobs: 2,
    } as const;

    it("lists the file's base name as the model id", async () => {
      const list = await t.client.models.list();
      assert.deepEqual(
        list.data.map((m) => m.id),
        [variant.name],
      );
    });

    it("non-streaming: exact usage, logprob bytes that decode to the content, no special-token text", async () => {
      const res = await t.client.chat.completions.create({ ...request, stream: false });
      const choice = res.choices[0];
      assert.ok(choice);
      assert.equal(choice.finish_reason, "length");
      assert.equal(res.usage?.completion_tokens, MAX_TOKENS);
      assert.equal(res.usage?.total_tokens, (res.usage?.prompt_tokens ?? 0) + MAX_TOKENS);
      const content = choice.message.content ?? "";
      assert.ok(content.length > 0);
      const entries = choice.logprobs?.content ?? [];
      assert.equal(entries.length, MAX_TOKENS);
      const bytes = entries.flatMap((e) => e.bytes ?? []);
      assert.equal(new TextDecoder().decode(Uint8Array.from(bytes)), content);
      for (const e of entries) assert.ok(e.top_logprobs.length > 0 && e.logprob <= 0);
      for (const text of specialTexts) assert.ok(!content.includes(text), `content contains ${text}: ${JSON.stringify(content)}`);
    });

    it("streaming gives the same text, logprobs and usage as non-streaming at temperature 0", async () => {
      const full = await t.client.chat.completions.create({ ...request, stream: false });
      const stream = await t.client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
      let text = "";
      let finish: string | null = null;
      const logprobs: OpenAI.Chat.ChatCompletionTokenLogprob[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        text += c?.delta.content ?? "";
        logprobs.push(...(c?.logprobs?.content ?? []));
        finish = c?.finish_reason ?? finish;
        usage = chunk.usage ?? usage;
      }
      assert.equal(text, full.choices[0]?.message.content);
      assert.equal(finish, "length");
      assert.deepEqual(
        logprobs.map((e) => [e.token, e.bytes]),
        full.choices[0]?.logprobs?.content?.map((e) => [e.token, e.bytes]),
      );
      assert.equal(usage?.completion_tokens, MAX_TOKENS);
      assert.equal(usage?.prompt_tokens, full.usage?.prompt_tokens);
    });

    for (const [label, id] of [
      ["EOS", vocab.eos],
      ["EOT (<|im_end|>)", vocab.eot],
    ] as const) {
      it(`+100 on ${label} stops at once with empty content`, async () => {
        const res = await t.client.chat.completions.create({ model: variant.name, messages: MESSAGES, max_tokens: 5, logit_bias: { [id]: 100 } });
        assert.equal(res.choices[0]?.finish_reason, "stop");
        assert.equal(res.choices[0]?.message.content, "");
        assert.equal(res.usage?.completion_tokens, 0);
      });
    }

    const silent = [...variant.silentTokens.map((s) => ({ ...s, why: undefined })), ...(variant.silentTokensTodo ?? [])];
    for (const special of silent) {
      it(`${special.text} (forced with +100) never shows up in content`, { todo: special.why ?? false }, async () => {
        const res = await t.client.chat.completions.create({
          model: variant.name,
          messages: MESSAGES,
          max_tokens: 3,
          logit_bias: { [special.id]: 100 },
          logprobs: true,
        });
        assert.equal(res.usage?.completion_tokens, 3);
        assert.equal(res.choices[0]?.finish_reason, "length");
        assert.equal(res.choices[0]?.message.content, "");
      });
    }

    if (variant.expectDefaultTemplate === true) {
      it("without a usable template in the GGUF, renders the prompt with the default ChatML template", async () => {
        const res = await t.client.chat.completions.create({ model: variant.name, messages: MESSAGES, max_tokens: 1 });
        const model = await llama.loadModel({ modelPath: path });
        try {
          const text = new Template(DEFAULT_CHAT_TEMPLATE).render({ messages: MESSAGES, add_generation_prompt: true, bos_token: "", eos_token: "" });
          assert.match(text, /^<\|im_start\|>system\n/);
          const tokens: Token[] = model.tokenize(text, true);
          const bos = model.tokens.bos;
          const expected = tokens.length + (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos ? 1 : 0);
          assert.equal(res.usage?.prompt_tokens, expected);
          assert.ok(tokens.includes(vocab.imStart as Token), "<|im_start|> is parsed as one special token");
        } finally {
          await model.dispose();
        }
      });
    }
  });
}
