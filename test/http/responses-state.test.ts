/**
 * Stored responses over HTTP, with the `openai` client: `store` (default true) then retrieve,
 * input items, delete; `store: false`; `previous_response_id` (the model sees the earlier turns:
 * its prompt is exactly the full conversation's, and the slot's cache holds them); ownership
 * across two keys; and nothing lost when the server restarts on the same file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { Response as OpenAIResponse, ResponseStreamEvent } from "openai/resources/responses/responses";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-responses-state-"));
const file = join(dir, "responses.sqlite");
const FLAGS = ["--responses-store", file, "--api-key", "alice=alice-key", "--api-key", "bob=bob-key", "--parallel", "2"];

let server: TestServer;
let alice: OpenAI;
let bob: OpenAI;

const clientFor = (url: string, apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });

async function start(): Promise<void> {
  server = await startTestServer(FLAGS);
  alice = clientFor(server.url, "alice-key");
  bob = clientFor(server.url, "bob-key");
}

before(start);
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A short, seeded, greedy request (the Responses schema takes the shared sampling extensions). */
const ask = (input: OpenAI.Responses.ResponseCreateParamsNonStreaming["input"], extra: Record<string, unknown> = {}) =>
  ({ model: MODEL, input, max_output_tokens: 6, temperature: 0, logit_bias: NO_EOS, ...extra }) as OpenAI.Responses.ResponseCreateParamsNonStreaming;

/** Without the fields that differ between two reads of the same response (none should). */
function comparable(response: OpenAIResponse): unknown {
  const { output_text: _text, ...rest } = response;
  return rest;
}

