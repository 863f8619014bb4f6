/**
 * The README's "Scaling out" deployment, end to end: one config file with a local model, an
 * upstream model on two replicas (one of them dead) and two keys (one given as its SHA-256).
 * The upstream is another Parley. Keys restrict models by id or alias; the upstream model fails
 * over to the live replica and streams exactly what the upstream streams.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address !== null ? address.port : 1;
}

describe("scaling out: local + upstream models, keys, one config file", () => {
  let dir: string;
  let upstream: TestServer;
  let front: RunningServer;
  const ALICE = "alice-key-0123";
  const BATCH = "batch-key-4567";
  const METERED = "metered-key-89ab";

  before(async () => {
    upstream = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "parley-scale-"));
    const config = `
server:
  logLevel: warn
models:
  - id: local-model
    aliases: [default]
    local: { path: ${JSON.stringify(await ensureTestModel())} }
  - id: remote
    aliases: [big]
    upstream:
      baseUrls: [http://127.0.0.1:${await deadPort()}/v1, ${upstream.url}/v1]
      model: ${MODEL}
keys:
  - user: alice
    key: ${ALICE}
    models: [default]
  - user: batch
    sha256: ${createHash("sha256").update(BATCH).digest("hex")}
  - user: metered
    key: ${METERED}
    limits: { tokensPerMinute: 50 }
`;
    await writeFile(join(dir, "parley.yaml"), config);
    const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1", "--ctx-size", "512"], {});
    front = await startServer(serve.config, serve.file);
    await front.ready;
  });
  after(async () => {
    await front?.close();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const chat = (key: string | undefined, body: Record<string, unknown>) =>
    postChat(
      front.url,
      { messages: [{ role: "user", content: "Tell me about the weather." }], max_tokens: 8, temperature: 0, logit_bias: NO_EOS, ...body },
      key === undefined ? {} : { authorization: `Bearer ${key}` },
    );

  it("a key limited to an alias may use the model by id or alias, and nothing else", async () => {
    assert.equal((await chat(ALICE, { model: "default" })).status, 200);
    assert.equal((await chat(ALICE, { model: "local-model" })).status, 200);
    assert.equal((await chat(ALICE, { model: "remote" })).status, 403);
    assert.equal((await chat(ALICE, { model: "big" })).status, 403);
    const models = (await (await fetch(`${front.url}/v1/models`, { headers: { authorization: `Bearer ${ALICE}` } })).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id).sort(), ["default", "local-model"]);
    assert.equal((await chat(undefined, { model: "default" })).status, 401);
  });

  it("the upstream model fails over to the live replica and streams what the upstream streams", async () => {
    const direct = await postChat(upstream.url, { model: MODEL, messages: [{ role: "user", content: "Tell me about the weather." }], max_tokens: 8, temperature: 0, logit_bias: NO_EOS });
    const expected = ((await direct.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content;
    for (const model of ["remote", "big"]) {
      const res = await chat(BATCH, { model });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content, expected);
    }
    const streamed = await chat(BATCH, { model: "remote", stream: true });
    const frames = parseSse(await streamed.text())
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as { id: string; model: string; choices: { delta: { content?: string } }[] });
    assert.equal(frames.map((f) => f.choices[0]?.delta.content ?? "").join(""), expected);
    assert.equal(new Set(frames.map((f) => f.id)).size, 1);
    assert.ok(
      frames.every((f) => f.model === "remote"),
      "the front's model name, not the upstream's",
    );
  });

  it("a streamed request the client abandons is still charged to its key's token limit", async () => {
    const controller = new AbortController();
    const res = await postChat(
      front.url,
      { model: "default", messages: [{ role: "user", content: "Tell me a long story about the sea. ".repeat(12) }], max_tokens: 200, logit_bias: NO_EOS, stream: true },
      { authorization: `Bearer ${METERED}` },
      controller.signal,
    );
    assert.equal(res.status, 200);
    const reader = res.body?.getReader();
    await reader?.read(); // the first chunk, then leave
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const next = await chat(METERED, { model: "default" });
    assert.equal(next.status, 429, "the abandoned request's 100+ prompt tokens were charged");
    assert.ok(next.headers.get("retry-after"));
  });
});
