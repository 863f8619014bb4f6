import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { StopMatcher } from "../../src/chat/stop-matcher.ts";

/** Feeds pieces one by one; returns everything emitted and whether a stop was hit. */
function run(stops: string[], pieces: string[]): { text: string; stopped: boolean } {
  const matcher = new StopMatcher(stops);
  let text = "";
  for (const piece of pieces) {
    const step = matcher.push(piece);
    text += step.text;
    if (step.stopped) return { text, stopped: true };
  }
  return { text: text + matcher.flush(), stopped: false };
}

describe("StopMatcher", () => {
  it("passes text through without stops", () => {
    assert.deepEqual(run([], ["a", "b"]), { text: "ab", stopped: false });
  });

  it("cuts before a stop string inside one piece", () => {
    assert.deepEqual(run(["END"], ["abcENDxyz"]), { text: "abc", stopped: true });
  });

  it("matches a stop string split across many pieces, emitting none of it", () => {
    const matcher = new StopMatcher(["<|stop|>"]);
    const emitted: string[] = [];
    for (const piece of ["hello <", "|st", "op", "|", "> after"]) {
      const step = matcher.push(piece);
      emitted.push(step.text);
      if (step.stopped) break;
    }
    assert.equal(emitted.join(""), "hello ");
    assert.ok(emitted.every((e) => !e.includes("<")));
  });

  it("releases held-back text once it cannot start a stop string", () => {
    const matcher = new StopMatcher(["abc"]);
    assert.equal(matcher.push("xa").text, "x");
    assert.equal(matcher.push("b").text, "");
    assert.equal(matcher.push("d").text, "abd");
  });

  it("finds the earliest of several stops", () => {
    assert.deepEqual(run(["world", "lo"], ["hello world"]), { text: "hel", stopped: true });
  });

  it("handles overlapping prefixes (aab in aaab)", () => {
    assert.deepEqual(run(["aab"], ["a", "a", "a", "b", "c"]), { text: "a", stopped: true });
  });

  it("flush returns held-back text at the end", () => {
    assert.deepEqual(run(["STOP"], ["abc ST"]), { text: "abc ST", stopped: false });
  });

  it("ignores empty stop strings", () => {
    assert.deepEqual(run([""], ["abc"]), { text: "abc", stopped: false });
  });
});

test("inactive pushes match nothing but hold back a possible start, so a later active push can complete it", () => {
  const m = new StopMatcher(["upart"]);
  assert.deepEqual(m.push("means up", false), { text: "means ", stopped: false });
  assert.deepEqual(m.push("art!", true), { text: "", stopped: true });
  const n = new StopMatcher(["ab"]);
  assert.deepEqual(n.push("xaby", false), { text: "xaby", stopped: false }, "a whole stop string while inactive is plain text");
  assert.deepEqual(n.push("ab", true), { text: "", stopped: true });
});
