/**
 * `item_reference` input items over HTTP, with the `openai` client: a reference stands for the
 * stored item it names (an input item or an output item of any of the key's stored responses), so
 * the model's prompt is exactly the one the items sent inline make (equal `usage.input_tokens`),
 * and the new response lists the resolved items as its input. An unknown id, or another key's
 * item, is a 400 naming `input[i].id`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { FunctionTool, ResponseInputItem, ResponseItem } from "openai/resources/responses/responses";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";
import { TEST_TOOLS } from "../support/tools.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-responses-refs-"));
const FLAGS = ["--responses-store", join(dir, "responses.sqlite"), "--api-key", "alice=alice-key", "--api-key", "bob=bob-key", "--ctx-size", "2048"];

const TOOLS: FunctionTool[] = TEST_TOOLS.map((t) => ({
  type: "function",
  name: t.function.name,
  description: t.function.description ?? null,
  parameters: t.function.parameters ?? null,
  strict: false,
}));

let server: TestServer;
let alice: OpenAI;
let bob: OpenAI;

before(async () => {
  server = await startTestServer(FLAGS);
  alice = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "alice-key", maxRetries: 0, timeout: 60_000 });
  bob = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "bob-key", maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const ref = (id: string) => ({ type: "item_reference", id }) as ResponseInputItem;

/** A short, seeded, greedy request. */
const ask = (input: ResponseInputItem[] | string, extra: Record<string, unknown> = {}) =>
  ({ model: MODEL, input, max_output_tokens: 6, temperature: 0, logit_bias: NO_EOS, ...extra }) as OpenAI.Responses.ResponseCreateParamsNonStreaming;

function itemId(item: ResponseItem | undefined): string {
  assert.ok(item !== undefined && "id" in item && typeof item.id === "string", `an item with an id: ${JSON.stringify(item)}`);
  return item.id;
}

/** The 400 a request gets, as the client reports it. */
async function refusal(request: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await request.then(
    () => assert.fail("the request should have been refused"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof OpenAI.APIError, String(error));
  assert.equal(error.status, 400);
  return error;
}

describe("item_reference input items", () => {
  it("resolves a stored function call and its output: the prompt is the inline items'", async () => {
    const question = { role: "user", content: "What is the weather in Paris?" } as ResponseInputItem;
    const first = await alice.responses.create({ ...ask([question], { tools: TOOLS, tool_choice: { type: "function", name: "get_weather" }, max_output_tokens: 200, seed: 2 }) });
    const call = first.output.find((o) => o.type === "function_call");
    assert.ok(call?.type === "function_call" && call.id !== undefined, `a function call: ${JSON.stringify(first.output)}`);

    // The call's result, sent inline once and stored as that response's input item.
    const result = { type: "function_call_output", call_id: call.call_id, output: '{"temperature": 21}' } as ResponseInputItem;
    const inline = await alice.responses.create(ask([question, call as ResponseInputItem, result], { tools: TOOLS, tool_choice: "none" }));
    const inlineItems = (await alice.responses.inputItems.list(inline.id, { order: "asc" })).data;
    assert.deepEqual(
      inlineItems.map((i) => i.type),
      ["message", "function_call", "function_call_output"],
    );
    const [questionId, callId, resultId] = inlineItems.map((i) => itemId(i as ResponseItem));
    assert.equal(callId, call.id);
    assert.match(resultId ?? "", /^fco_/);

    // The same three items by reference (no previous_response_id): the same prompt, token for token.
    const referenced = await alice.responses.create(ask([ref(questionId ?? ""), ref(call.id), ref(resultId ?? "")], { tools: TOOLS, tool_choice: "none" }));
    assert.equal(referenced.previous_response_id, null);
    assert.equal(referenced.usage?.input_tokens, inline.usage?.input_tokens);
    // The call and its result are in the prompt: without them it is shorter.
    const questionOnly = await alice.responses.create(ask([question], { tools: TOOLS, tool_choice: "none", store: false }));
    assert.ok((referenced.usage?.input_tokens ?? 0) > (questionOnly.usage?.input_tokens ?? 0), `${referenced.usage?.input_tokens} > ${questionOnly.usage?.input_tokens}`);

    // The new response lists the items themselves, not the references.
    const listed = (await alice.responses.inputItems.list(referenced.id, { order: "asc" })).data;
    assert.deepEqual(
      listed.map((i) => [i.type, itemId(i as ResponseItem)]),
      [
        ["message", questionId],
        ["function_call", callId],
        ["function_call_output", resultId],
      ],
    );
  });

  it("resolves an output message: the same prompt as previous_response_id", async () => {
    const first = await alice.responses.create(ask("Hello there"));
    const [question] = (await alice.responses.inputItems.list(first.id)).data;
    const answer = first.output.find((o) => o.type === "message");
    assert.ok(answer?.type === "message");
    const byReference = await alice.responses.create(ask([ref(itemId(question as ResponseItem)), ref(answer.id), { role: "user", content: "And then?" }], { store: false }));
    const continued = await alice.responses.create(ask("And then?", { previous_response_id: first.id, store: false }));
    assert.equal(byReference.usage?.input_tokens, continued.usage?.input_tokens);
    assert.ok((byReference.usage?.input_tokens ?? 0) > (first.usage?.input_tokens ?? 0) + (first.usage?.output_tokens ?? 0));
  });

  it("refuses an unknown id, naming input[i].id", async () => {
    const error = await refusal(alice.responses.create(ask([{ role: "user", content: "Hi" }, ref("msg_0123456789abcdef01234567")])));
    assert.equal(error.param, "input[1].id");
    assert.match(error.message, /msg_0123456789abcdef01234567/);
  });

  it("refuses another key's item as unknown", async () => {
    const first = await alice.responses.create(ask("A secret of Alice's"));
    const answer = first.output[0];
    const error = await refusal(bob.responses.create(ask([ref(itemId(answer as ResponseItem))])));
    assert.equal(error.param, "input[0].id");
    // Alice herself may.
    const own = await alice.responses.create(ask([ref(itemId(answer as ResponseItem)), { role: "user", content: "Go on." }], { store: false }));
    assert.match(own.id, /^resp_/);
  });

  it("refuses the items of a deleted response", async () => {
    const first = await alice.responses.create(ask("Soon gone"));
    const answerId = itemId(first.output[0] as ResponseItem);
    await alice.responses.delete(first.id);
    const error = await refusal(alice.responses.create(ask([ref(answerId)])));
    assert.equal(error.param, "input[0].id");
  });
});

describe("item_reference without a store (--responses-store off)", () => {
  it("refuses each reference, naming it", async () => {
    const stateless = await startTestServer();
    try {
      const client = new OpenAI({ baseURL: `${stateless.url}/v1`, apiKey: "none", maxRetries: 0, timeout: 60_000 });
      const error = await refusal(client.responses.create(ask([{ role: "user", content: "Hi" }, ref("fc_0123456789abcdef01234567")], { store: false })));
      assert.equal(error.param, "input[1].id");
      assert.match(error.message, /fc_0123456789abcdef01234567.*--responses-store off/);
    } finally {
      await stateless.close();
    }
  });
});
