import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeTestModel } from "../../src/testing/test-model.ts";
import { scrapeMetrics } from "../support/metrics.ts";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

/**
 * The prompt cache beyond the slots (`--prompt-cache-ram`, `--prompt-cache-dir`): with one slot,
 * conversation A, then B (which takes A's slot), then A again: A's state was saved before B
 * overwrote it and is restored, so A's prompt is not evaluated again, and the answer is the one a
 * server without the cache gives.
 */

/** A user message of about 280 tokens, distinct per `seed`. */
const words = (seed: string) => Array.from({ length: 40 }, (_, i) => `${seed}${i}`).join(" ");
const SLOT = ["--parallel", "1", "--ctx-size", "1024"];

interface Answer {
  readonly text: string;
  readonly promptTokens: number;
  readonly cached: number;
}

async function ask(t: TestServer, seed: string, extra: { prompt_cache_key?: string; model?: string } = {}): Promise<Answer> {
  const response = await t.client.chat.completions.create({
    model: extra.model ?? MODEL,
    messages: [{ role: "user", content: words(seed) }],
    max_tokens: 12,
    temperature: 0,
    seed: 7,
    logit_bias: NO_EOS,
    ...(extra.prompt_cache_key === undefined ? {} : { prompt_cache_key: extra.prompt_cache_key }),
  });
  return { text: response.choices[0]?.message.content ?? "", promptTokens: response.usage?.prompt_tokens ?? 0, cached: response.usage?.prompt_tokens_details?.cached_tokens ?? -1 };
}

/** A prompt that shares only the chat template's opening with others: its cached tokens stay below this. */
const UNRELATED = 16;

describe("prompt cache: a returning conversation whose slot was reused", () => {
  let cached: TestServer;
  let plain: TestServer;
  before(async () => {
    [cached, plain] = await Promise.all([startTestServer(SLOT), startTestServer([...SLOT, "--prompt-cache-ram", "0"])]);
  });
  after(() => Promise.all([cached.close(), plain.close()]));

  it("is restored (cached_tokens), and answers exactly as without the cache", async () => {
    const first = await ask(cached, "alpha");
    assert.ok(first.promptTokens > 200, `prompt_tokens ${first.promptTokens}`);
    const other = await ask(cached, "beta");
    assert.ok(other.cached < UNRELATED, `beta cached ${other.cached}`);
    const again = await ask(cached, "alpha");
    assert.equal(again.promptTokens, first.promptTokens);
    assert.ok(again.cached > 0 && again.cached <= again.promptTokens, `cached ${again.cached} of ${again.promptTokens}`);
    // The whole prompt was saved (the last token is always evaluated again).
    assert.equal(again.cached, again.promptTokens - 1);

    // The same requests on a server without the cache: A is evaluated again, with the same answer.
    const plainFirst = await ask(plain, "alpha");
    await ask(plain, "beta");
    const plainAgain = await ask(plain, "alpha");
    assert.ok(plainAgain.cached < UNRELATED, `without the cache, cached ${plainAgain.cached}`);
    assert.equal(again.text, plainAgain.text);
    assert.equal(first.text, plainFirst.text);
    assert.equal(again.text, first.text);

    const metrics = await scrapeMetrics(cached.url);
    assert.ok((metrics.get("parley_prompt_cache_hits_total") ?? 0) >= 1);
    assert.ok((metrics.get("parley_prompt_cache_restored_tokens_total") ?? 0) >= again.cached);
    assert.ok((metrics.get("parley_prompt_cache_entries") ?? 0) >= 1);
    assert.ok((metrics.get("parley_prompt_cache_bytes") ?? 0) > 0);
    const off = await scrapeMetrics(plain.url);
    assert.equal(off.get("parley_prompt_cache_entries"), 0);
    assert.equal(off.get("parley_prompt_cache_hits_total"), 0);
  });

  it("restores a conversation that grew: the earlier turn's tokens are reused", async () => {
    const history = words("gamma");
    const turn = (messages: { role: "user" | "assistant"; content: string }[]) => cached.client.chat.completions.create({ model: MODEL, messages, max_tokens: 8, temperature: 0, logit_bias: NO_EOS });
    const one = await turn([{ role: "user", content: history }]);
    await ask(cached, "delta"); // takes the slot
    const reply = one.choices[0]?.message.content ?? "";
    const two = await turn([
      { role: "user", content: history },
      { role: "assistant", content: reply },
      { role: "user", content: "and then?" },
    ]);
    const cachedTokens = two.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    assert.ok(cachedTokens >= (one.usage?.prompt_tokens ?? 0) - 1, `cached ${cachedTokens}`);
    assert.ok(cachedTokens < (two.usage?.prompt_tokens ?? 0));
  });
});

