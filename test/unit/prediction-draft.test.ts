import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findRun, NgramDraft, PredictionDraft, type PredictionText } from "../../src/engines/llama/draft-sources.ts";

/** A toy tokenizer over single characters and a few two-character tokens, to exercise text re-alignment. */
const PAIRS = ["ab", "cd"];
const toyText = (text: string): PredictionText => ({
  bytes: Buffer.from(text, "utf8"),
  tokenBytes: (token) => Buffer.from(token >= 1000 ? (PAIRS[token - 1000] ?? "") : String.fromCharCode(token), "utf8"),
  tokenize: (part) => {
    const out: number[] = [];
    for (let i = 0; i < part.length; ) {
      const pair = PAIRS.indexOf(part.slice(i, i + 2));
      if (pair >= 0) {
        out.push(1000 + pair);
        i += 2;
      } else out.push(part.charCodeAt(i++));
    }
    return out;
  },
});

describe("PredictionDraft", () => {
  const prompt = [900, 901, 902];
  const tokens = [1, 2, 3, 4, 5, 6, 7, 8];

  it("drafts the prediction from its start, and follows the output while it agrees", () => {
    const d = new PredictionDraft(tokens, { promptLength: prompt.length });
    d.reset(prompt);
    assert.deepEqual(d.predict(3), [1, 2, 3]);
    d.push([1, 2]);
    assert.deepEqual(d.predict(3), [3, 4, 5]);
    assert.deepEqual(d.predict(0), []);
  });

  it("after an insertion, drafting resumes once the output's last tokens are found in the prediction", () => {
    const d = new PredictionDraft(tokens, { promptLength: prompt.length });
    d.reset(prompt);
    d.push([1, 2, 50, 51]); // inserted 50 51
    assert.deepEqual(d.predict(3), [], "no run of ≥ 2 output tokens in the prediction yet");
    d.push([3]);
    assert.deepEqual(d.predict(3), [], "one shared token is not enough to resynchronise");
    d.push([4]);
    assert.deepEqual(d.predict(3), [5, 6, 7]);
  });

  it("after a deletion, drafting resumes after the skipped part", () => {
    const d = new PredictionDraft(tokens, { promptLength: prompt.length });
    d.reset(prompt);
    d.push([1, 2, 5, 6]); // 3 4 deleted
    assert.deepEqual(d.predict(2), [7, 8]);
  });

  it("prefers the occurrence after where the output last followed the prediction", () => {
    const repeated = [1, 2, 9, 1, 2, 7];
    const d = new PredictionDraft(repeated, { promptLength: 0 });
    d.reset([]);
    d.push([1, 2, 9, 4, 1, 2]); // followed up to index 3, then 4 replaced the second run's start
    assert.equal(d.cursor, 5);
    assert.deepEqual(d.predict(1), [7]);
  });

  it("reset derives the output from the state past the prompt (mid-generation resets)", () => {
    const d = new PredictionDraft(tokens, { promptLength: prompt.length });
    d.reset([...prompt, 3, 4]);
    assert.deepEqual(d.predict(2), [5, 6]);
  });

  it("follows an output that spells the predicted text with other tokens, by tokenizing the rest again", () => {
    const text = "xabcdyz";
    const toy = toyText(text);
    const own = toy.tokenize(text); // x ab cd y z
    const d = new PredictionDraft(own, { promptLength: 0, text: toy });
    d.reset([]);
    // The model spells "ab" as "a" + "b": a different token than the prediction's.
    d.push(["x".charCodeAt(0), "a".charCodeAt(0)]);
    assert.deepEqual(d.predict(3), ["b".charCodeAt(0), 1001, "y".charCodeAt(0)], "the rest, 'bcdyz', tokenized again");
  });
});

describe("NgramDraft", () => {
  it("drafts what followed the latest earlier occurrence of the last tokens", () => {
    const d = new NgramDraft({ ngram: 3 });
    d.reset([1, 2, 3, 4, 5, 9, 1, 2, 3, 6, 7]);
    d.push([1, 2, 3]);
    assert.deepEqual(d.predict(4), [6, 7, 1, 2], "the later occurrence wins");
  });

  it("falls back to shorter runs, not below two tokens by default, and honours the minimum draft", () => {
    const d = new NgramDraft({ ngram: 4 });
    d.reset([5, 6, 7, 8, 1]);
    d.push([6]);
    assert.deepEqual(d.predict(3), [], "a single shared token does not draft");
    d.push([7]);
    assert.deepEqual(d.predict(3), [8, 1, 6]);
    const strict = new NgramDraft({ ngram: 2, minDraft: 5 });
    strict.reset([5, 6, 7, 8, 5, 6]);
    assert.deepEqual(strict.predict(10), [], "a continuation shorter than minDraft is not drafted");
  });
});

describe("findRun", () => {
  it("finds the first occurrence at or after a position, else the last before it", () => {
    const hay = [1, 2, 1, 2, 1, 2];
    assert.equal(findRun(hay, [1, 2], 0, 2, 3), 4);
    assert.equal(findRun(hay, [1, 2], 0, 2, 5), 4);
    assert.equal(findRun(hay, [1, 2], 0, 2, 0), 0);
    assert.equal(findRun(hay, [3], 0, 1, 0), undefined);
  });
});
