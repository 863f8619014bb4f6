import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Utf8Guard } from "../../src/engines/llama/utf8-guard.ts";
import { TokenType, Vocabulary } from "../../src/engines/llama/vocabulary.ts";

// SentencePiece-style byte tokens make exact bytes easy to write.
const pieces = ["▁a", "<0xC3>", "<0xA9>", "<0xE0>", "<0x80>", "<0xA0>", "<0xED>", "<0xF5>", "<0xC0>", "</s>", "é"];
const types = pieces.map((p) => (p.startsWith("<0x") ? TokenType.byte : p === "</s>" ? TokenType.control : TokenType.normal));
const vocab = new Vocabulary({ model: "llama", tokens: pieces, tokenTypes: types, detokenize: () => "" });
const id = (piece: string) => pieces.indexOf(piece);
const names = (tokens: readonly number[]) => tokens.map((t) => pieces[t]).sort();

describe("Utf8Guard", () => {
  it("at a character boundary bans lone continuation bytes and never-valid bytes", () => {
    const guard = new Utf8Guard(vocab);
    assert.deepEqual(names(guard.banned()), ["<0x80>", "<0xA0>", "<0xA9>", "<0xC0>", "<0xF5>"].sort());
  });

  it("after a lead byte allows only its continuation bytes", () => {
    const guard = new Utf8Guard(vocab);
    guard.accept(id("<0xC3>"));
    assert.deepEqual(names(guard.banned()), ["<0xC3>", "<0xC0>", "<0xE0>", "<0xED>", "<0xF5>", "é", "▁a"].sort());
    guard.accept(id("<0xA9>"));
    assert.ok(!guard.banned().includes(id("▁a")), "the character is complete");
  });

  it("enforces the narrower second-byte ranges (no overlongs after E0, no surrogates after ED)", () => {
    const e0 = new Utf8Guard(vocab);
    e0.accept(id("<0xE0>"));
    assert.ok(e0.banned().includes(id("<0x80>")));
    assert.ok(!e0.banned().includes(id("<0xA0>")));
    const ed = new Utf8Guard(vocab);
    ed.accept(id("<0xED>"));
    assert.ok(ed.banned().includes(id("<0xA0>")));
    assert.ok(!ed.banned().includes(id("<0x80>")));
  });

  it("never bans control tokens (they add no text)", () => {
    const guard = new Utf8Guard(vocab);
    guard.accept(id("<0xC3>"));
    assert.ok(!guard.banned().includes(id("</s>")));
  });
});
