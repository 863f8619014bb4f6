/**
 * What other servers' clients send: routes without `/v1`, llama-server's and Fireworks/Together's
 * constraint fields, `n_predict` and `cache_prompt`, OpenAI's newer fields (`verbosity`,
 * `safety_identifier`, `store`, `service_tier`, `prompt_cache_key`), the model entry's context
 * length, and the field policy: a field no dialect defines is a 400 naming it.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { MODEL, postChat, startTestServer, type TestServer } from "../support/server.ts";

const ask = { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 40, seed: 3 };

describe("fields and routes of other servers' clients", () => {
  let t: TestServer;
  let dir: string;
  let logPath: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-fields-"));
    logPath = join(dir, "requests.jsonl");
    t = await startTestServer(["--ctx-size", "1024", "--request-log", logPath]);
  });
  after(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const chat = async (body: Record<string, unknown>, path = "/v1/chat/completions") =>
    fetch(`${t.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...ask, ...body }) });
  const content = async (res: Response): Promise<string> => {
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as ChatCompletion).choices[0]?.message.content ?? "";
  };

  it("serves /chat/completions and /models without the /v1 prefix", async () => {
    assert.equal((await chat({}, "/chat/completions")).status, 200);
    const list = (await (await fetch(`${t.url}/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      list.data.map((m) => m.id),
      [MODEL],
    );
    assert.equal((await fetch(`${t.url}/models/${MODEL}`)).status, 200);
  });

  it("model entries carry the context length under llama-server's and vLLM's names, owned by parley", async () => {
    const entry = (await (await fetch(`${t.url}/v1/models/${MODEL}`)).json()) as Record<string, unknown>;
    assert.equal(entry.owned_by, "parley");
    assert.equal(entry.context_length, 1024);
    assert.equal(entry.max_model_len, 1024);
  });

  it("llama-server's and Fireworks' constraint fields constrain the output", async () => {
    assert.match(await content(await chat({ grammar: 'root ::= "yes" | "no"' })), /^(yes|no)$/);
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
    for (const body of [{ json_schema: schema }, { response_format: { type: "json_object", schema } }, { response_format: { type: "json_schema", schema } }]) {
      const value = JSON.parse(await content(await chat({ ...body, max_tokens: 30 }))) as { ok: unknown };
      assert.equal(typeof value.ok, "boolean", JSON.stringify(body));
    }
    const both = await chat({ grammar: 'root ::= "yes"', response_format: { type: "json_object" } });
    assert.equal(both.status, 400);
    assert.match(await both.text(), /Only one output constraint.*response_format.*grammar/);
  });

  it("n_predict stands for max_tokens; cache_prompt true is accepted and false refused", async () => {
    const res = await chat({ n_predict: 3, max_tokens: undefined });
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as ChatCompletion).usage!.completion_tokens <= 3);
    assert.equal((await chat({ cache_prompt: true })).status, 200);
    const refused = await chat({ cache_prompt: false });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /cache_prompt/);
  });

  it("a field no dialect defines is a 400 naming it; OpenAI's cache hints are accepted; unsupported features are named", async () => {
    const unknown = await chat({ frobnicate: 1 });
    assert.equal(unknown.status, 400);
    const body = (await unknown.json()) as { error: { param: string; message: string } };
    assert.equal(body.error.param, "frobnicate");
    assert.equal((await chat({ prompt_cache_retention: "24h", prompt_cache_options: { mode: "implicit" } })).status, 200);
    for (const field of [{ moderation: { model: "omni" } }, { web_search_options: {} }, { mirostat: 2 }]) {
      const res = await chat(field);
      assert.equal(res.status, 400, JSON.stringify(field));
      assert.equal(((await res.json()) as { error: { param: string } }).error.param, Object.keys(field)[0]);
    }
  });

  it("verbosity reaches templates; safety_identifier, store and service_tier are recorded", async () => {
    const template = "{% if verbosity != 'low' %}{{ raise_exception('verbosity: ' ~ verbosity) }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}";
    assert.equal((await chat({ chat_template: template, verbosity: "low" })).status, 200);
    const without = await chat({ chat_template: template });
    assert.equal(without.status, 400);
    assert.equal((await chat({ chat_template: template, verbosity: "high", chat_template_kwargs: { verbosity: "low" } })).status, 200, "chat_template_kwargs win");

    const res = await postChat(t.url, { ...ask, safety_identifier: "user-hash-1", store: true, service_tier: "priority", prompt_cache_key: "conversation-7", metadata: { app: "test" } });
    assert.equal(res.status, 200);
    await res.json();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const records = (await readFile(logPath, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const record = records.find((r) => r.safety_identifier === "user-hash-1");
    assert.ok(record !== undefined, JSON.stringify(records.at(-1)));
    assert.deepEqual([record.store, record.service_tier, record.metadata], [true, "priority", { app: "test" }]);
  });
});
