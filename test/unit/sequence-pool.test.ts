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

  it("serves waiting priority requests first and flex ones last (service_tier), FIFO within a tier", async () => {
    const pool = new SequencePool({ items: ["a"] });
    assert.equal(await pool.acquire(pool.admit(), never), "a");
    const order: string[] = [];
    const wait = (name: string, tier?: "priority" | "default" | "flex") => pool.acquire(pool.admit(tier), never).then(() => order.push(name));
    const waits = [wait("flex", "flex"), wait("default-1"), wait("priority-1", "priority"), wait("default-2", "default"), wait("priority-2", "priority")];
    for (let i = 0; i < waits.length; i++) {
      pool.release("a");
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(waits);
    assert.deepEqual(order, ["priority-1", "priority-2", "default-1", "default-2", "flex"]);
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
    const pool = new SequencePool({ items: ["a"], maxQueue: 1, queueTimeoutMs: 0 }); // its waiters never get a slot
    await pool.acquire(pool.admit(), never);
    const many = pool.admit();
    for (let i = 0; i < 5; i++) void pool.acquire(many, never);
    assert.equal(pool.waitingRequests, 1);
    assert.throws(
      () => pool.admit(),
      (e: unknown) => e instanceof ParleyError && e.kind === "server_busy" && e.retryAfter === 1,
    );
  });

  it("takes the free item the scorer prefers; among equals, the one free the longest", async () => {
    const pool = new SequencePool({ items: ["a", "b", "c"] });
    const request = pool.admit();
    const score = (item: string) => ({ a: 1, b: 5, c: 5 })[item] ?? 0;
    assert.equal(await pool.acquire(request, never, score), "b");
    assert.equal(await pool.acquire(request, never, score), "c");
    assert.equal(pool.activeItems, 2);
    pool.release("c");
    pool.release("b");
    // Free now: a, c, b. Without a scorer, the one free the longest.
    assert.equal(await pool.acquire(request, never), "a");
    assert.equal(
      pool.tryAcquire(request, (item) => (item === "b" ? 1 : 0)),
      "b",
    );
    assert.equal(pool.activeItems, 2);
    assert.equal(pool.size, 3);
  });

  it("a released item goes to the oldest waiter, whatever the waiters' scores", async () => {
    const pool = new SequencePool({ items: ["a", "b"] });
    await pool.acquire(pool.admit(), never);
    await pool.acquire(pool.admit(), never);
    const order: string[] = [];
    const first = pool.acquire(pool.admit(), never, (item) => (item === "a" ? 1 : 0)).then((v) => order.push(`1:${v}`));
    const second = pool.acquire(pool.admit(), never, (item) => (item === "b" ? 1 : 0)).then((v) => order.push(`2:${v}`));
    pool.release("b");
    pool.release("a");
    await Promise.all([first, second]);
    assert.deepEqual(order, ["1:b", "2:a"]);
  });

  it("a request without a slot when its queue timeout passes gets 429 and leaves the queue", async () => {
    const pool = new SequencePool({ items: ["a"], queueTimeoutMs: 50 });
    const running = pool.admit();
    await pool.acquire(running, never);
    const late = pool.admit();
    const choices = [pool.acquire(late, never), pool.acquire(late, never)];
    assert.equal(pool.waitingRequests, 1);
    for (const choice of choices) {
      await assert.rejects(choice, (e: unknown) => e instanceof ParleyError && e.kind === "server_busy" && e.retryAfter === 1);
    }
    assert.equal(pool.waitingRequests, 0);
    pool.release("a");
    assert.equal(pool.tryAcquire(pool.admit()), "a");
  });

  it("once a request has a slot, its other choices wait past the queue timeout", async () => {
    const pool = new SequencePool({ items: ["a"], queueTimeoutMs: 20 });
    const request = pool.admit();
    let served = false;
    void pool.whenServed(request).then(() => (served = true));
    assert.equal(await pool.acquire(request, never), "a");
    await Promise.resolve();
    assert.equal(served, true);
    const second = pool.acquire(request, never);
    await new Promise((resolve) => setTimeout(resolve, 60));
    pool.release("a");
    assert.equal(await second, "a");
  });

  it("a choice that started waiting before its sibling was served is not timed out either", async () => {
    const pool = new SequencePool({ items: ["a"], queueTimeoutMs: 40 });
    const blocker = pool.admit();
    assert.equal(await pool.acquire(blocker, never), "a");
    const request = pool.admit();
    const first = pool.acquire(request, never);
    const second = pool.acquire(request, never); // both wait, with the same deadline
    await new Promise((resolve) => setTimeout(resolve, 10));
    pool.release("a"); // the first choice is served before the deadline
    assert.equal(await first, "a");
    await new Promise((resolve) => setTimeout(resolve, 60)); // past the deadline
    pool.release("a");
    assert.equal(await second, "a");
  });

  it("queueTimeoutMs 0 waits without limit", async () => {
    const pool = new SequencePool({ items: ["a"], queueTimeoutMs: 0 });
    await pool.acquire(pool.admit(), never);
    const waiting = pool.acquire(pool.admit(), never);
    await new Promise((resolve) => setTimeout(resolve, 30));
    pool.release("a");
    assert.equal(await waiting, "a");
  });

  it("closing refuses new requests but still serves admitted waiters", async () => {
    const pool = new SequencePool({ items: ["a"] });
    const request = pool.admit();
    await pool.acquire(request, never);
    const waiting = pool.acquire(request, never);
    pool.close();
    assert.throws(
      () => pool.admit(),
      (e: unknown) => e instanceof ParleyError && e.kind === "unavailable",
    );
    pool.release("a");
    assert.equal(await waiting, "a");
  });

  it("a slot given back with work still running stays out of use until it settles, and is reported", async () => {
    const reports: string[] = [];
    const pool = new SequencePool({ items: ["a"], heldReportMs: 20, onHeld: ({ state }) => reports.push(state) });
    const request = pool.admit();
    await pool.acquire(request, never);
    let settle: () => void = () => undefined;
    pool.release("a", new Promise<void>((resolve) => (settle = resolve)));
    assert.equal(pool.heldItems, 1);
    assert.equal(pool.activeItems, 1);
    assert.equal(pool.tryAcquire(pool.admit()), undefined);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.deepEqual(reports, ["held"]);
    settle();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pool.heldItems, 0);
    assert.deepEqual(reports, ["held", "freed"]);
    assert.equal(pool.tryAcquire(pool.admit()), "a");
  });

  it("end() takes back the slots a finished request kept, and a slot is never given back twice", async () => {
    const pool = new SequencePool({ items: ["a", "b"] });
    const leaky = pool.admit();
    await pool.acquire(leaky, never);
    assert.equal(pool.tryAcquire(leaky), "b");
    pool.release("b");
    pool.release("b"); // a second release of the same slot is ignored
    assert.equal(pool.activeItems, 1);
    assert.equal(pool.end(leaky), 1);
    assert.equal(pool.reclaimed, 1);
    assert.equal(pool.activeItems, 0);
  });
});
