/**
 * Upstream embedding models (`kind: embedding` on an upstream entry): Parley forwards
 * `/v1/embeddings` to the upstream's `/embeddings` (here another Parley serving the pooled
 * embedding test model, and a fake upstream), through its replicas: the front answers exactly
 * what the back does, in either encoding, fails over from a dead replica, passes an upstream 4xx
 * through, and refuses chat requests naming the kind.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { buildApp } from "../../src/app.ts";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { UpstreamEngine } from "../../src/engines/upstream/engine.ts";
import { Router } from "../../src/router/router.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";

describe("/v1/embeddings through an upstream embedding model", () => {
  let dir: string;
  let back: RunningServer;
  let front: ReturnType<typeof buildApp>;
  let engines: UpstreamEngine[];
  let fake: Server;
  let fakeBodies: unknown[];
  let frontUrl: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-embed-up-"));
    const embedding = await ensureTestModel({ model: { pooling: "mean" } });
    await writeFile(join(dir, "parley.yaml"), `server: { logLevel: warn }\nmodels:\n  - id: embed\n    kind: embedding\n    local: { path: ${JSON.stringify(embedding)}, ctxSize: 64 }\n`);
    const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1"], {});
    back = await startServer(serve.config, serve.file);
    await back.ready;
    // A fake upstream: records each body, answers base64 in reverse order (read by `index`), or a 400 for "bad".
    fakeBodies = [];
    fake = createServer((req, res) => {
      if (req.method === "GET") return void res.writeHead(200, { "content-type": "application/json" }).end('{"object":"list","data":[]}');
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        const body = JSON.parse(text) as { input: string[] };
        fakeBodies.push(body);
        if (body.input.includes("bad"))
          return void res.writeHead(400, { "content-type": "application/json" }).end('{"error":{"message":"no bad words","type":"invalid_request_error","param":"input","code":null}}');
        const data = body.input.map((_, index) => ({ object: "embedding", index, embedding: Buffer.from(new Float32Array([index, 0.5]).buffer).toString("base64") })).reverse();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data, model: "x", usage: { prompt_tokens: 7, total_tokens: 7 } }));
      });
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v1`;
    engines = [
      // The first replica is dead (nothing listens there): the request fails over to the live one.
      new UpstreamEngine({ id: "front-embed", model: "embed", baseUrls: ["http://127.0.0.1:9/v1", `${back.url}/v1`], kind: "embedding", dialect: "parley", healthIntervalMs: 60_000 }),
      new UpstreamEngine({ id: "fake-embed", model: "x", baseUrls: [fakeUrl], kind: "embedding", dialect: "openai", healthIntervalMs: 60_000 }),
    ];
    front = buildApp({ router: new Router(engines) });
    frontUrl = await front.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => {
    for (const engine of engines ?? []) await engine.close(0);
    await front?.close();
    await back?.close();
    fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers what the upstream answers, in either encoding, with its usage", async () => {
    const direct = new OpenAI({ baseURL: `${back.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const proxied = new OpenAI({ baseURL: `${frontUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    const input = ["hello", "The quick brown fox"];
    const expected = await direct.embeddings.create({ model: "embed", input, encoding_format: "float" });
    const viaFloat = await proxied.embeddings.create({ model: "front-embed", input, encoding_format: "float" });
    const viaBase64 = await proxied.embeddings.create({ model: "front-embed", input });
    assert.equal(viaFloat.model, "front-embed");
    assert.deepEqual(
      viaFloat.data.map((d) => d.embedding),
      expected.data.map((d) => d.embedding),
    );
    assert.deepEqual(
      viaBase64.data.map((d) => Array.from(d.embedding)),
      expected.data.map((d) => d.embedding),
    );
    assert.deepEqual(viaFloat.usage, expected.usage);
  });

  it("forwards the upstream's name, dimensions and user; reads base64 answers by index; passes a 4xx through", async () => {
    const proxied = new OpenAI({ baseURL: `${frontUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    const result = await proxied.embeddings.create({ model: "fake-embed", input: ["a", "b", "c"], dimensions: 2, user: "u1", encoding_format: "float" });
    assert.deepEqual(fakeBodies.at(-1), { model: "x", input: ["a", "b", "c"], encoding_format: "float", dimensions: 2, user: "u1" });
    assert.deepEqual(
      result.data.map((d) => d.embedding),
      [
        [0, 0.5],
        [1, 0.5],
        [2, 0.5],
      ],
    );
    assert.equal(result.usage.prompt_tokens, 7);
    const refused = await fetch(`${frontUrl}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "fake-embed", input: ["bad"] }) });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /no bad words/);
  });

  it("refuses a chat request to an upstream embedding model, naming its kind", async () => {
    const response = await fetch(`${frontUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "front-embed", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /embedding model \(kind `embedding`\)/);
  });
});
