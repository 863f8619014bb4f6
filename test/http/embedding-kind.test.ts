/**
 * A local model's kind read from its GGUF (engines/llama/model-kind.ts, auto-kind-engine.ts),
 * driven over HTTP with the `openai` SDK: the pooled test model (`llama.pooling_type` mean) given
 * as `--model <path>` alone is an embedding model; the plain test model stays a chat model; an
 * explicit `kind` in the config file overrides what the file says; until the file has been read,
 * chat, embeddings and the text tools all answer 503 (loading) with `Retry-After`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { buildApp } from "../../src/app.ts";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createEngine } from "../../src/engines/registry.ts";
import { Router } from "../../src/router/router.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";

const TEXTS = ["The quick brown fox", "jumps over the lazy dog"];
const FLAGS = ["--port", "0", "--threads", "1", "--ctx-size", "256", "--log-level", "warn", "--responses-store", "off"];
const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** The status and error of a call the SDK rejects. */
async function refusal(call: Promise<unknown>): Promise<{ status: number | undefined; message: string; param: unknown }> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof OpenAI.APIError, String(error));
    return { status: error.status, message: error.message, param: (error.error as { param?: unknown } | undefined)?.param };
  }
  assert.fail("expected the request to be refused");
}

async function serveFlags(flags: readonly string[]): Promise<{ server: RunningServer; client: OpenAI }> {
  const server = await startServer(loadConfig([...FLAGS, ...flags], {}));
  await server.ready;
  return { server, client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 }) };
}