describe("stored responses", () => {
  it("keeps a response by default: retrieve, input items, delete", async () => {
    const created = await alice.responses.create(ask("Hello there"));
    assert.equal((created as { store?: boolean }).store, true);
    assert.match(created.id, /^resp_/);
    const retrieved = await alice.responses.retrieve(created.id);
    assert.deepEqual(comparable(retrieved), comparable(created));

    const items = await alice.responses.inputItems.list(created.id);
    assert.equal(items.data.length, 1);
    const [item] = items.data;
    assert.equal(item?.type, "message");
    assert.deepEqual(item?.type === "message" ? item.content : undefined, [{ type: "input_text", text: "Hello there" }]);
    assert.equal(item?.type === "message" ? item.role : undefined, "user");

    const raw = await fetch(`${server.url}/v1/responses/${created.id}`, { method: "DELETE", headers: { authorization: "Bearer alice-key" } });
    assert.equal(raw.status, 200);
    assert.deepEqual(await raw.json(), { id: created.id, object: "response", deleted: true });
    await assert.rejects(alice.responses.retrieve(created.id), (e: unknown) => e instanceof OpenAI.NotFoundError && /Response with id '.+' not found\./.test(e.message));
  });

  it("stores a streamed response as the stream ended", async () => {
    const stream = await alice.responses.create({ ...ask("Stream me"), stream: true });
    let completed: OpenAIResponse | undefined;
    // NO_EOS: the output runs to max_output_tokens, so the stream ends with `response.incomplete`.
    for await (const event of stream as AsyncIterable<ResponseStreamEvent>) if (event.type === "response.incomplete") completed = event.response;
    assert.ok(completed);
    const retrieved = await alice.responses.retrieve(completed.id);
    assert.deepEqual(comparable(retrieved), comparable(completed));
  });

  it("keeps nothing with store: false", async () => {
    const created = await alice.responses.create(ask("Forget me", { store: false }));
    assert.equal((created as { store?: boolean }).store, false);
    await assert.rejects(alice.responses.retrieve(created.id), OpenAI.NotFoundError);
  });

  it("lists input items in pages, newest first by default", async () => {
    const input = ["one", "two", "three"].map((text) => ({ role: "user" as const, content: text }));
    const created = await alice.responses.create(ask(input));
    const text = (page: { data: OpenAI.Responses.ResponseItem[] }) => page.data.map((i) => (i.type === "message" ? (i.content[0] as { text: string }).text : "?"));
    const desc = await alice.responses.inputItems.list(created.id);
    assert.deepEqual(text(desc), ["three", "two", "one"]);
    const first = await alice.responses.inputItems.list(created.id, { order: "asc", limit: 2 });
    assert.deepEqual(text(first), ["one", "two"]);
    assert.equal(first.has_more, true);
    const rest = await first.getNextPage();
    assert.deepEqual(text(rest), ["three"]);
    assert.equal(rest.has_more, false);
  });

  it("continues a conversation: the prompt is exactly the whole conversation's, read from the slot's cache", async () => {
    const first = await alice.responses.create(ask("Hello there", { instructions: "Be brief." }));
    const second = await alice.responses.create(ask("And then?", { previous_response_id: first.id, instructions: "Be brief." }));
    assert.equal(second.previous_response_id, first.id);
    // The same conversation sent whole, stateless: the same prompt, token for token.
    const whole = await alice.responses.create(
      ask([{ role: "user", content: "Hello there" }, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { role: "user", content: "And then?" }], { instructions: "Be brief.", store: false }),
    );
    assert.equal(second.usage?.input_tokens, whole.usage?.input_tokens);
    assert.ok((second.usage?.input_tokens ?? 0) > (first.usage?.input_tokens ?? 0) + (first.usage?.output_tokens ?? 0));
    // The continuation found the first turn's prompt in its slot's cache.
    assert.ok(
      (second.usage?.input_tokens_details.cached_tokens ?? 0) >= (first.usage?.input_tokens ?? 0),
      `cached ${second.usage?.input_tokens_details.cached_tokens} of ${first.usage?.input_tokens}`,
    );
    // A third turn chains through both.
    const third = await alice.responses.create(ask("Once more.", { previous_response_id: second.id, instructions: "Be brief." }));
    assert.ok((third.usage?.input_tokens ?? 0) > (second.usage?.input_tokens ?? 0) + (second.usage?.output_tokens ?? 0));
    // Only this request's own input is listed.
    const items = await alice.responses.inputItems.list(third.id);
    assert.deepEqual(
      items.data.map((i) => (i.type === "message" ? (i.content[0] as { text: string }).text : i.type)),
      ["Once more."],
    );
  });

  it("refuses an unknown previous response as OpenAI does", async () => {
    await assert.rejects(
      alice.responses.create(ask("x", { previous_response_id: "resp_doesnotexist" })),
      (e: unknown) =>
        e instanceof OpenAI.BadRequestError &&
        e.code === "previous_response_not_found" &&
        e.param === "previous_response_id" &&
        e.message.includes("Previous response with id 'resp_doesnotexist' not found."),
    );
  });

  it("shows a key's responses to that key only", async () => {
    const mine = await alice.responses.create(ask("Alice's secret"));
    await assert.rejects(bob.responses.retrieve(mine.id), OpenAI.NotFoundError);
    await assert.rejects(bob.responses.inputItems.list(mine.id), OpenAI.NotFoundError);
    await assert.rejects(bob.responses.delete(mine.id), OpenAI.NotFoundError);
    await assert.rejects(bob.responses.cancel(mine.id), OpenAI.NotFoundError);
    await assert.rejects(bob.responses.create(ask("x", { previous_response_id: mine.id })), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === "previous_response_not_found");
    assert.equal((await alice.responses.retrieve(mine.id)).id, mine.id, "still there for its owner");
  });

  it("keeps everything across a restart on the same file", async () => {
    const created = await alice.responses.create(ask("Remember me"));
    await server.close();
    await start();
    const retrieved = await alice.responses.retrieve(created.id);
    assert.deepEqual(comparable(retrieved), comparable(created));
    const items = await alice.responses.inputItems.list(created.id);
    assert.equal(items.data.length, 1);
    const next = await alice.responses.create(ask("Go on", { previous_response_id: created.id }));
    assert.equal(next.status, "incomplete"); // NO_EOS: to max_output_tokens
    assert.equal(next.previous_response_id, created.id);
  });
});
