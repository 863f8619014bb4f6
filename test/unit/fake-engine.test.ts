/**
 * The test fake engine (test/support/fake-engine.ts) keeps the engine contract the route tests
 * rely on (src/engines/types.ts): 503 until loaded, rejections before any event, failures after
 * some, and, when a run stops early (aborted or failed), a usage event counting what was
 * generated, then why it stopped.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChatRequest } from "../../src/domain/chat.ts";
import { ParleyError } from "../../src/domain/errors.ts";
import type { ChatEvent } from "../../src/domain/events.ts";
import { FAKE_MODEL, FakeEngine, textSteps, usageStep } from "../support/fake-engine.ts";

/** Only the fields the fake reads. */
const request = (n = 1) => ({ model: FAKE_MODEL, n }) as unknown as ChatRequest;

async function collect(events: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error: unknown }> {
  const seen: ChatEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
  } catch (error) {
    return { events: seen, error };
  }
  return { events: seen, error: undefined };
}

describe("the fake engine", () => {
  it("by default, every choice says Hello! and stops; usage last", async () => {
    const engine = new FakeEngine();
    assert.deepEqual(
      engine.listModels().map((m) => m.id),
      [FAKE_MODEL],
    );
    assert.ok(engine.isReady());
    const { events, error } = await collect((await engine.generate(request(2), new AbortController().signal)).events);
    assert.equal(error, undefined);
    const text = (choice: number) => events.map((e) => (e.type === "delta" && e.choice === choice ? e.text : "")).join("");
    assert.equal(text(0), "Hello!");
    assert.equal(text(1), "Hello!");
    assert.deepEqual(events.at(-1), usageStep(5, 4));
    assert.equal(await engine.calls[0]?.ended, "done");
  });

  it("rejects before any event, or fails after some", async () => {
    const boom = new Error("boom");
    const rejecting = new FakeEngine({ script: { reject: boom } });
    await assert.rejects(rejecting.generate(request(), new AbortController().signal), (e) => e === boom);
    assert.equal(await rejecting.calls[0]?.ended, "failed");
    const failing = new FakeEngine({ script: { steps: [...textSteps("a", { finish: null }), { type: "fail", error: boom }, ...textSteps("never")] } });
    const { events, error } = await collect((await failing.generate(request(), new AbortController().signal)).events);
    assert.equal(error, boom);
    assert.deepEqual(
      events.map((e) => e.type),
      ["delta", "usage"],
      "usage of what was generated, then the failure",
    );
    assert.deepEqual(events.at(-1), { type: "usage", usage: { promptTokens: 0, completionTokens: 1, cachedTokens: 0 } });
    assert.equal(await failing.calls[0]?.ended, "failed");
  });

  it("aborted while slow: stops at once, reports the usage of what it generated, then throws the reason", async () => {
    const steps = Array.from({ length: 100 }, () => textSteps("x", { finish: null })).flat();
    const engine = new FakeEngine({ script: { steps: [...steps, usageStep(9, 100)], stepDelayMs: 20 } });
    const controller = new AbortController();
    const reason = new Error("client left");
    const generation = await engine.generate(request(), controller.signal);
    const seen: ChatEvent[] = [];
    const started = performance.now();
    let thrown: unknown;
    try {
      for await (const event of generation.events) {
        seen.push(event);
        if (seen.length === 3) controller.abort(reason);
      }
    } catch (error) {
      thrown = error;
    }
    assert.equal(thrown, reason);
    assert.ok(performance.now() - started < 1_000, "stopped at once");
    assert.deepEqual(seen.at(-1), { type: "usage", usage: { promptTokens: 9, completionTokens: 3, cachedTokens: 0 } });
    assert.equal(seen.length, 4);
    assert.equal(await engine.calls[0]?.ended, "aborted");
  });

  it("a pause step ends when the signal aborts", async () => {
    const engine = new FakeEngine({ script: { steps: [...textSteps("a", { finish: null }), { type: "pause", ms: 60_000 }, ...textSteps("b")], promptTokens: 4 } });
    const controller = new AbortController();
    const generation = await engine.generate(request(), controller.signal);
    setTimeout(() => controller.abort(new Error("stop")), 20);
    const { events, error } = await collect(generation.events);
    assert.equal((error as Error).message, "stop");
    assert.deepEqual(
      events.map((e) => e.type),
      ["delta", "usage"],
    );
    assert.deepEqual(events.at(-1), { type: "usage", usage: { promptTokens: 4, completionTokens: 1, cachedTokens: 0 } });
  });

  it("not loaded: not ready, and generate is a 503 with retryAfter until load() resolves; load() is idempotent", async () => {
    const engine = new FakeEngine({ ready: false, loadDelayMs: 10 });
    assert.ok(!engine.isReady());
    assert.equal(engine.describe().banner, undefined);
    await assert.rejects(engine.generate(request(), new AbortController().signal), (e) => e instanceof ParleyError && e.kind === "unavailable" && e.retryAfter === 1);
    const loading = engine.load();
    assert.equal(engine.load(), loading);
    await loading;
    assert.ok(engine.isReady());
    assert.deepEqual(
      engine.describe().models.map((m) => m.id),
      [FAKE_MODEL],
    );
    const failing = new FakeEngine({ ready: false, loadError: new Error("no such file") });
    await assert.rejects(failing.load(), /no such file/);
    assert.ok(!failing.isReady());
  });

  it("records every call with its request and signal; a script function sees the call's index", async () => {
    const engine = new FakeEngine({ script: (_request, call) => ({ steps: [...textSteps(`call ${call}`), usageStep(1, 1)] }) });
    const signal = new AbortController().signal;
    for (let i = 0; i < 2; i++) {
      const { events } = await collect((await engine.generate(request(), signal)).events);
      assert.equal(events[0]?.type === "delta" ? events[0].text : undefined, `call ${i}`);
    }
    assert.equal(engine.calls.length, 2);
    assert.equal(engine.calls[1]?.signal, signal);
    await engine.close();
    assert.ok(!engine.isReady());
  });
});
