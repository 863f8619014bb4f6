import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { detectReasoningFormat } from "../../src/chat/reasoning/detect.ts";
import { forcedText, opensThoughts, reasoningSplitter as splitterFor, type ReasoningPart, type ReasoningSplitter } from "../../src/chat/reasoning/splitter.ts";
import type { ReasoningFormat } from "../../src/domain/reasoning.ts";

const THINK: ReasoningFormat = { kind: "tags", open: "<think>", close: "</think>" };
const GRANITE: ReasoningFormat = { kind: "tags", open: "<think>", close: "</think>", answerTags: { open: "<response>", close: "</response>" } };
const HARMONY: ReasoningFormat = { kind: "harmony" };

/** A splitter in the state `prompt` leaves the output in. */
function reasoningSplitter(format: ReasoningFormat, prompt: string): ReasoningSplitter {
  return splitterFor(format, { inside: format.kind === "tags" && opensThoughts(format, prompt), promptTail: () => prompt });
}

/** Feeds `chunks` and joins what comes out by kind. */
function split(splitter: ReasoningSplitter, chunks: readonly string[]): { reasoning: string; content: string; parts: ReasoningPart[] } {
  const parts = [...chunks.flatMap((c) => splitter.push(c)), ...splitter.finish()];
  const join = (kind: ReasoningPart["kind"]) =>
    parts
      .filter((p) => p.kind === kind)
      .map((p) => p.text)
      .join("");
  return { reasoning: join("reasoning"), content: join("content"), parts };
}

/** Every way of cutting `text` into pieces gives the same result as one piece. */
function sameWhateverTheCuts(format: ReasoningFormat, prompt: string, text: string): void {
  const whole = split(reasoningSplitter(format, prompt), [text]);
  fc.assert(
    fc.property(fc.array(fc.nat(text.length), { maxLength: 8 }), (cuts) => {
      const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), text.length];
      const chunks = points.slice(1).map((end, i) => text.slice(points[i], end));
      const got = split(reasoningSplitter(format, prompt), chunks);
      assert.equal(got.reasoning, whole.reasoning);
      assert.equal(got.content, whole.content);
    }),
  );
}

describe("tag splitter", () => {
  it("splits a think block from the answer, dropping the whitespace around both", () => {
    const got = split(reasoningSplitter(THINK, "<|im_start|>assistant\n"), ["<think>\nI ponder.\n</think>\n\nThe answer."]);
    assert.equal(got.reasoning, "I ponder.");
    assert.equal(got.content, "The answer.");
  });

  it("gives the same split however the text arrives", () => {
    sameWhateverTheCuts(THINK, "", "  <think>\nstep one\n\nstep two </thi think\n</think>\n\nAnswer </think> stays.");
    sameWhateverTheCuts(GRANITE, "", "<think>why</think><response>Because.</response>");
    sameWhateverTheCuts(THINK, "<think>\n", "inside already</think>done");
  });

  it("starts inside the block when the prompt opened it", () => {
    assert.equal(opensThoughts({ kind: "tags", open: "<think>", close: "</think>" }, "<｜Assistant｜><think>\n"), true);
    assert.equal(opensThoughts({ kind: "tags", open: "<think>", close: "</think>" }, "assistant\n<think>\n\n</think>\n\n"), false);
    const got = split(reasoningSplitter(THINK, "<｜Assistant｜><think>\n"), ["thoughts</think>answer"]);
    assert.deepEqual([got.reasoning, got.content], ["thoughts", "answer"]);
    const repeated = split(reasoningSplitter(THINK, "<think>\n"), ["\n<th", "ink>thoughts</think>answer"]);
    assert.deepEqual([repeated.reasoning, repeated.content], ["thoughts", "answer"], "an opening marker repeated by the model is not a thought");
  });

  it("treats output that does not open the block as the answer, and never reopens it", () => {
    assert.deepEqual(split(reasoningSplitter(THINK, ""), ["Plain <think>answer</think>"]).content, "Plain <think>answer</think>");
    const closed = split(reasoningSplitter(THINK, ""), ["<think>a</think>b<think>c</think>"]);
    assert.deepEqual([closed.reasoning, closed.content], ["a", "b<think>c</think>"]);
  });

  it("keeps an unclosed block as reasoning, and a partial marker at the end as what it is", () => {
    assert.deepEqual(split(reasoningSplitter(THINK, ""), ["<think>cut off </th"]).reasoning, "cut off </th");
    assert.deepEqual(split(reasoningSplitter(THINK, ""), ["<thi"]).content, "<thi");
  });

  it("reports its phase as the text comes", () => {
    const splitter = reasoningSplitter(THINK, "");
    splitter.push("\n<thi");
    assert.equal(splitter.phase, "undecided");
    splitter.push("nk>x");
    assert.equal(splitter.phase, "reasoning");
    splitter.push("</think>");
    assert.equal(splitter.phase, "answer");
  });

  it("takes Granite's response tags off the answer", () => {
    const got = split(reasoningSplitter(GRANITE, ""), ["<think>why</think>\n<response>Because.</response>"]);
    assert.deepEqual([got.reasoning, got.content], ["why", "Because."]);
  });
});

