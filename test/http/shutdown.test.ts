import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer } from "../support/server.ts";

describe("graceful shutdown", () => {
  it("lets an admitted request finish, even one with more choices than slots", async () => {
    const t = await startTestServer(["--parallel", "2", "--shutdown-timeout", "30", "--ctx-size", "2048"]);
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "x" }], n: 3, max_tokens: 300, logit_bias: NO_EOS, stream: true });
    assert.ok(res.body);
    const body = res.text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.close();
    const frames = parseSse(await body);
    assert.equal(frames.at(-1), "[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f) as ChatCompletionChunk);
    assert.equal(
      chunks.some((c) => "error" in c),
      false,
    );
    const finished = chunks.filter((c) => c.choices[0]?.finish_reason === "length").map((c) => c.choices[0]?.index);
    assert.deepEqual(finished.sort(), [0, 1, 2]);
  });

  it("a request arriving while the server drains gets 503 with Retry-After", async () => {
    const t = await startTestServer(["--parallel", "1", "--shutdown-timeout", "30", "--ctx-size", "4096"]);
    const drained = new AbortController();
    const draining = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 4000, logit_bias: NO_EOS, stream: true }, {}, drained.signal);
    assert.equal(draining.status, 200);
    // A connection whose request is under way (its body half sent) is not closed with the idle ones.
    const { port } = new URL(t.url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "late" }], max_tokens: 1 });
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`);
    let response = "";
    socket.on("data", (chunk: Buffer) => (response += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = t.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write(body.slice(10));
    for (let i = 0; i < 250 && !response.includes("\r\n\r\n") && !socket.destroyed; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.match(response, /^HTTP\/1\.1 503 /);
    assert.match(response, /\r\nretry-after: 1\r\n/i);
    socket.destroy();
    drained.abort();
    await closed;
  });

  it("a client that stopped reading cannot keep the server from closing", { timeout: 30_000 }, async () => {
    const t = await startTestServer(["--parallel", "1", "--shutdown-timeout", "1", "--ctx-size", "4096"]);
    const { port } = new URL(t.url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 4000, logprobs: true, top_logprobs: 20, logit_bias: NO_EOS, stream: true });
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    socket.pause(); // never read: the server's writes back up
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const started = performance.now();
    await t.close();
    assert.ok(performance.now() - started < 10_000, "close() should finish soon after the grace period");
    socket.destroy();
  });
});
