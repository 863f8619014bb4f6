/**
 * Continuous batching over HTTP: concurrent requests advance in the same decode steps (the batch
 * scheduler's lock step), counted by the engine's decode-batch statistics.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DecodeBatchStats } from "../../src/engines/types.ts";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

const TOKENS = 48;

describe("continuous batching", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "2"]);
  });
  after(() => t.close());

  const batches = (): DecodeBatchStats => {
    const stats = t.server.router.resolve(MODEL).stats?.().batches;
    assert.ok(stats, "the engine reports decode batches");
    return stats;
  };
  const ask = (content: string, extra: Record<string, unknown> = {}) =>
    t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], max_tokens: TOKENS, temperature: 0, logit_bias: NO_EOS, ...extra });

  it("two concurrent requests advance in the same decode steps", async () => {
    const before = batches();
    const answers = await Promise.all([ask("Tell me a story"), ask("Write a poem"), ask("A third one waits for a slot")]);
    for (const answer of answers) assert.equal(answer.usage?.completion_tokens, TOKENS);
    const after = batches();
    const shared = after.multiSequenceBatches - before.multiSequenceBatches;
    // Both slots generate side by side for (almost) every token; the third request follows alone.
    assert.ok(shared >= TOKENS - 4, `only ${shared} of ${TOKENS} steps held both requests`);
    assert.ok(after.tokens - before.tokens >= 3 * TOKENS);
  });

  it("the choices of one request (n = 2) step together too", async () => {
    const before = batches();
    const answer = await ask("Two answers please", { n: 2, temperature: 1, seed: 7 });
    assert.equal(answer.usage?.completion_tokens, 2 * TOKENS);
    const shared = batches().multiSequenceBatches - before.multiSequenceBatches;
    assert.ok(shared >= TOKENS - 4, `only ${shared} of ${TOKENS} steps held both choices`);
  });

  it("a lone request decodes one token per step", async () => {
    const before = batches();
    await ask("Alone");
    const after = batches();
    assert.equal(after.multiSequenceBatches, before.multiSequenceBatches);
    assert.ok(after.batches - before.batches >= TOKENS);
  });
});
