import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

describe("sampling controls", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const messages = [{ role: "user" as const, content: "Once upon a time" }];
  const complete = (extra: Record<string, unknown>) =>
    t.client.chat.completions.create({ model: MODEL, messages, max_tokens: 16, logit_bias: NO_EOS, ...extra } as never) as Promise<{
      choices: {
        message: { content: string };
        finish_reason: string;
        logprobs: { content: { token: string; logprob: number; bytes: number[]; top_logprobs: { token: string; logprob: number }[] }[] } | null;
      }[];
      usage: { completion_tokens: number };
    }>;

  it("same seed, same request ⇒ identical output; different seeds differ", async () => {
    const a = await complete({ temperature: 1.5, seed: 1234 });
    const b = await complete({ temperature: 1.5, seed: 1234 });
    const c = await complete({ temperature: 1.5, seed: 99 });
    assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
    assert.notEqual(a.choices[0]?.message.content, c.choices[0]?.message.content);
  });

  it("without a seed, concurrent requests do not share one", async () => {
    const outs = await Promise.all([1, 2, 3, 4].map(() => complete({ temperature: 1.5 })));
    const texts = new Set(outs.map((o) => o.choices[0]?.message.content));
    assert.ok(texts.size > 1, "four unseeded samples at temperature 1.5 were identical");
  });

  it("temperature 0 is greedy and repeatable", async () => {
    const a = await complete({ temperature: 0 });
    const b = await complete({ temperature: 0, seed: 7 });
    assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
  });

  it("n choices are independent samples", async () => {
    const res = await complete({ n: 4, temperature: 1.5, seed: 3 });
    assert.equal(res.choices.length, 4);
    assert.deepEqual(
      res.choices.map((c) => (c as unknown as { index: number }).index),
      [0, 1, 2, 3],
    );
    assert.ok(new Set(res.choices.map((c) => c.message.content)).size > 1);
    assert.equal(res.usage.completion_tokens, 4 * 16);
  });

  it("+100 logit_bias forces a token; −100 bans one", async () => {
    // Token 300 is an ordinary BPE token of the test vocabulary.
    const forced = await complete({ temperature: 1, seed: 1, logprobs: true, logit_bias: { ...NO_EOS, 300: 100 } });
    const entries = forced.choices[0]?.logprobs?.content ?? [];
    assert.equal(entries.length, 16);
    assert.equal(new Set(entries.map((e) => e.token)).size, 1);

    const greedy = await complete({ temperature: 0, logprobs: true, max_tokens: 1 });
    const top = greedy.choices[0]?.logprobs?.content[0]?.token;
    assert.ok(top !== undefined);
    const banned = await complete({ temperature: 0, logprobs: true, top_logprobs: 5, max_tokens: 1, logit_bias: { ...NO_EOS, [await tokenId(top)]: -100 } });
    const entry = banned.choices[0]?.logprobs?.content[0];
    assert.notEqual(entry?.token, top);
    assert.equal(
      entry?.top_logprobs.some((alt) => alt.token === top),
      false,
    );
  });

  it("logprobs are consistent: ≤ 0, sorted alternatives, greedy picks the top one", async () => {
    const res = await complete({ temperature: 0, logprobs: true, top_logprobs: 5 });
    const entries = res.choices[0]?.logprobs?.content ?? [];
    assert.equal(entries.length, res.usage.completion_tokens);
    for (const entry of entries) {
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 5);
      for (let i = 1; i < entry.top_logprobs.length; i++) {
        assert.ok((entry.top_logprobs[i - 1]?.logprob ?? 0) >= (entry.top_logprobs[i]?.logprob ?? 0));
      }
      assert.equal(entry.top_logprobs[0]?.token, entry.token);
      assert.ok(Math.abs((entry.top_logprobs[0]?.logprob ?? 0) - entry.logprob) < 1e-6);
      const mass = entry.top_logprobs.reduce((sum, alt) => sum + Math.exp(alt.logprob), 0);
      assert.ok(mass <= 1 + 1e-6);
      assert.deepEqual(Buffer.from(entry.bytes).toString("utf8").length > 0 || entry.bytes.length === 0, true);
    }
    assert.equal(entries.map((e) => Buffer.from(e.bytes).toString("latin1")).join("").length > 0, true);
  });

  it("logprobs do not depend on the sampling temperature", async () => {
    const at = async (temperature: number) => {
      const res = await complete({ temperature, seed: 5, logprobs: true, top_logprobs: 3, max_tokens: 1 });
      return res.choices[0]?.logprobs?.content[0]?.top_logprobs ?? [];
    };
    const cold = await at(0);
    const others = [await at(0.02), await at(0.3), await at(0.7), await at(1.8)];
    for (const other of others) {
      assert.deepEqual(
        other.map((a) => a.token),
        cold.map((a) => a.token),
      );
      other.forEach((alt, i) => assert.ok(Math.abs(alt.logprob - (cold[i]?.logprob ?? 0)) < 1e-3));
    }
  });

  it("logprobs are taken before top-p truncation, and top-p still truncates", async () => {
    const first = async (top_p: number) => {
      const res = await complete({ temperature: 1, seed: 9, top_p, logprobs: true, top_logprobs: 5, max_tokens: 1 });
      return res.choices[0]?.logprobs?.content[0];
    };
    const full = await first(1);
    const nucleus = await first(0.3);
    assert.deepEqual(
      nucleus?.top_logprobs.map((a) => a.token),
      full?.top_logprobs.map((a) => a.token),
    );
    nucleus?.top_logprobs.forEach((alt, i) => assert.ok(Math.abs(alt.logprob - (full?.top_logprobs[i]?.logprob ?? 0)) < 1e-6));

    // A tiny nucleus keeps only the most likely token: sampling becomes greedy, yet its logprob is
    // the model's (below 0), not the 0 a renormalised single candidate would give.
    const res = await complete({ temperature: 1.5, seed: 4, top_p: 1e-6, logprobs: true, top_logprobs: 1 });
    for (const entry of res.choices[0]?.logprobs?.content ?? []) {
      assert.equal(entry.token, entry.top_logprobs[0]?.token);
      assert.ok(entry.logprob < 0);
    }
    const again = await complete({ temperature: 1.5, seed: 4, top_p: 1e-6 });
    assert.equal(again.choices[0]?.message.content, res.choices[0]?.message.content);
  });

  it("frequency and presence penalties push back a repeated token", async () => {
    // A +20 bias makes token 300 the greedy choice every time; penalties that grow with each
    // occurrence must eventually let other tokens through.
    const count = async (extra: Record<string, unknown>) => {
      const res = await complete({ temperature: 0, logprobs: true, logit_bias: { ...NO_EOS, 300: 20 }, ...extra });
      const entries = res.choices[0]?.logprobs?.content ?? [];
      const first = entries[0]?.token;
      return entries.filter((e) => e.token === first).length;
    };
    assert.equal(await count({}), 16);
    assert.ok((await count({ frequency_penalty: 2 })) < 16);
    assert.ok((await count({ presence_penalty: 2, frequency_penalty: 1 })) < 16);
  });

  /** Finds a token id by greedy probing with +100 bias: the id whose forced output is `text`. */
  async function tokenId(text: string): Promise<number> {
    for (let id = 0; id < 2048; id += 1) {
      const res = await complete({ temperature: 0, max_tokens: 1, logprobs: true, logit_bias: { ...NO_EOS, [id]: 100 } });
      if (res.choices[0]?.logprobs?.content[0]?.token === text) return id;
    }
    throw new Error(`no token for ${text}`);
  }
});