describe("a model's kind from its GGUF, flags only", () => {
  let pooled: string;
  let plain: string;
  before(async () => {
    pooled = await ensureTestModel({ model: { pooling: "mean" } });
    plain = await ensureTestModel();
  });

  it("serves a GGUF that declares pooling as an embedding model, and refuses chat naming the kind", async () => {
    const { server, client } = await serveFlags(["--model", pooled, "--model-alias", "auto-embed"]);
    try {
      const entry = (await client.models.list()).data.find((m) => m.id === "auto-embed") as unknown as { kind?: string; dimensions?: number };
      assert.equal(entry.kind, "embedding");
      assert.equal(entry.dimensions, 64);
      const result = await client.embeddings.create({ model: "auto-embed", input: TEXTS, encoding_format: "float" });
      assert.equal(result.data.length, TEXTS.length);
      for (const [i, item] of result.data.entries()) {
        assert.equal(item.index, i);
        assert.equal(item.embedding.length, 64);
        assert.ok(Math.abs(norm(item.embedding) - 1) < 1e-5);
      }
      assert.ok(result.usage.prompt_tokens > 0);
      assert.equal(result.usage.total_tokens, result.usage.prompt_tokens);
      const chat = await refusal(client.chat.completions.create({ model: "auto-embed", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }));
      assert.equal(chat.status, 400);
      assert.equal(chat.param, "model");
      assert.match(chat.message, /embedding model \(kind `embedding`\)/);
      const completion = await refusal(client.completions.create({ model: "auto-embed", prompt: "hi", max_tokens: 2 }));
      assert.equal(completion.status, 400);
    } finally {
      await server.close();
    }
  });

  it("serves a GGUF without pooling as a chat model", async () => {
    const { server, client } = await serveFlags(["--model", plain, "--model-alias", "auto-chat"]);
    try {
      const entry = (await client.models.list()).data.find((m) => m.id === "auto-chat") as unknown as { kind?: string; contextLength?: number };
      assert.equal(entry.kind, undefined);
      const chat = await client.chat.completions.create({ model: "auto-chat", messages: [{ role: "user", content: "hi" }], max_tokens: 3, seed: 1 });
      const finish = chat.choices[0]?.finish_reason;
      assert.ok(finish === "length" || finish === "stop", String(finish));
      if (finish === "length") assert.equal(chat.usage?.completion_tokens, 3);
      assert.ok((chat.usage?.prompt_tokens ?? 0) > 0);
      const tokens = await fetch(`${server.url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "auto-chat", content: "hello" }) });
      assert.equal(tokens.status, 200);
      const embeddings = await refusal(client.embeddings.create({ model: "auto-chat", input: "hello" }));
      assert.equal(embeddings.status, 400);
      assert.equal(embeddings.param, "model");
      assert.match(embeddings.message, /chat model \(kind `chat`\)/);
    } finally {
      await server.close();
    }
  });
});

describe("an explicit kind overrides the GGUF", () => {
  let dir: string;
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-kind-"));
    const pooled = await ensureTestModel({ model: { pooling: "mean" } });
    const plain = await ensureTestModel();
    await writeFile(
      join(dir, "parley.yaml"),
      `
server:
  logLevel: warn
models:
  - id: detected
    local: { path: ${JSON.stringify(pooled)}, ctxSize: 64 }
  - id: declared
    kind: embedding
    local: { path: ${JSON.stringify(pooled)}, ctxSize: 64 }
  - id: forced-chat
    kind: chat
    local: { path: ${JSON.stringify(pooled)}, parallel: 1 }
  - id: plain-embedding
    kind: embedding
    local: { path: ${JSON.stringify(plain)}, ctxSize: 64 }
`,
    );
    const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1", "--ctx-size", "256", "--responses-store", "off"], {});
    server = await startServer(serve.config, serve.file);
    await server.ready;
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("gives a detected embedding model the same vectors as a declared one", async () => {
    const [detected, declared] = await Promise.all(["detected", "declared"].map((model) => client.embeddings.create({ model, input: TEXTS, encoding_format: "float" })));
    assert.deepEqual(
      detected?.data.map((d) => d.embedding),
      declared?.data.map((d) => d.embedding),
    );
    assert.equal(detected?.usage.prompt_tokens, declared?.usage.prompt_tokens);
  });

  it("serves a pooled GGUF declared `kind: chat` as a chat model", async () => {
    const kinds = new Map((await client.models.list()).data.map((m) => [m.id, (m as unknown as { kind?: string }).kind]));
    assert.deepEqual(Object.fromEntries(kinds), { detected: "embedding", declared: "embedding", "forced-chat": undefined, "plain-embedding": "embedding" });
    const chat = await client.chat.completions.create({ model: "forced-chat", messages: [{ role: "user", content: "hi" }], max_tokens: 3, seed: 7 });
    assert.equal(chat.object, "chat.completion");
    assert.ok((chat.usage?.completion_tokens ?? 0) >= 1);
    const embeddings = await refusal(client.embeddings.create({ model: "forced-chat", input: "hello" }));
    assert.equal(embeddings.status, 400);
    assert.match(embeddings.message, /chat model \(kind `chat`\)/);
  });

  it("serves a GGUF without pooling declared `kind: embedding` as an embedding model", async () => {
    const result = await client.embeddings.create({ model: "plain-embedding", input: "hello", encoding_format: "float" });
    assert.equal(result.data[0]?.embedding.length, 64);
    const chat = await refusal(client.chat.completions.create({ model: "plain-embedding", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }));
    assert.equal(chat.status, 400);
  });
});

describe("before the GGUF has been read", () => {
  it("answers chat, embeddings and the text tools with 503 (loading), then serves the detected kind", async () => {
    const pooled = await ensureTestModel({ model: { pooling: "mean" } });
    const config = loadConfig(FLAGS, {});
    const engine = createEngine({ kind: "local", id: "pending", aliases: [], source: pooled, lora: [], ctxSize: 64 }, config, { logger: () => undefined });
    const app = buildApp({ router: new Router([engine]) });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
    try {
      const models = (await client.models.list()).data;
      assert.deepEqual(
        models.map((m) => [m.id, (m as unknown as { kind?: string }).kind]),
        [["pending", undefined]],
      );
      for (const call of [
        client.chat.completions.create({ model: "pending", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
        client.embeddings.create({ model: "pending", input: "hello" }),
      ]) {
        const refused = await refusal(call);
        assert.equal(refused.status, 503, refused.message);
        assert.match(refused.message, /loading/);
      }
      const tokenize = await fetch(`${url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "pending", content: "hello" }) });
      assert.equal(tokenize.status, 503);
      assert.ok(tokenize.headers.get("retry-after") !== null);

      await engine.load();
      assert.equal(engine.isReady(), true);
      assert.equal((engine.describe().models[0] as { kind?: string }).kind, "embedding");
      assert.match(String(engine.describe().banner?.fields.kindDetected), /pooling_type = 1 \(mean\)/);
      const result = await client.embeddings.create({ model: "pending", input: "hello", encoding_format: "float" });
      assert.equal(result.data[0]?.embedding.length, 64);
    } finally {
      await app.close();
      await engine.close(0);
    }
  });

  it("refuses to load a detected embedding model given LoRA adapters, saying how to force chat", async () => {
    const pooled = await ensureTestModel({ model: { pooling: "mean" } });
    const spec = { kind: "local", id: "lora-embed", aliases: [], source: pooled, lora: [{ id: "a", path: "/nowhere/a.gguf", scale: 1 }] } as const;
    const engine = createEngine(spec, loadConfig(FLAGS, {}), { logger: () => undefined });
    await assert.rejects(engine.load(), /embedding model \(the GGUF declares llama\.pooling_type = 1 \(mean\)\).*`kind: chat`/);
    assert.equal(engine.isReady(), false);
    await engine.close(0);
  });
});
