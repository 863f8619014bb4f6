import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { SequencePool } from "../../src/engines/llama/sequence-pool.ts";

const never = new AbortController().signal;

describe("SequencePool", () => {
  it("lends free items, then queues FIFO", async () => {
    const pool = new SequencePool({ items: ["a"] });
    const request = pool.admit();
    assert.equal(await pool.acquire(request, never), "a");
    const order: string[] = [];
    const first = pool.acquire(request, never).then((v) => order.push(`1:${v}`));
    const second = pool.acquire(request, never).then((v) => order.push(`2:${v}`));
    pool.release("a");
    await first;
    pool.release("a");
    await second;
    assert.deepEqual(order, ["1:a", "2:a"]);
  });

  it("an aborted waiter leaves the queue and never gets an item", async () => {
    const pool = new SequencePool({ items: ["a"] });
    const request = pool.admit();
    await pool.acquire(request, never);
    const controller = new AbortController();
    const abandoned = pool.acquire(pool.admit(), controller.signal);
    const next = pool.acquire(pool.admit(), never);
    controller.abort(new Error("gone"));
    await assert.rejects(abandoned, /gone/);
    assert.equal(pool.waitingRequests, 1);
    pool.release("a");
    assert.equal(await next, "a");
  });

  it("bounds the queue in requests, not choices: 429 when full", async () => {
    const pool = new SequencePool({ items: ["a"], maxQueue: 1 });
    await pool.acquire(pool.admit(), never);
    const many = pool.admit();
    for (let i = 0; i < 5; i++) void pool.acquire(many, never);
    assert.equal(pool.waitingRequests, 1);
    assert.throws(() => pool.admit(), (e: unknown) => e instanceof ParleyError && e.kind === "server_busy" && e.retryAfter === 1);
  });

  it("closing refuses new requests but still serves admitted waiters", async () => {
    const pool = new SequencePool({ items: ["a"] });
    const request = pool.admit();
    await pool.acquire(request, never);
    const waiting = pool.acquire(request, never);
    pool.close();
    assert.throws(() => pool.admit(), (e: unknown) => e instanceof ParleyError && e.kind === "unavailable");
    pool.release("a");
    assert.equal(await waiting, "a");
  });
});
