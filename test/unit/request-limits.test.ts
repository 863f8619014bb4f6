import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, parseLimits } from "../../src/domain/limits.ts";
import { shapeIssues, sizeIssues, tooDeep } from "../../src/schemas/request-limits.ts";

/** A value nested `depth` arrays deep, built without recursion. */
function deep(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe("request limits", () => {
  it("measure depth without recursion, naming the first path too deep", () => {
    assert.equal(tooDeep({ a: [1, { b: 2 }] }, 3), undefined);
    assert.deepEqual(tooDeep({ a: [1, { b: 2 }] }, 2), ["a", 1]);
    assert.equal(tooDeep(deep(1_000_000), 64)?.length, 64); // a stack-overflowing depth is just a loop
  });

  it("shape issues name the top-level field, and the item of messages and tools", () => {
    const issues = shapeIssues({ guided_json: deep(100), messages: Array.from({ length: 5 }, () => ({})) }, { ...DEFAULT_LIMITS, messages: 4 });
    assert.deepEqual(
      issues.map((i) => i.path),
      [["guided_json"], ["messages"]],
    );
    assert.deepEqual(shapeIssues({ tools: [{}, { function: deep(100) }] }, DEFAULT_LIMITS)[0]?.path, ["tools", 1]);
  });

  it("size issues cover JSON fields, grammar sources, stop strings and the whole input", () => {
    const limits = { ...DEFAULT_LIMITS, jsonFieldChars: 20, grammarChars: 5, stopChars: 3, inputChars: 50 };
    const issues = sizeIssues(
      {
        messages: [{ content: "x".repeat(40) }],
        tools: [{ type: "function", function: { name: "a" } }],
        guided_json: { type: "string", maxLength: 3 },
        guided_regex: "abcdef",
        guided_choice: ["abc", "def"],
        stop: ["ok", "toolong"],
      },
      limits,
    );
    const named = issues.map((i) => i.path.join("."));
    assert.deepEqual(named, ["guided_json", "guided_regex", "guided_choice", "stop.1", "tools.0", "messages"]);
    assert.ok(issues.every((i) => /\(limit \w+\)/.test(i.message)));
  });

  it("--limit values override the defaults; unknown names and bad values are refused", () => {
    assert.equal(parseLimits(["stopChars=2048"]).stopChars, 2048);
    assert.equal(parseLimits([]).jsonDepth, DEFAULT_LIMITS.jsonDepth);
    assert.throws(() => parseLimits(["nope=1"]), /unknown limit "nope"/);
    assert.throws(() => parseLimits(["stopChars=-1"]), /positive number/);
    assert.throws(() => parseLimits(["stopChars"]), /positive number/);
  });
});
