/**
 * `/v1/embeddings` against the running server with the `openai` SDK (and the AI SDK) as clients:
 * a tiny pooled embedding test model (the test model's llama architecture with
 * `llama.pooling_type = 1`, mean) served beside the chat test model, from one config file.
 * Properties that hold whatever the random weights are: shapes, unit norm, base64 = float,
 * determinism, token ids = text, exact usage, `dimensions`, kind mismatches both ways, keys.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { embed, embedMany } from "ai";
import OpenAI from "openai";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";

const KEY = "sk-embed-test-key";
const CHAT_ONLY_KEY = "sk-chat-only-key";
const ADMIN = "admin-key-123456";
const TEXTS = ["The quick brown fox", "jumps over the lazy dog", "hello"];

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] ?? 0) - (b[i] ?? 0)) <= tolerance, `component ${i}: ${a[i]} vs ${b[i]}`);
};

describe("/v1/embeddings with a local embedding model", () => {
  let dir: string;
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-embed-"));
    const chat = await ensureTestModel();
    const embedding = await ensureTestModel({ model: { pooling: "mean" } });
    await writeFile(
      join(dir, "parley.yaml"),
      `
server:
  logLevel: warn
  limit: ["inputChars=4000"]
models:
  - id: chat
    local: { path: ${JSON.stringify(chat)}, parallel: 1 }
  - id: embed
    kind: embedding
    local: { path: ${JSON.stringify(embedding)}, parallel: 2, ctxSize: 64 }
  - id: embed-mrl
    kind: embedding
    matryoshka: true
    local: { path: ${JSON.stringify(embedding)}, ctxSize: 64 }
keys:
  - { user: alice, key: ${KEY} }
  - { user: bob, key: ${CHAT_ONLY_KEY}, models: [chat] }
adminKey: ${ADMIN}
`,
    );
    const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1", "--ctx-size", "512"], {});
    server = await startServer(serve.config, serve.file);
    await server.ready;
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, key = KEY, path = "/v1/embeddings") =>
    fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  const tokens = async (text: string, addSpecial: boolean): Promise<number[]> => {
    const response = await fetch(`${server.url}/tokenize`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: "chat", content: text, add_special: addSpecial }),
    });
    return ((await response.json()) as { tokens: number[] }).tokens;
  };

  it("answers the SDK's default (base64, decoded by the SDK) and float with the same unit vectors, one per input", async () => {
    const b64 = await client.embeddings.create({ model: "embed", input: TEXTS });
    const float = await client.embeddings.create({ model: "embed", input: TEXTS, encoding_format: "float" });
    assert.equal(b64.object, "list");
    assert.equal(b64.model, "embed");
    assert.equal(b64.data.length, TEXTS.length);
    for (const [i, item] of float.data.entries()) {
      assert.equal(item.object, "embedding");
      assert.equal(item.index, i);
      assert.equal(item.embedding.length, 64); // the model's n_embd
      assert.ok(Math.abs(norm(item.embedding) - 1) < 1e-5);
      assert.deepEqual(Array.from(b64.data[i]?.embedding ?? []), item.embedding); // exactly the same float32 values
    }
    // Different texts give different vectors.
    assert.notDeepEqual(float.data[0]?.embedding, float.data[1]?.embedding);
    // The raw wire: base64 is little-endian float32.
    const raw = (await (await post({ model: "embed", input: "hello", encoding_format: "base64" })).json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(raw.data[0]?.embedding ?? "", "base64");
    assert.equal(bytes.length, 64 * 4);
    assert.equal(bytes.readFloatLE(0), float.data[2]?.embedding[0]);
  });

  it("counts exactly the tokens read (each input's tokens and the BOS the model adds) in usage", async () => {
    const result = await client.embeddings.create({ model: "embed", input: TEXTS, encoding_format: "float" });
    let expected = 0;
    for (const text of TEXTS) expected += (await tokens(text, true)).length;
    assert.ok(expected > TEXTS.length);
    assert.deepEqual(result.usage, { prompt_tokens: expected, total_tokens: expected });
  });

  it("is deterministic: the same text gives the same vector in one request, across requests, batched or alone", async () => {
    const batched = await client.embeddings.create({ model: "embed", input: ["hello", ...TEXTS, "hello"], encoding_format: "float" });
    const alone = await client.embeddings.create({ model: "embed", input: "hello", encoding_format: "float" });
    const again = await client.embeddings.create({ model: "embed", input: "hello", encoding_format: "float" });
    const first = batched.data[0]?.embedding ?? [];
    // Each input is evaluated alone in its context (embed-host.ts): the same tokens, the same numbers.
    assert.deepEqual(batched.data.at(-1)?.embedding, first);
    assert.deepEqual(batched.data[3]?.embedding, first);
    assert.deepEqual(alone.data[0]?.embedding, first);
    assert.deepEqual(again.data[0]?.embedding, first);
  });

  it("embeds token ids as the text they are the tokens of", async () => {
    const ids = await tokens(TEXTS[0] ?? "", false);
    const fromText = await client.embeddings.create({ model: "embed", input: TEXTS[0] ?? "", encoding_format: "float" });
    const fromIds = await client.embeddings.create({ model: "embed", input: ids, encoding_format: "float" });
    const fromLists = await client.embeddings.create({ model: "embed", input: [ids, ids], encoding_format: "float" });
    assert.deepEqual(fromIds.data[0]?.embedding, fromText.data[0]?.embedding);
    assert.deepEqual(fromLists.data[1]?.embedding, fromText.data[0]?.embedding);
    assert.equal(fromIds.usage.prompt_tokens, fromText.usage.prompt_tokens);
    assert.equal(fromLists.usage.prompt_tokens, 2 * fromText.usage.prompt_tokens);
  });

  it("cuts and renormalises vectors to `dimensions` for a Matryoshka model, and refuses it for others", async () => {
    const full = await client.embeddings.create({ model: "embed-mrl", input: "hello", encoding_format: "float" });
    const cut = await client.embeddings.create({ model: "embed-mrl", input: "hello", dimensions: 16 });
    const head = (full.data[0]?.embedding ?? []).slice(0, 16);
    const n = norm(head);
    assert.equal(cut.data[0]?.embedding.length, 16);
    close(
      cut.data[0]?.embedding ?? [],
      head.map((x) => x / n),
    );
    const refused = await post({ model: "embed", input: "hello", dimensions: 16 });
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: { param: string; message: string } };
    assert.equal(body.error.param, "dimensions");
    assert.match(body.error.message, /matryoshka/i);
    const tooMany = await post({ model: "embed-mrl", input: "hello", dimensions: 65 });
    assert.equal(tooMany.status, 400);
  });

  it("refuses what cannot be embedded with a 400 naming the input", async () => {
    const cases: [unknown, string][] = [
      [["fine", ""], "input[1]"],
      ["", "input"],
      [[], "input"],
      [["fine", "word ".repeat(200)], "input[1]"], // more tokens than the context (64) holds: never truncated
      [[[1, 2], [999_999]], "input[1]"],
      [["a", 3], "input[1]"],
    ];
    for (const [input, param] of cases) {
      const response = await post({ model: "embed", input });
      assert.equal(response.status, 400, JSON.stringify(input).slice(0, 60));
      const body = (await response.json()) as { error: { param: string } };
      assert.equal(body.error.param, param);
    }
    const unknown = await post({ model: "embed", input: "a", truncate_prompt_tokens: 8 });
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { error: { param: string } }).error.param, "truncate_prompt_tokens");
  });

  it("refuses a chat request to an embedding model and an embeddings request to a chat model, naming the kind", async () => {
    const embeddingsToChat = await post({ model: "chat", input: "hello" });
    assert.equal(embeddingsToChat.status, 400);
    const a = (await embeddingsToChat.json()) as { error: { param: string; message: string } };
    assert.equal(a.error.param, "model");
    assert.match(a.error.message, /chat model \(kind `chat`\)/);
    const chatToEmbedding = await post({ model: "embed", messages: [{ role: "user", content: "hi" }] }, KEY, "/v1/chat/completions");
    assert.equal(chatToEmbedding.status, 400);
    const b = (await chatToEmbedding.json()) as { error: { param: string; message: string } };
    assert.equal(b.error.param, "model");
    assert.match(b.error.message, /embedding model \(kind `embedding`\)/);
    const completion = await post({ model: "embed", prompt: "hi" }, KEY, "/v1/completions");
    assert.equal(completion.status, 400);
  });

  it("lists the embedding model with its kind and dimensions", async () => {
    const models = await client.models.list();
    const entry = models.data.find((m) => m.id === "embed") as unknown as { kind?: string; dimensions?: number };
    assert.equal(entry.kind, "embedding");
    assert.equal(entry.dimensions, 64);
    assert.equal((models.data.find((m) => m.id === "chat") as unknown as { kind?: string }).kind, undefined);
  });

  it("applies keys (401, 403) and charges the tokens read to the key", async () => {
    assert.equal((await post({ model: "embed", input: "a" }, "sk-wrong-key-000")).status, 401);
    const forbidden = await post({ model: "embed", input: "a" }, CHAT_ONLY_KEY);
    assert.equal(forbidden.status, 403);
    const usage = async () => {
      const response = await fetch(`${server.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const rows = ((await response.json()) as { data: { user: string; model: string; requests: number; prompt_tokens: number }[] }).data;
      return rows.find((r) => r.user === "alice" && r.model === "embed") ?? { requests: 0, prompt_tokens: 0 };
    };
    const before = await usage();
    const result = await client.embeddings.create({ model: "embed", input: TEXTS });
    const after = await usage();
    assert.equal(after.requests, before.requests + 1);
    assert.equal(after.prompt_tokens, before.prompt_tokens + result.usage.prompt_tokens);
  });

  it("serves the AI SDK's embed and embedMany (createOpenAI().embedding)", async () => {
    const provider = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY });
    const reference = await client.embeddings.create({ model: "embed", input: TEXTS, encoding_format: "float" });
    const one = await embed({ model: provider.embedding("embed"), value: TEXTS[1] ?? "", maxRetries: 0 });
    close(one.embedding, reference.data[1]?.embedding ?? [], 0);
    const many = await embedMany({ model: provider.embedding("embed"), values: TEXTS, maxRetries: 0 });
    assert.equal(many.embeddings.length, TEXTS.length);
    many.embeddings.forEach((vector, i) => close(vector, reference.data[i]?.embedding ?? [], 0));
    assert.equal(many.usage.tokens, reference.usage.prompt_tokens);
  });
});
