/**
 * Which stop string ended a choice (the `finish` event's `stopSequence`, Anthropic's
 * `stop_sequence`): the matcher names the earliest one found, across pushes; the choice output
 * names it for plain answers and for answers parsed for tool calls; an upstream's vLLM
 * `stop_reason` string becomes it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChoiceOutput } from "../../src/chat/choice-output.ts";
import { StopMatcher } from "../../src/chat/stop-matcher.ts";
import { chunkEvents, completionEvents } from "../../src/engines/upstream/chunk-events.ts";

describe("stop sequences", () => {
  it("the matcher names the stop string found first in the text, split across pushes", () => {
    const matcher = new StopMatcher(["END", "ST"]);
    assert.deepEqual(matcher.push("abc S"), { text: "abc ", stopped: false });
    assert.equal(matcher.matched, undefined);
    assert.deepEqual(matcher.push("TOP END"), { text: "", stopped: true });
    assert.equal(matcher.matched, "ST");
  });

  it("names nothing when no stop string ends the text", () => {
    const matcher = new StopMatcher(["zz"]);
    matcher.push("abc z");
    matcher.flush();
    assert.equal(matcher.matched, undefined);
  });

  it("the choice output names the one that ended the answer", () => {
    const output = new ChoiceOutput({ choice: 0, stop: ["\n\n", "!"] });
    assert.equal(output.push("Hi", []).stopped, false);
    assert.equal(output.push(" there! Bye", []).stopped, true);
    assert.equal(output.stopSequence, "!");
    assert.equal(new ChoiceOutput({ choice: 0, stop: ["x"] }).stopSequence, undefined);
  });

  it("an upstream's vLLM stop_reason string becomes the finish event's stopSequence", () => {
    const chunk = { choices: [{ index: 0, delta: {}, finish_reason: "stop", stop_reason: "###" }] };
    assert.deepEqual(chunkEvents(chunk).at(-1), { type: "finish", choice: 0, reason: "stop", stopSequence: "###" });
    const byToken = { choices: [{ index: 0, delta: {}, finish_reason: "stop", stop_reason: 151645 }] };
    assert.deepEqual(chunkEvents(byToken).at(-1), { type: "finish", choice: 0, reason: "stop" });
    const whole = { choices: [{ index: 0, message: { content: "a" }, finish_reason: "stop", stop_reason: "END" }] };
    assert.deepEqual(
      completionEvents(whole).find((e) => e.type === "finish"),
      { type: "finish", choice: 0, reason: "stop", stopSequence: "END" },
    );
  });
});
