import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenTextStream } from "../../src/engines/llama/token-text.ts";
import { TokenType, Vocabulary } from "../../src/engines/llama/vocabulary.ts";

const entry = (token: string) => ({ token, logprob: -1, bytes: [], topLogprobs: [] });

describe("Vocabulary", () => {
  it("decodes GPT-2 byte-level pieces to exact bytes", () => {
    // "Ġ" is the GPT-2 stand-in for the space byte, "Ã" + "©" for é's two bytes.
    const vocab = new Vocabulary({ model: "gpt2", tokens: ["Ġhello", "Ã", "©", "<|end|>"], tokenTypes: [1, 1, 1, 3], detokenize: () => "" });
    assert.deepEqual([...vocab.bytes(0)], [...Buffer.from(" hello")]);
    assert.deepEqual([...vocab.bytes(1), ...vocab.bytes(2)], [...Buffer.from("é")]);
    assert.equal(vocab.isControl(3), true);
    assert.equal(Buffer.from(vocab.bytes(3)).toString(), "<|end|>");
  });

  it("decodes SentencePiece pieces and <0xNN> byte tokens", () => {
    const vocab = new Vocabulary({
      model: "llama",
      tokens: ["▁the", "<0xE2>", "<0x82>", "<0xAC>", "<s>"],
      tokenTypes: [TokenType.normal, TokenType.byte, TokenType.byte, TokenType.byte, TokenType.control],
      detokenize: () => "",
    });
    assert.equal(Buffer.from(vocab.bytes(0)).toString(), " the");
    assert.equal(Buffer.from([...vocab.bytes(1), ...vocab.bytes(2), ...vocab.bytes(3)]).toString(), "€");
  });

  it("falls back to the engine's detokenizer for other tokenizer families", () => {
    const vocab = new Vocabulary({ model: "rwkv", tokens: ["x"], tokenTypes: undefined, detokenize: () => "piece" });
    assert.equal(Buffer.from(vocab.bytes(0)).toString(), "piece");
  });
});

describe("TokenTextStream", () => {
  const vocab = new Vocabulary({ model: "llama", tokens: ["▁a", "<0xE2>", "<0x82>", "<0xAC>", "</s>", "b", "STOP"], tokenTypes: [1, 6, 6, 6, 3, 1, 1], detokenize: () => "" });

  it("holds a split character until it is complete, with its logprob entries", () => {
    const text = new TokenTextStream(vocab, []);
    assert.deepEqual(text.push(0, entry("a")), { text: " a", logprobs: [entry("a")], stopped: false });
    const partial = text.push(1, entry("1"));
    assert.equal(partial.text, "");
    assert.equal(partial.logprobs.length, 0);
    text.push(2, entry("2"));
    const done = text.push(3, entry("3"));
    assert.equal(done.text, "€");
    assert.deepEqual(
      done.logprobs.map((e) => e.token),
      ["1", "2", "3"],
    );
  });

  it("skips control tokens in content but keeps their entries", () => {
    const text = new TokenTextStream(vocab, []);
    const step = text.push(4, entry("</s>"));
    assert.equal(step.text, "");
    assert.deepEqual(
      text.finish().logprobs.map((e) => e.token),
      ["</s>"],
    );
  });

  it("drops the entries of tokens that only produced the stop string", () => {
    const text = new TokenTextStream(vocab, ["bSTOP"]);
    assert.equal(text.push(0, entry("a")).text, " a");
    const held = text.push(5, entry("b"));
    assert.deepEqual(held, { text: "", logprobs: [], stopped: false });
    assert.deepEqual(text.push(6, entry("STOP")), { text: "", logprobs: [], stopped: true });
  });

  it("finish flushes an incomplete character as U+FFFD", () => {
    const text = new TokenTextStream(vocab, []);
    text.push(1, undefined);
    assert.equal(text.finish().text, "\uFFFD");
  });
});

describe("Vocabulary special ids", () => {
  it("treats the model's named special tokens as control even when typed as text", () => {
    const vocab = new Vocabulary({ model: "gpt2", tokens: ["a", "<|im_end|>"], tokenTypes: [1, 1], detokenize: () => "", specialTokenIds: [1] });
    assert.equal(vocab.isControl(1), true);
    assert.equal(vocab.isControl(0), false);
    const text = new TokenTextStream(vocab, []);
    assert.equal(text.push(1, undefined).text, "");
  });
});
