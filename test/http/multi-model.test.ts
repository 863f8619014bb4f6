/**
 * Several local models from one config file: each id (and alias) is served by its own model.
 * Two test models that differ only in their weights' seed answer the same greedy request
 * differently; an alias answers exactly like its target; `/v1/models` lists ids, then aliases.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { NO_EOS, postChat } from "../support/server.ts";

describe("multiple local models from --config", () => {
  let dir: string;
  let server: RunningServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-multi-"));
    const alpha = await ensureTestModel();
    const beta = await ensureTestModel({ model: { seed: 2 } });
    const config = `
server:
  logLevel: warn
models:
  - id: alpha
    aliases: [default]
    local: { path: ${JSON.stringify(alpha)}, parallel: 1 }
  - id: beta
    local: { path: ${JSON.stringify(beta)}, ctxSize: 256 }
`;
    await writeFile(join(dir, "parley.yaml"), config);
    const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1", "--ctx-size", "512", "--parallel", "2"], {});
    server = await startServer(serve.config, serve.file);
    await server.ready;
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function complete(model: string): Promise<{ model: string; content: string }> {
    const response = await postChat(server.url, {
      model,
      messages: [{ role: "user", content: "Tell me a story" }],
      max_tokens: 12,
      temperature: 0,
      logit_bias: NO_EOS,
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { model: string; choices: { message: { content: string } }[] };
    return { model: body.model, content: body.choices[0]?.message.content ?? "" };
  }

  it("serves each id with its own model, and the alias with its target", async () => {
    const alpha = await complete("alpha");
    const beta = await complete("beta");
    const alias = await complete("default");
    assert.notEqual(alpha.content, beta.content);
    assert.equal(alias.content, alpha.content);
    assert.equal(alias.model, "default"); // the response echoes the name the client sent
  });

  it("lists ids, then aliases, in /v1/models; each resolves at /v1/models/{id}", async () => {
    const list = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["alpha", "beta", "default"],
    );
    const one = (await (await fetch(`${server.url}/v1/models/default`)).json()) as { id: string };
    assert.equal(one.id, "default");
    assert.equal((await fetch(`${server.url}/v1/models/gamma`)).status, 404);
  });

  it("applies per-model settings over the flags' defaults", async () => {
    const stats = server.router.stats();
    assert.equal(stats.slots, 1 + 2); // alpha: parallel 1 from the file; beta: --parallel 2
    // A prompt of about 380 tokens: too long for beta's 256 (the file), fits alpha's 512 (the flag).
    const probe = await postChat(server.url, { model: "alpha", messages: [{ role: "user", content: "word ".repeat(40) }], max_tokens: 1 });
    const perWord = ((await probe.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens / 40;
    const content = "word ".repeat(Math.round(380 / perWord));
    const long = await postChat(server.url, { model: "beta", messages: [{ role: "user", content }], max_tokens: 1 });
    assert.equal(long.status, 400);
    const fits = await postChat(server.url, { model: "alpha", messages: [{ role: "user", content }], max_tokens: 1 });
    assert.equal(fits.status, 200, await fits.text());
  });

  it("answers 404 for an unknown model", async () => {
    const response = await postChat(server.url, { model: "gamma", messages: [{ role: "user", content: "hi" }] });
    assert.equal(response.status, 404);
  });
});
