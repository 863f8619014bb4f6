import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { TaskQueueFull, TaskTimeout, TaskWorker } from "../../src/util/task-worker.ts";
import type { GrammarTask } from "../../src/chat/grammar/grammar-task.ts";
import type { GrammarSource } from "../../src/chat/grammar/grammar-source.ts";

const module = new URL("../../src/chat/grammar/grammar-task.ts", import.meta.url);
const regex = (pattern: string): GrammarTask => ({
  spec: { kind: "constraint", constraint: { kind: "regex", pattern, field: "guided_regex" }, whitespacePattern: undefined },
  budget: { maxRules: 100_000 },
});

describe("TaskWorker", () => {
  it("runs a TypeScript task in a thread; a ParleyError comes back as one", async () => {
    const worker = new TaskWorker<GrammarTask, GrammarSource>({ module, timeoutMs: 5000 });
    try {
      assert.match((await worker.run(regex("[a-z]+"))).gbnf, /\[a-z\]\+/);
      await assert.rejects(worker.run(regex("(a")), (e: unknown) => e instanceof ParleyError && e.param === "guided_regex" && e.issues[0]?.path[0] === "guided_regex");
    } finally {
      await worker.close();
    }
  });

  it("a task over its time budget fails and its worker is replaced; the queue is bounded", async () => {
    const worker = new TaskWorker<GrammarTask, GrammarSource>({ module, timeoutMs: 1500, maxQueue: 1, keepWarm: true });
    try {
      const slow = worker.run(regex("(a|b)*".repeat(5000)));
      const waiting = worker.run(regex("x"));
      await assert.rejects(worker.run(regex("y")), TaskQueueFull);
      await assert.rejects(slow, TaskTimeout);
      assert.match((await waiting).gbnf, /x/);
    } finally {
      await worker.close();
    }
  });
});