describe("harmony splitter", () => {
  const output = "<|channel|>analysis<|message|>Think about it.<|end|><|start|>assistant<|channel|>final<|message|>The answer.";

  it("routes the analysis channel to reasoning and the final channel to the answer", () => {
    const got = split(reasoningSplitter(HARMONY, "<|start|>assistant"), [output]);
    assert.deepEqual([got.reasoning, got.content], ["Think about it.", "The answer."]);
  });

  it("gives the same split however the text arrives", () => sameWhateverTheCuts(HARMONY, "<|start|>assistant", output));

  it("passes output that is not Harmony through as the answer", () => {
    assert.equal(split(reasoningSplitter(HARMONY, ""), ["Hello there"]).content, "Hello there");
  });

  it("continues a message the prompt left open", () => {
    const got = split(reasoningSplitter(HARMONY, "<|start|>assistant<|channel|>final<|message|>Part"), [" two"]);
    assert.equal(got.content, " two");
  });

  it("is undecided in headers, reasoning in analysis, answering in final", () => {
    const splitter = reasoningSplitter(HARMONY, "");
    splitter.push("<|channel|>analysis");
    assert.equal(splitter.phase, "undecided");
    splitter.push("<|message|>hm");
    assert.equal(splitter.phase, "reasoning");
    splitter.push("<|end|><|start|>assistant<|channel|>final<|message|>");
    assert.equal(splitter.phase, "answer");
  });

  it("keeps a call's header in the answer, in one form wherever the model put the recipient", () => {
    const canonical = '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Oslo"}';
    for (const call of [
      '<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Oslo"}<|call|>',
      '<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{"city":"Oslo"}<|call|>',
      '<|start|>assistant<|channel|>commentary to=functions.get_weather<|message|>{"city":"Oslo"}',
    ]) {
      const got = split(reasoningSplitter(HARMONY, "<|start|>assistant"), [`<|channel|>analysis<|message|>hm<|end|>${call}`]);
      assert.deepEqual([got.reasoning, got.content], ["hm", canonical]);
      sameWhateverTheCuts(HARMONY, "<|start|>assistant", `<|channel|>analysis<|message|>hm<|end|>${call}`);
    }
  });

  it("leaves the next channel open when closing for a grammar that writes headers", () => {
    const got = split(reasoningSplitter(HARMONY, ""), ["<|channel|>analysis<|message|>hm", forcedText(HARMONY, { headerFree: true }).close, "<|channel|>final<|message|>Done"]);
    assert.deepEqual([got.reasoning, got.content], ["hm", "Done"]);
  });

  it("closes the thoughts with a final-channel header when forced", () => {
    const splitter = reasoningSplitter(HARMONY, "");
    const got = split(splitter, ["<|channel|>analysis<|message|>hm", forcedText(HARMONY).close, "Done"]);
    assert.deepEqual([got.reasoning, got.content], ["hm", "Done"]);
  });
});

describe("reasoning format detection", () => {
  const noTokens = () => false;
  it("finds think tags, Harmony, Granite's answer tags, and other families' markers", () => {
    assert.deepEqual(detectReasoningFormat("{{ content.split('</think>')[-1] }}", noTokens), THINK);
    assert.deepEqual(detectReasoningFormat("<|channel|>analysis<|message|>", noTokens), HARMONY);
    assert.deepEqual(detectReasoningFormat("Write <think></think> then <response></response>", noTokens), GRANITE);
    assert.deepEqual(detectReasoningFormat("{{ '<seed:think>' }}{{ '</seed:think>' }}", noTokens), { kind: "tags", open: "<seed:think>", close: "</seed:think>" });
    // MiniMax-M2 wraps tool results in <response>: not Granite's answer tags.
    assert.deepEqual(detectReasoningFormat("</think>{{ '<response>' + m.content + '</response>' }}", noTokens), THINK);
  });

  it("uses the vocabulary when the template says nothing, and finds nothing in a plain template", () => {
    assert.deepEqual(
      detectReasoningFormat("{{ messages }}", (t) => t === "<think>" || t === "</think>"),
      THINK,
    );
    assert.equal(detectReasoningFormat("{{ messages }}", noTokens), undefined);
  });
});
