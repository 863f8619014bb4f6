/**
 * The batch scheduler's step barrier and batch counting, without a model: fake sequences carry
 * only the id node-llama-cpp keeps internally.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BatchItem, CustomBatchingPrioritizationStrategy, LlamaContextSequence } from "node-llama-cpp";
import { BatchScheduler } from "../../src/engines/llama/batch-scheduler.ts";

const sequence = (id: number) => ({ _sequenceId: id }) as unknown as LlamaContextSequence;

/** Steps each member and records the order in which they resume. */
async function stepAll(members: { id: number; step(): Promise<void> | undefined }[], resumed: number[]): Promise<void> {
  await Promise.all(
    members.map(async (member) => {
      const turn = member.step();
      if (turn !== undefined) await turn;
      resumed.push(member.id);
    }),
  );
}

describe("BatchScheduler", () => {
  it("never holds a sequence that generates alone", () => {
    const scheduler = new BatchScheduler();
    const member = scheduler.join(sequence(0));
    assert.equal(member.step(), undefined);
    assert.equal(member.step(), undefined);
    member.leave();
    assert.equal(scheduler.members, 0);
  });

  it("releases the members together once all arrived, lowest sequence id first", async () => {
    const scheduler = new BatchScheduler();
    const members = [2, 0, 3, 1].map((id) => ({ id, ...scheduler.join(sequence(id)) }));
    const resumed: number[] = [];
    const waits = members.map((member) => member.step());
    assert.ok(waits.every((wait) => wait !== undefined));
    await Promise.all(waits.map((wait, i) => wait?.then(() => resumed.push(members[i]?.id ?? -1))));
    assert.deepEqual(resumed, [0, 1, 2, 3]);
    // and again, whoever arrives last
    const again: number[] = [];
    await stepAll(
      [members[1], members[3], members[0], members[2]].flatMap((m) => (m === undefined ? [] : [m])),
      again,
    );
    assert.deepEqual(again, [0, 1, 2, 3]);
  });

  it("a member that leaves no longer holds the others", async () => {
    const scheduler = new BatchScheduler();
    const a = scheduler.join(sequence(0));
    const b = scheduler.join(sequence(1));
    let released = false;
    void a.step()?.then(() => (released = true));
    await Promise.resolve();
    assert.equal(released, false);
    b.leave();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, true);
    assert.equal(a.step(), undefined, "alone again: no waiting");
  });

  it("waits at most maxWaitMs for a member that does not arrive", async () => {
    const scheduler = new BatchScheduler({ maxWaitMs: 20 });
    const a = scheduler.join(sequence(0));
    scheduler.join(sequence(1)); // never steps
    const started = performance.now();
    await a.step();
    assert.ok(performance.now() - started >= 15);
  });

  it("counts every dispatched batch, splitting the batch among queued items", () => {
    const scheduler = new BatchScheduler();
    const strategy = scheduler.batching.itemPrioritizationStrategy as CustomBatchingPrioritizationStrategy;
    const item = (tokens: number): BatchItem => ({ tokens: Array.from({ length: tokens }, () => 1) as never, logits: [], evaluationPriority: 5 });
    const decode = [item(1), item(1), item(1)];
    assert.deepEqual(
      strategy({ items: decode, size: 512 }).map((p) => p.processAmount),
      [1, 1, 1],
    );
    const withPrompt = strategy({ items: [item(1), item(600), item(1)], size: 512 });
    assert.deepEqual(
      withPrompt.map((p) => p.processAmount),
      [1, 510, 1],
    );
    assert.deepEqual(scheduler.stats.snapshot(), { batches: 2, multiSequenceBatches: 2, sequences: 6, tokens: 515 });
  });
});
