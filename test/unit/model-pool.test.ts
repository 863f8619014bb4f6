/**
 * The model pool's decisions (router/model-pool.ts) and a managed model's states (router/
 * managed-model.ts), on scripted engines with set memory estimates: eviction by memory in LRU
 * order, the budget a model cannot fit, busy and pinned models kept, loads one at a time,
 * concurrent requests sharing one load, keep_alive, and a failed load tried again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_SCHEDULING, type ChatRequest } from "../../src/domain/chat.ts";
import type { ParleyError } from "../../src/domain/errors.ts";
import type { MemoryEstimate } from "../../src/engines/types.ts";
import { ManagedModel } from "../../src/router/managed-model.ts";
import { ModelPool, type ModelPoolOptions } from "../../src/router/model-pool.ts";
import { chatRequest } from "../support/chat-request.ts";
import { FAKE_CAPABILITIES, FakeEngine, type FakeEngineOptions } from "../support/fake-engine.ts";

class SizedEngine extends FakeEngine {
  readonly #memory: MemoryEstimate;
  constructor(memory: MemoryEstimate, options: FakeEngineOptions) {
    super(options);
    this.#memory = memory;
  }
  estimateMemory(): Promise<MemoryEstimate> {
    return Promise.resolve(this.#memory);
  }
}

interface Built {
  readonly pool: ModelPool;
  readonly models: Record<string, ManagedModel>;
  /** Engines built per model (one per load). */
  readonly created: Record<string, number>;
  /** Most loads seen running at once. */
  readonly peak: () => number;
}

function build(sizes: Record<string, number>, options: ModelPoolOptions, extra: Record<string, Partial<{ pin: boolean; ttlS: number; fail: number }>> = {}): Built {
  const pool = new ModelPool(options);
  const created: Record<string, number> = {};
  let running = 0;
  let peak = 0;
  const models: Record<string, ManagedModel> = {};
  for (const [id, ram] of Object.entries(sizes)) {
    created[id] = 0;
    const { pin, ttlS, fail = 0 } = extra[id] ?? {};
    models[id] = new ManagedModel({
      id,
      pool,
      pendingCapabilities: FAKE_CAPABILITIES,
      ...(pin === undefined ? {} : { pin }),
      ...(ttlS === undefined ? {} : { ttlS }),
      create: () => {
        const n = created[id] ?? 0;
        created[id] = n + 1;
        const engine = new SizedEngine({ ram, vram: 0 }, { models: [id], ready: false, loadDelayMs: 20, ...(n < fail ? { loadError: new Error("disk on fire") } : {}) });
        const load = engine.load.bind(engine);
        engine.load = async () => {
          running++;
          peak = Math.max(peak, running);
          try {
            await load();
          } finally {
            running--;
          }
        };
        return engine;
      },
    });
  }
  return { pool, models, created, peak: () => peak };
}

const request = (model: string, keepAlive?: number): ChatRequest =>
  ({ ...chatRequest({ model }), scheduling: keepAlive === undefined ? DEFAULT_SCHEDULING : { ...DEFAULT_SCHEDULING, keepAlive } }) as ChatRequest;

/** Runs one request to its end. */
async function use(model: ManagedModel, keepAlive?: number): Promise<void> {
  const generation = await model.generate(request(model.id, keepAlive), new AbortController().signal);
  for await (const _ of generation.events);
}

const statuses = (built: Built) => Object.fromEntries(Object.entries(built.models).map(([id, m]) => [id, m.status]));

describe("model pool", () => {
  it("evicts the least recently used idle models until the new one fits the memory budget", async () => {
    const built = build({ a: 100, b: 100, c: 150 }, { budget: { ram: 260 } });
    const { a, b, c } = built.models;
    assert.ok(a !== undefined && b !== undefined && c !== undefined);
    await use(a);
    await use(b);
    await use(a); // b is now the least recently used
    await use(c); // 100 + 150 fits; 100 + 100 + 150 does not
    assert.deepEqual(statuses(built), { a: "loaded", b: "unloaded", c: "loaded" });
    assert.equal(built.peak(), 1, "one load at a time");
  });

  it("a model larger than the budget alone is a 400 naming it, and fails its load", async () => {
    const built = build({ big: 500 }, { budget: { ram: 260 } });
    const big = built.models.big;
    assert.ok(big !== undefined);
    await assert.rejects(use(big), (error: ParleyError) => error.kind === "invalid_request" && error.code === "model_exceeds_memory_budget" && /budget is 260 B/.test(error.message));
    assert.equal(big.status, "failed");
    assert.match(big.describe().models[0]?.lifecycle?.error ?? "", /memory budget/);
  });

  it("keeps busy and pinned models; a load waits for a busy one to go idle, or gets a 503", async () => {
    const built = build({ pinned: 100, busy: 100, late: 100 }, { budget: { ram: 250 }, waitMs: 100 }, { pinned: { pin: true } });
    const { pinned, busy, late } = built.models;
    assert.ok(pinned !== undefined && busy !== undefined && late !== undefined);
    await use(pinned);
    const running = await busy.generate(request("busy"), new AbortController().signal);
    await assert.rejects(use(late), (error: ParleyError) => error.kind === "unavailable" && (error.code === "model_busy" || error.code === "model_loading"));
    assert.deepEqual([pinned.status, busy.status], ["loaded", "loaded"]);
    while (late.status !== "failed") await new Promise((resolve) => setTimeout(resolve, 5)); // its load gives up too
    const waiting = use(late); // waits for `busy` to go idle
    await new Promise((resolve) => setTimeout(resolve, 30));
    for await (const _ of running.events); // `busy`'s request ends: it may now be evicted
    await waiting;
    assert.deepEqual(statuses(built), { pinned: "loaded", busy: "unloaded", late: "loaded" });
  });

  it("concurrent first requests share one load", async () => {
    const built = build({ a: 1 }, {});
    const a = built.models.a;
    assert.ok(a !== undefined);
    await Promise.all([use(a), use(a), use(a)]);
    assert.equal(built.created.a, 1);
    assert.equal(a.status, "loaded");
  });

  it("keep_alive 0 unloads once idle; -1 keeps the model past its ttl", async () => {
    const built = build({ a: 1 }, {}, { a: { ttlS: 0.05 } });
    const a = built.models.a;
    assert.ok(a !== undefined);
    await use(a, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(a.status, "unloaded");
    await use(a, -1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(a.status, "loaded");
    await use(a); // no keep_alive: the ttl applies
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(a.status, "unloaded");
  });

  it("a failed load is a 503 with why, and the next request tries again", async () => {
    const built = build({ a: 1 }, {}, { a: { fail: 1 } });
    const a = built.models.a;
    assert.ok(a !== undefined);
    await assert.rejects(use(a), (error: ParleyError) => error.kind === "unavailable" && error.code === "model_load_failed" && /disk on fire/.test(error.message));
    assert.equal(a.status, "failed");
    await use(a);
    assert.equal(a.status, "loaded");
  });
});
