import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sendBodies } from "../support/hostile-bodies.ts";
import { engineLoad } from "../support/metrics.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/**
 * A bounded fuzz run (the long one is `npm run fuzz`): a few hundred hostile bodies, four at a
 * time, against a real server. Whatever they hold: no 5xx, every answer within a bound, /health
 * answering within a second throughout, and every slot free afterwards. The seed is fixed so a
 * failure reproduces (FUZZ_SEED overrides it, FUZZ_RUNS the count).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const ANSWER_WITHIN_MS = 20_000;

describe("fuzzing with hostile bodies", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "4", "--request-timeout", "5", "--queue-timeout", "15"]);
  });
  after(() => t.close());

  it(`${RUNS} bodies: no 5xx, bounded answers, /health within 1 s, every slot free afterwards`, async () => {
    let slowestHealthMs = 0;
    let done = false;
    const probe = (async () => {
      while (!done) {
        const start = performance.now();
        await fetch(`${t.url}/health`);
        slowestHealthMs = Math.max(slowestHealthMs, performance.now() - start);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const result = await sendBodies(t.url, { count: RUNS, concurrency: 4, seed: SEED, hangMs: ANSWER_WITHIN_MS });
    done = true;
    await probe;
    assert.deepEqual([...result.serverErrors, ...result.hangs], []);
    assert.ok((result.byStatus.get(200) ?? 0) > RUNS / 10, "many bodies should generate");
    assert.ok(slowestHealthMs < 1000, `/health took ${Math.round(slowestHealthMs)} ms`);
    let load = await engineLoad(t.url);
    for (let wait = 0; wait < 50 && load.active > 0; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      load = await engineLoad(t.url);
    }
    assert.deepEqual(load, { active: 0, queued: 0, held: 0 });
  });
});
