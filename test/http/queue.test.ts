import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

describe("admission: slots and a bounded queue", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "1", "--queue-size", "1", "--ctx-size", "4096"]);
  });
  after(() => t.close());

  it("runs one, queues one, answers 429 with Retry-After beyond that; the queued one is served later", async () => {
    const long = { model: MODEL, messages: [{ role: "user", content: "Long" }], max_tokens: 600, logit_bias: NO_EOS };
    const running = postChat(t.url, long);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const queued = postChat(t.url, { ...long, max_tokens: 5 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const rejected = await postChat(t.url, { ...long, max_tokens: 5 });
    assert.equal(rejected.status, 429);
    assert.equal(rejected.headers.get("retry-after"), "1");
    const body = (await rejected.json()) as { error: { code: string } };
    assert.equal(body.error.code, "rate_limit_exceeded");
    assert.equal((await running).status, 200);
    const served = (await (await queued).json()) as { usage: { completion_tokens: number } };
    assert.equal(served.usage.completion_tokens, 5);
  });

  it("n larger than the slots still completes: choices wait their turn", async () => {
    const res = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], n: 5, max_tokens: 3, logit_bias: NO_EOS });
    assert.equal(res.choices.length, 5);
    assert.equal(res.usage?.completion_tokens, 15);
  });
});

describe("slots run side by side", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "2", "--ctx-size", "4096"]);
  });
  after(() => t.close());

  it("a short request is not held behind a long one when a slot is free", async () => {
    let longDone = false;
    const long = t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Long" }], max_tokens: 3000, logit_bias: NO_EOS }).then((res) => {
      longDone = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const short = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Short" }], max_tokens: 5, logit_bias: NO_EOS });
    assert.equal(short.usage?.completion_tokens, 5);
    assert.equal(longDone, false, "the short request should finish while the long one is still generating");
    assert.equal((await long).usage?.completion_tokens, 3000);
  });
});

describe("queue timeout", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "1", "--queue-size", "1", "--queue-timeout", "0.5", "--ctx-size", "4096"]);
  });
  after(() => t.close());

  it("a request still waiting for a slot after --queue-timeout gets 429 with Retry-After, streamed or not, and leaves the queue", async () => {
    const busy = new AbortController();
    const long = { model: MODEL, messages: [{ role: "user", content: "Long" }], max_tokens: 4000, logit_bias: NO_EOS };
    const running = postChat(t.url, long, {}, busy.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const stream of [true, false]) {
      // With a queue of one, the second round could not even queue if the first had stayed in it.
      const start = performance.now();
      const res = await postChat(t.url, { ...long, max_tokens: 5, stream });
      const waited = performance.now() - start;
      assert.equal(res.status, 429, `stream: ${stream}`);
      assert.equal(res.headers.get("retry-after"), "1");
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "rate_limit_exceeded");
      assert.match(body.error.message, /waited 0.5 s/);
      assert.ok(waited >= 450, `answered after ${Math.round(waited)} ms, before the timeout`);
    }
    busy.abort();
    await running;
    const served = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 2, logit_bias: NO_EOS });
    assert.equal(served.usage?.completion_tokens, 2);
  });
});
