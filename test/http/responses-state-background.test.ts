/**
 * Background responses over HTTP (`background: true`), with the `openai` client and raw SSE: the
 * POST answers at once and the response is polled to its end; `cancel` stops a running one
 * (`cancelled`); a stream left early is resumed with `starting_after`, live and, once the run is
 * over, from the store, with every event exactly once, in order.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { Response as OpenAIResponse, ResponseStreamEvent } from "openai/resources/responses/responses";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-responses-background-"));
let server: TestServer;
let client: OpenAI;

before(async () => {
  server = await startTestServer(["--responses-store", join(dir, "responses.sqlite"), "--ctx-size", "4096"]);
  client = server.client;
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const params = (max: number, extra: Record<string, unknown> = {}) =>
  ({ model: MODEL, input: "Tell me a long story.", max_output_tokens: max, temperature: 0, logit_bias: NO_EOS, background: true, ...extra }) as OpenAI.Responses.ResponseCreateParamsNonStreaming;

async function settled(id: string): Promise<OpenAIResponse> {
  for (;;) {
    const response = await client.responses.retrieve(id);
    if (response.status !== "queued" && response.status !== "in_progress") return response;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads a raw SSE response's named events until `stopAfter` of them (then drops the connection), or its end. */
async function readEvents(response: Response, stopAfter = Number.POSITIVE_INFINITY, abort?: AbortController): Promise<{ event: string; data: { type: string; sequence_number: number } }[]> {
  const events: { event: string; data: { type: string; sequence_number: number } }[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "null") as { type: string; sequence_number: number };
      events.push({ event, data });
      if (events.length >= stopAfter) {
        abort?.abort();
        await reader.cancel().catch(() => undefined);
        return events;
      }
    }
  }
}

describe("background responses", () => {
  it("answers at once, runs detached, and can be polled to its end", async () => {
    const created = await client.responses.create(params(8));
    assert.ok(created.status === "queued" || created.status === "in_progress", created.status);
    assert.equal(created.background, true);
    assert.deepEqual(created.output, []);
    const done = await settled(created.id);
    assert.equal(done.status, "incomplete"); // NO_EOS: to max_output_tokens
    assert.equal(done.usage?.output_tokens, 8);
    assert.equal(done.background, true);
    assert.ok(done.output.length > 0);
  });

  it("is cancelled while it runs", async () => {
    const created = await client.responses.create(params(3500));
    const cancelled = await client.responses.cancel(created.id);
    assert.equal(cancelled.status, "cancelled");
    assert.ok((cancelled.usage?.output_tokens ?? 0) < 3500, "stopped before its end");
    assert.equal((await client.responses.retrieve(created.id)).status, "cancelled");
    assert.equal((await client.responses.cancel(created.id)).status, "cancelled", "cancelling again changes nothing");
    // The server is free again: a new request runs to its end.
    const next = await client.responses.create({ model: MODEL, input: "Hi", max_output_tokens: 4, logit_bias: NO_EOS } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    assert.equal(next.usage?.output_tokens, 4);
  });

  it("refuses to cancel what did not run in the background, and a background response that is not stored", async () => {
    const foreground = await client.responses.create({ model: MODEL, input: "Hi", max_output_tokens: 2 });
    await assert.rejects(client.responses.cancel(foreground.id), OpenAI.BadRequestError);
    await assert.rejects(client.responses.create(params(4, { store: false })), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "background");
  });

  it("resumes a stream after the last event read, live and from the store, every event once", async () => {
    const abort = new AbortController();
    const post = await fetch(`${server.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...params(60), stream: true }),
      signal: abort.signal,
    });
    assert.equal(post.status, 200);
    const head = await readEvents(post, 5, abort);
    assert.deepEqual(
      head.map((e) => e.data.sequence_number),
      [0, 1, 2, 3, 4],
    );
    const created = head[0]?.data as unknown as { type: string; response: OpenAIResponse };
    assert.equal(created.type, "response.created");
    const { id } = created.response;

    // The client left; the run went on. Resume with the SDK after the last event read.
    const resumed = await client.responses.retrieve(id, { stream: true, starting_after: 4 });
    const rest: ResponseStreamEvent[] = [];
    for await (const event of resumed) rest.push(event);
    assert.deepEqual(
      rest.map((e) => e.sequence_number),
      rest.map((_, i) => 5 + i),
      "contiguous after 4",
    );
    const last = rest.at(-1);
    assert.equal(last?.type, "response.incomplete");
    const final = await client.responses.retrieve(id);
    assert.equal(final.usage?.output_tokens, 60, "the run was not stopped when its first client left");

    // Once over, the whole stream is replayed from the store.
    const replay = await fetch(`${server.url}/v1/responses/${id}?stream=true&starting_after=-1`);
    const all = await readEvents(replay);
    assert.deepEqual(
      all.map((e) => e.data.sequence_number),
      all.map((_, i) => i),
    );
    assert.deepEqual(
      all.slice(5).map((e) => e.data.type),
      rest.map((e) => e.type),
    );
    for (const e of all) assert.equal(e.event, e.data.type, "named SSE events");
  });
});
