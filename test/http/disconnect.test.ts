import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

/**
 * One slot and a long generation (~4 s on the test model): a follow-up request is served at once
 * only if the disconnected client's generation was stopped and its slot freed.
 */
describe("client disconnect frees the slot", () => {
  let t: TestServer;
  const long = { model: MODEL, messages: [{ role: "user", content: "Go on forever" }], max_tokens: 4000, logit_bias: NO_EOS };

  before(async () => {
    t = await startTestServer(["--parallel", "1", "--ctx-size", "4096"]);
  });
  after(() => t.close());

  async function followUpMs(): Promise<number> {
    const start = performance.now();
    const res = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Quick" }], max_tokens: 1 });
    assert.equal(res.choices.length, 1);
    return performance.now() - start;
  }

  it("streaming: aborting mid-stream stops generation", async () => {
    const controller = new AbortController();
    const res = await postChat(t.url, { ...long, stream: true }, {}, controller.signal);
    const reader = res.body?.getReader();
    assert.ok(reader);
    let seen = "";
    while (!seen.includes('"content":"') || seen.split("data: ").length < 4) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    assert.ok((await followUpMs()) < 1500, "the follow-up waited for the abandoned generation");
  });

  it("non-streaming: a client that gives up frees the slot", async () => {
    const controller = new AbortController();
    const pending = postChat(t.url, long, {}, controller.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    await pending;
    assert.ok((await followUpMs()) < 1500, "the follow-up waited for the abandoned generation");
  });

  it("a queued request whose client left never runs", async () => {
    const first = new AbortController();
    const running = postChat(t.url, long, {}, first.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const queued = new AbortController();
    const waiting = postChat(t.url, long, {}, queued.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    queued.abort();
    first.abort();
    await Promise.all([running, waiting]);
    assert.ok((await followUpMs()) < 1500, "the follow-up waited behind an abandoned queued request");
  });
});
