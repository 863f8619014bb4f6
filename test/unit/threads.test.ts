import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultThreads } from "../../src/engines/llama/threads.ts";

describe("defaultThreads", () => {
  it("uses one thread up to two cores, all but one beyond", () => {
    assert.deepEqual([1, 2, 3, 4, 16].map(defaultThreads), [1, 1, 2, 3, 15]);
  });
});
