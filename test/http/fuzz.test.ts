import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { fuzzBody } from "../support/hostile-bodies.ts";
import { engineLoad } from "../support/metrics.ts";
import { postChat, startTestServer, type TestServer } from "../support/server.ts";

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
    const bodies = fc.sample(fuzzBody, { numRuns: RUNS, seed: SEED });
    const failures: string[] = [];
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
    let next = 0;
    const client = async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const body = bodies[i]!;
        const start = performance.now();
        try {
          const res = await postChat(t.url, body, {}, AbortSignal.timeout(ANSWER_WITHIN_MS));
          await res.text();
          if (res.status >= 500) failures.push(`#${i} ${res.status}: ${body.slice(0, 300)}`);
        } catch (error) {
          failures.push(`#${i} no answer within ${Math.round(performance.now() - start)} ms (${String(error)}): ${body.slice(0, 300)}`);
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    done = true;
    await probe;
    assert.deepEqual(failures, []);
    assert.ok(slowestHealthMs < 1000, `/health took ${Math.round(slowestHealthMs)} ms`);
    let load = await engineLoad(t.url);
    for (let wait = 0; wait < 50 && load.active > 0; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      load = await engineLoad(t.url);
    }
    assert.deepEqual(load, { active: 0, queued: 0, held: 0 });
  });
});
