import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { guardWork } from "../../src/engines/llama/guarded-work.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("guardWork", () => {
  it("passes the work's result through, settled", async () => {
    const work = guardWork(
      async (beat) => {
        beat();
        return 42;
      },
      { signal: new AbortController().signal, fail: () => undefined, stepTimeoutMs: 1000 },
    );
    assert.equal(await work.result, 42);
    assert.equal(work.isSettled(), true);
  });

  it("a step that does not finish in time fails the request with a 500 and tells the work to stop", async () => {
    let finish: () => void = () => undefined;
    const request = new AbortController();
    const work = guardWork(
      (beat) =>
        new Promise<string>((resolve) => {
          beat();
          finish = () => resolve("late");
        }),
      { signal: request.signal, fail: (reason) => request.abort(reason), stepTimeoutMs: 50 },
    );
    await assert.rejects(work.result, (e: unknown) => e instanceof ParleyError && e.kind === "internal" && e.code === "generation_stalled");
    assert.ok(request.signal.reason instanceof ParleyError, "the request was failed, so its work is told to stop");
    assert.equal(work.isSettled(), false, "the native step still runs: its slot must wait");
    finish();
    await work.settled;
    assert.equal(work.isSettled(), true);
  });

  it("beats keep a long generation alive", async () => {
    const work = guardWork(
      async (beat) => {
        for (let i = 0; i < 6; i++) {
          await sleep(20);
          beat();
        }
        return "done";
      },
      { signal: new AbortController().signal, fail: () => undefined, stepTimeoutMs: 60 },
    );
    assert.equal(await work.result, "done");
  });

  it("aborted work that stops within the grace still reports; stuck work is given up on", async () => {
    const controller = new AbortController();
    const polite = guardWork(
      async () => {
        while (!controller.signal.aborted) await sleep(5);
        return "stopped with usage";
      },
      { signal: controller.signal, fail: () => undefined, stepTimeoutMs: 0, abortGraceMs: 500 },
    );
    controller.abort(new Error("client left"));
    assert.equal(await polite.result, "stopped with usage");

    const other = new AbortController();
    const stuck = guardWork(() => new Promise<string>(() => undefined), { signal: other.signal, fail: () => undefined, stepTimeoutMs: 0, abortGraceMs: 30 });
    other.abort(new Error("client left"));
    await assert.rejects(stuck.result, /client left/);
    assert.equal(stuck.isSettled(), false);
  });
});
