import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { SequencePool } from "../../src/engines/llama/sequence-pool.ts";

describe("SequencePool", () => {
  it("lends free items, then queues FIFO", async () => {
    const pool = new SequencePool({ items: ["a"] });
    const never = new AbortController().signal;
    assert.equal(await pool.acquire(never), "a");
    const order: string[] = [];
    const first = pool.acquire(never).then((v) => order.push(`1:${v}`));
    const second = pool.acquire(never).then((v) => order.push(`2:${v}`));
    pool.release("a");
    await first;
    pool.release("a");
    await second;
    assert.deepEqual(order, ["1:a", "2:a"]);
  });

  it("an aborted waiter leaves the queue and never gets an item", async () => {
    const pool = new SequencePool({ items: ["a"] });
    const never = new AbortController().signal;
    await pool.acquire(never);
    const controller = new AbortController();
    const abandoned = pool.acquire(controller.signal);
    const next = pool.acquire(never);
    controller.abort(new Error("gone"));
    await assert.rejects(abandoned, /gone/);
    assert.equal(pool.waiting, 1);
    pool.release("a");
    assert.equal(await next, "a");
  });

  it("admit: 429 when the queue is full, 503 when closed", async () => {
    const pool = new SequencePool({ items: ["a"], maxQueue: 1 });
    const never = new AbortController().signal;
    pool.admit();
    await pool.acquire(never);
    pool.admit();
    void pool.acquire(never).catch(() => undefined);
    assert.throws(() => pool.admit(), (e: unknown) => e instanceof ParleyError && e.kind === "server_busy" && e.retryAfter === 1);
    pool.close();
    assert.throws(() => pool.admit(), (e: unknown) => e instanceof ParleyError && e.kind === "unavailable");
  });
});