/** Bytes one saved state of a `words()` conversation takes, measured on a server of its own. */
async function stateBytes(): Promise<number> {
  const t = await startTestServer(SLOT);
  try {
    // Seeds of the same length as the ones below, so states of the same size.
    await ask(t, "p1");
    await ask(t, "p2");
    const bytes = (await scrapeMetrics(t.url)).get("parley_prompt_cache_bytes") ?? 0;
    assert.ok(bytes > 0);
    return bytes;
  } finally {
    await t.close();
  }
}

describe("prompt cache: the RAM budget", () => {
  let t: TestServer;
  before(async () => {
    // Room for two states, not three.
    const bytes = await stateBytes();
    t = await startTestServer([...SLOT, "--prompt-cache-ram", String(Math.floor(bytes * 2.5))]);
  });
  after(() => t.close());

  it("evicts the least recently used states", async () => {
    for (const seed of ["c1", "c2", "c3", "c4"]) await ask(t, seed);
    // Saved: c1, c2, c3 (c4 is in the slot); the budget keeps c2 and c3.
    const c3 = await ask(t, "c3");
    assert.equal(c3.cached, c3.promptTokens - 1, "c3 was kept");
    const c1 = await ask(t, "c1");
    assert.ok(c1.cached < UNRELATED, `c1 was evicted, yet cached ${c1.cached}`);
    const metrics = await scrapeMetrics(t.url);
    assert.ok((metrics.get("parley_prompt_cache_evictions_total") ?? 0) >= 1);
    assert.ok((metrics.get("parley_prompt_cache_entries") ?? 0) <= 2);
    assert.ok((metrics.get("parley_prompt_cache_misses_total") ?? 0) >= 1);
  });

  it("keeps a prompt_cache_key's state longest", async () => {
    await ask(t, "k1", { prompt_cache_key: "conversation-1" });
    // Four anonymous conversations push out all but two states: the keyed one stays.
    for (const seed of ["x1", "x2", "x3", "x4"]) await ask(t, seed);
    const keyed = await ask(t, "k1", { prompt_cache_key: "conversation-1" });
    assert.equal(keyed.cached, keyed.promptTokens - 1, "the keyed state was kept");
    // Without a key, the oldest anonymous one is gone.
    const x1 = await ask(t, "x1");
    assert.ok(x1.cached < UNRELATED, `x1 cached ${x1.cached}`);
  });
});

describe("prompt cache: --prompt-cache-dir", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-prompt-cache-test-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("survives a restart for the same model and context, and is ignored for another model or context size", async () => {
    const flags = [...SLOT, "--prompt-cache-dir", dir];
    const first = await startTestServer(flags);
    const original = await ask(first, "epsilon");
    await ask(first, "zeta"); // saves epsilon (to RAM, copied to the folder)
    await first.close();

    const second = await startTestServer(flags);
    try {
      assert.ok(((await scrapeMetrics(second.url)).get("parley_prompt_cache_disk_entries") ?? 0) >= 1);
      const restored = await ask(second, "epsilon");
      assert.equal(restored.cached, restored.promptTokens - 1);
      assert.equal(restored.text, original.text);
    } finally {
      await second.close();
    }

    // With no RAM tier, states are read from and written to the folder directly.
    const diskOnly = await startTestServer([...flags, "--prompt-cache-ram", "0"]);
    try {
      const epsilon = await ask(diskOnly, "epsilon");
      assert.equal(epsilon.cached, epsilon.promptTokens - 1);
      assert.equal(epsilon.text, original.text);
      const eta = await ask(diskOnly, "eta");
      await ask(diskOnly, "theta");
      const etaAgain = await ask(diskOnly, "eta");
      assert.equal(etaAgain.cached, etaAgain.promptTokens - 1);
      assert.equal(etaAgain.text, eta.text);
      const metrics = await scrapeMetrics(diskOnly.url);
      assert.equal(metrics.get("parley_prompt_cache_entries"), 0);
      assert.ok((metrics.get("parley_prompt_cache_disk_entries") ?? 0) >= 2);
    } finally {
      await diskOnly.close();
    }

    const otherContext = await startTestServer([...SLOT.slice(0, 2), "--ctx-size", "768", "--prompt-cache-dir", dir]);
    try {
      assert.equal((await scrapeMetrics(otherContext.url)).get("parley_prompt_cache_disk_entries"), 0);
      assert.ok((await ask(otherContext, "epsilon")).cached < UNRELATED);
    } finally {
      await otherContext.close();
    }

    // Another model (same shape and tokenizer, other weights): its states are its own.
    const modelPath = join(dir, "other-weights.gguf");
    await writeTestModel(modelPath, { seed: 2 });
    const otherModel = await startTestServer(["--model", modelPath, ...flags]);
    try {
      assert.equal((await scrapeMetrics(otherModel.url)).get("parley_prompt_cache_disk_entries"), 0);
      assert.ok((await ask(otherModel, "epsilon", { model: "other-weights" })).cached < UNRELATED);
    } finally {
      await otherModel.close();
    }
  });
});
