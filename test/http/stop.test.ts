import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

describe("stop strings", () => {
  let t: TestServer;
  let greedy = "";
  const base = { model: MODEL, messages: [{ role: "user", content: "Say something long" }], max_tokens: 40, temperature: 0, logit_bias: NO_EOS };

  before(async () => {
    t = await startTestServer();
    const res = await postChat(t.url, base);
    greedy = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "";
    assert.ok(greedy.length > 30, "the greedy sample should be long enough to cut");
  });
  after(() => t.close());

  /** A piece of the greedy text that starts mid-way and spans several characters. */
  function pieceAt(fraction: number, length: number): { stop: string; expected: string } {
    const start = Math.floor(greedy.length * fraction);
    const stop = greedy.slice(start, start + length);
    return { stop, expected: greedy.slice(0, greedy.indexOf(stop)) };
  }

  it("truncates before the stop string, non-streaming", async () => {
    const { stop, expected } = pieceAt(0.5, 5);
    const res = await t.client.chat.completions.create({ ...(base as object), stop } as never);
    const choice = (res as unknown as { choices: { message: { content: string }; finish_reason: string }[] }).choices[0];
    assert.equal(choice?.message.content, expected);
    assert.equal(choice?.finish_reason, "stop");
  });

  it("never leaks any part of the stop string into a stream", async () => {
    const { stop, expected } = pieceAt(0.4, 6);
    const res = await postChat(t.url, { ...base, stream: true, stop: ["§never§", stop] });
    const chunks = parseSse(await res.text())
      .slice(0, -1)
      .map((f) => JSON.parse(f) as ChatCompletionChunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, expected);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "stop");
  });

  it("takes the earliest of several stop strings", async () => {
    const early = pieceAt(0.3, 4);
    const late = pieceAt(0.7, 4);
    const res = await postChat(t.url, { ...base, stop: [late.stop, early.stop] });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0]?.message.content, early.expected);
  });

  it("a stop string that never occurs changes nothing", async () => {
    const res = await postChat(t.url, { ...base, stop: "§§§" });
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[] };
    assert.equal(body.choices[0]?.message.content, greedy);
    assert.equal(body.choices[0]?.finish_reason, "length");
  });

  it("rejects more than 4 stop strings", async () => {
    const res = await postChat(t.url, { ...base, stop: ["a", "b", "c", "d", "e"] });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, "stop");
  });
});
