/**
 * The Responses store on its own (no server): persistence across reopening the file, ownership,
 * input-item pages, retention and the size cap under a fake clock, and runs left unfinished by a
 * stopped process.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Response as OpenAIResponse, ResponseItem } from "openai/resources/responses/responses";
import { conversationBefore } from "../../src/responses-store/conversation.ts";
import { toStoredItems } from "../../src/responses-store/items.ts";
import { type NewResponse, ResponseStore } from "../../src/responses-store/store.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-responses-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;

function response(id: string, status: OpenAIResponse["status"] = "completed", text = "hi"): OpenAIResponse {
  return {
    id,
    object: "response",
    created_at: 0,
    status,
    model: "m",
    output: [{ id: `msg_${id}`, type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] }],
    output_text: text,
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
  };
}

function entry(id: string, overrides: Partial<NewResponse> = {}): NewResponse {
  return {
    id,
    owner: "alice",
    model: "m",
    status: "completed",
    request: { model: "m", input: "x" },
    response: response(id),
    previousResponseId: undefined,
    conversation: id,
    background: false,
    inputItems: toStoredItems(`input of ${id}`),
    ...overrides,
  };
}

describe("ResponseStore", () => {
  it("keeps responses and their input items across reopening the file, for their owner only", () => {
    const file = join(dir, "persist.sqlite");
    const first = new ResponseStore(file);
    first.create(entry("resp_1", { inputItems: toStoredItems(["a", "b", "c"].map((t) => ({ role: "user", content: t }))) }));
    first.close();
    const second = new ResponseStore(file);
    const stored = second.get("resp_1", "alice");
    assert.equal(stored?.response?.id, "resp_1");
    assert.equal(stored?.status, "completed");
    assert.equal(second.get("resp_1", "bob"), undefined, "another owner sees nothing");
    assert.equal(second.delete("resp_1", "bob"), false);
    const items = second.inputItems("resp_1");
    assert.deepEqual(
      items.map((i) => (i.type === "message" ? i.content : undefined)),
      ["a", "b", "c"].map((text) => [{ type: "input_text", text }]),
    );
    for (const item of items) assert.match((item as { id: string }).id, /^msg_[0-9a-f]{24}$/);
    assert.equal(second.delete("resp_1", "alice"), true);
    assert.equal(second.get("resp_1", "alice"), undefined);
    assert.deepEqual(second.inputItems("resp_1"), [], "items go with their response");
    second.close();
  });

  it("pages input items in both orders after a cursor", () => {
    const store = new ResponseStore(":memory:");
    store.create(entry("resp_p", { inputItems: toStoredItems(["0", "1", "2", "3", "4"].map((t) => ({ role: "user", content: t }))) }));
    const text = (items: readonly ResponseItem[]) => items.map((i) => (i.type === "message" ? (i.content[0] as { text: string }).text : "?"));
    const asc = store.inputItemPage("resp_p", { limit: 2, order: "asc", after: undefined });
    assert.deepEqual(text(asc?.items ?? []), ["0", "1"]);
    assert.equal(asc?.hasMore, true);
    assert.ok(asc !== undefined);
    const next = store.inputItemPage("resp_p", { limit: 2, order: "asc", after: (asc.items[1] as { id: string }).id });
    assert.deepEqual(text(next?.items ?? []), ["2", "3"]);
    const desc = store.inputItemPage("resp_p", { limit: 10, order: "desc", after: undefined });
    assert.deepEqual(text(desc?.items ?? []), ["4", "3", "2", "1", "0"]);
    assert.equal(desc?.hasMore, false);
    assert.equal(store.inputItemPage("resp_p", { limit: 2, order: "asc", after: "msg_unknown" }), undefined);
    store.close();
  });

  it("deletes responses past the retention, and the oldest past the size cap", () => {
    let now = 1_000 * DAY;
    const store = new ResponseStore(":memory:", { retentionDays: 30, maxResponses: 3, now: () => now });
    store.create(entry("resp_old"));
    now += 29 * DAY;
    store.create(entry("resp_a"));
    assert.ok(store.get("resp_old", "alice"), "29 days old: kept");
    now += 2 * DAY;
    assert.equal(store.prune(), 1);
    assert.equal(store.get("resp_old", "alice"), undefined, "31 days old: gone");
    now += 1;
    store.create(entry("resp_b"));
    now += 1;
    store.create(entry("resp_c"));
    now += 1;
    store.create(entry("resp_d")); // a fourth: the oldest (resp_a) goes
    assert.equal(store.get("resp_a", "alice"), undefined);
    for (const id of ["resp_b", "resp_c", "resp_d"]) assert.ok(store.get(id, "alice"), id);
    store.close();
  });

  it("rebuilds a previous_response_id chain oldest first, and refuses what the owner cannot see", () => {
    const store = new ResponseStore(":memory:");
    store.create(entry("resp_1", { response: response("resp_1", "completed", "one") }));
    store.create(entry("resp_2", { previousResponseId: "resp_1", conversation: "resp_1", response: response("resp_2", "completed", "two") }));
    const chain = conversationBefore(store, "alice", "resp_2");
    assert.equal(chain.root, "resp_1");
    const texts = chain.items.map((item) => {
      const i = item as { role: string; content: { text: string }[]; id?: string };
      return `${i.role}:${i.content[0]?.text}:${i.role === "assistant" ? "id" : (i.id ?? "no id")}`;
    });
    assert.deepEqual(texts, ["user:input of resp_1:no id", "assistant:one:id", "user:input of resp_2:no id", "assistant:two:id"]);
    assert.throws(
      () => conversationBefore(store, "bob", "resp_2"),
      (e: Error & { code?: string }) => e.code === "previous_response_not_found" && /'resp_2'/.test(e.message),
    );
    store.delete("resp_1", "alice");
    assert.throws(
      () => conversationBefore(store, "alice", "resp_2"),
      (e: Error & { code?: string }) => e.code === "previous_response_not_found" && /'resp_1'/.test(e.message),
    );
    store.close();
  });

  it("marks runs a stopped process left queued or in progress as failed, and keeps their events", () => {
    const file = join(dir, "unfinished.sqlite");
    const first = new ResponseStore(file);
    first.create(entry("resp_bg", { status: "in_progress", background: true, response: response("resp_bg", "in_progress") }));
    first.appendEvent("resp_bg", { position: 0, sequence: 0, event: "response.created", data: { type: "response.created", sequence_number: 0 } });
    first.appendEvent("resp_bg", { position: 1, sequence: 1, event: "response.in_progress", data: { type: "response.in_progress", sequence_number: 1 } });
    first.close();
    const second = new ResponseStore(file);
    const stored = second.get("resp_bg", "alice");
    assert.equal(stored?.status, "failed");
    assert.equal(stored?.response?.status, "failed");
    assert.equal(stored?.response?.error?.code, "server_error");
    assert.deepEqual(
      second.events("resp_bg", 0).map((e) => e.event),
      ["response.in_progress"],
    );
    second.close();
  });
});
