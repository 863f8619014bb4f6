import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import { ensureRealTokenizerTestModel } from "../../src/testing/real-tokenizer-model.ts";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { startServer } from "../../src/server.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

/**
 * `--draft-model`: a second GGUF of the same vocabulary drafts for the model. The test model drafts
 * for itself here (a random-weight model agrees with nobody else), so its greedy drafts are right
 * and the policy keeps sending them; whatever it drafts, the output must be the model's own.
 */
describe("--draft-model", () => {
  let plain: TestServer;
  let drafted: TestServer;
  let model: string;
  before(async () => {
    model = await ensureTestModel();
    const flags = ["--model", model, "--model-alias", MODEL, "--parallel", "2", "--ctx-size", "1024"];
    plain = await startTestServer(flags);
    drafted = await startTestServer([...flags, "--draft-model", model]);
  });
  after(async () => {
    await plain?.close();
    await drafted?.close();
  });

  const metric = async (t: TestServer, name: string) => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return Number(line?.split(" ")[1] ?? Number.NaN);
  };
  const ask = (t: TestServer, extra: Record<string, unknown> = {}) =>
    t.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Tell me about the sea." }],
      max_tokens: 80,
      temperature: 0,
      logit_bias: NO_EOS,
      ...extra,
    } as never) as Promise<OpenAI.ChatCompletion>;

  it("greedy outputs are the model's own, and drafted tokens are kept (metrics)", async () => {
    const before = await metric(drafted, "parley_draft_accepted_tokens_total");
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([ask(plain, { seed: i }), ask(drafted, { seed: i })]);
      assert.equal(b.choices[0]?.message.content, a.choices[0]?.message.content);
      assert.deepEqual(b.usage, a.usage);
    }
    const accepted = (await metric(drafted, "parley_draft_accepted_tokens_total")) - before;
    assert.ok(accepted > 0, `no drafted token was kept (${accepted})`);
  });

  it("two requests at once (drafting steps aside) and a sampled one stay valid", async () => {
    const [a, b] = await Promise.all([ask(drafted), ask(drafted)]);
    const reference = await ask(plain);
    assert.equal(a.choices[0]?.message.content, reference.choices[0]?.message.content);
    assert.equal(b.choices[0]?.message.content, reference.choices[0]?.message.content);
    // The client's seed: drafting steps aside, so the seed gives exactly the output it gives without a draft model.
    const seeded = await ask(drafted, { temperature: 1, seed: 7 });
    assert.equal(seeded.choices[0]?.message.content, (await ask(plain, { temperature: 1, seed: 7 })).choices[0]?.message.content);
    const sampled = await ask(drafted, { temperature: 1 });
    assert.equal(sampled.usage?.completion_tokens, 80);
  });

  it("a draft model of another vocabulary fails the load, naming it", async () => {
    const other = await ensureRealTokenizerTestModel("qwen3");
    const { config } = loadServeConfig(["--port", "0", "--threads", "1", "--log-level", "silent", "--responses-store", "off", "--model", model, "--draft-model", other], {});
    const server = await startServer(config);
    try {
      await assert.rejects(server.ready, /--draft-model .* cannot draft for this model/);
    } finally {
      await server.close();
    }
  });
});
