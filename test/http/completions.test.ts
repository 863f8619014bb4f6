/**
 * `POST /v1/completions` (legacy text completions) end to end, with the `openai` SDK as client
 * and raw HTTP where the stream itself is the point. Properties that hold whatever the model
 * says: OpenAI's default of 16 tokens, exact usage (prompt tokens as `/tokenize` counts them),
 * stream = non-stream under one seed, choices numbered prompt by prompt, echo and the legacy
 * log-probability shape, token-id prompts equal to their text, and fill-in-the-middle only on a
 * model with FIM tokens.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Completion } from "openai/resources/completions";
import { ensureRealTokenizerTestModel } from "../../src/testing/real-tokenizer-model.ts";
import { MODEL, NO_EOS, parseSse, startTestServer, type TestServer } from "../support/server.ts";

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function tokenize(url: string, content: string, addSpecial: boolean): Promise<number[]> {
  const res = await fetch(`${url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content, add_special: addSpecial }) });
  return ((await res.json()) as { tokens: number[] }).tokens;
}

/** A stream's chunks folded: text and finish reason per choice, and the usage chunk. */
function fold(chunks: Completion[]): { texts: Map<number, string>; finish: Map<number, string | null>; usage: Completion["usage"] } {
  const texts = new Map<number, string>();
  const finish = new Map<number, string | null>();
  let usage: Completion["usage"];
  for (const chunk of chunks) {
    assert.equal(chunk.object, "text_completion");
    for (const c of chunk.choices) {
      texts.set(c.index, (texts.get(c.index) ?? "") + c.text);
      if (c.finish_reason !== null) finish.set(c.index, c.finish_reason);
    }
    if (chunk.usage != null) usage = chunk.usage;
  }
  return { texts, finish, usage };
}

describe("POST /v1/completions", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "4"]);
  });
  after(async () => {
    await t.close();
  });

  it("answers a text_completion with OpenAI's default of 16 tokens and exact usage", async () => {
    const prompt = "Once upon a time";
    const res = await t.client.completions.create({ model: MODEL, prompt, logit_bias: NO_EOS, seed: 3 });
    assert.match(res.id, /^cmpl-/);
    assert.equal(res.object, "text_completion");
    assert.equal(res.choices.length, 1);
    const [choice] = res.choices;
    assert.equal(choice?.index, 0);
    assert.equal(choice?.finish_reason, "length");
    assert.equal(choice?.logprobs, null);
    assert.equal(res.usage?.completion_tokens, 16);
    assert.equal(res.usage?.prompt_tokens, (await tokenize(t.url, prompt, true)).length);
    assert.equal(res.usage?.total_tokens, (res.usage?.prompt_tokens ?? 0) + 16);
  });

  it("streams the same text as it answers whole, under one seed, ending with [DONE]", async () => {
    const body = { model: MODEL, prompt: "The weather", max_tokens: 12, n: 2, seed: 11, temperature: 1 };
    const whole = (await (await post(t.url, body)).json()) as Completion;
    const res = await post(t.url, { ...body, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const frames = parseSse(await res.text());
    assert.equal(frames.at(-1), "[DONE]");
    const streamed = fold(frames.slice(0, -1).map((f) => JSON.parse(f) as Completion));
    for (const choice of whole.choices) {
      assert.equal(streamed.texts.get(choice.index), choice.text);
      assert.equal(streamed.finish.get(choice.index), choice.finish_reason);
    }
    // The second request may reuse the first's cached prompt: only cached_tokens may differ.
    assert.equal(streamed.usage?.prompt_tokens, whole.usage?.prompt_tokens);
    assert.equal(streamed.usage?.completion_tokens, whole.usage?.completion_tokens);
  });

  it("numbers the choices of a list of prompts prompt by prompt and sums their usage", async () => {
    const prompts = ["Alpha beta", "A much longer prompt, with more words in it"];
    const res = await t.client.completions.create({ model: MODEL, prompt: prompts, n: 2, max_tokens: 4, logit_bias: NO_EOS, seed: 1 });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2, 3],
    );
    const counts = await Promise.all(prompts.map(async (p) => (await tokenize(t.url, p, true)).length));
    assert.equal(res.usage?.prompt_tokens, (counts[0] ?? 0) + (counts[1] ?? 0));
    assert.equal(res.usage?.completion_tokens, 16);
    // Each prompt's choices follow from its own prompt: the second prompt alone gives its choices.
    const alone = await t.client.completions.create({ model: MODEL, prompt: prompts[1] as string, n: 2, max_tokens: 4, logit_bias: NO_EOS, seed: 1, temperature: 0 });
    const batch = await t.client.completions.create({ model: MODEL, prompt: prompts, n: 2, max_tokens: 4, logit_bias: NO_EOS, seed: 1, temperature: 0 });
    assert.deepEqual(
      batch.choices.slice(2).map((c) => c.text),
      alone.choices.map((c) => c.text),
    );
  });

  it("treats a token-id prompt as the text it encodes", async () => {
    const text = "Token ids, please";
    const ids = await tokenize(t.url, text, true);
    const body = { model: MODEL, max_tokens: 8, temperature: 0, logit_bias: NO_EOS };
    const fromText = await t.client.completions.create({ ...body, prompt: text });
    const fromIds = await t.client.completions.create({ ...body, prompt: ids });
    assert.equal(fromIds.choices[0]?.text, fromText.choices[0]?.text);
    assert.equal(fromIds.usage?.prompt_tokens, ids.length);
    const batch = await t.client.completions.create({ ...body, prompt: [ids, ids] });
    assert.equal(batch.choices.length, 2);
    const bad = await post(t.url, { ...body, prompt: [1, 10_000_000] });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { param: string } }).error.param, "prompt");
    // One refused prompt of a batch refuses the batch, and stops the ones already started.
    const badBatch = await post(t.url, { ...body, max_tokens: 200, prompt: [ids, [1, 10_000_000], ids] });
    assert.equal(badBatch.status, 400);
    const stats = async () => (await (await fetch(`${t.url}/metrics`)).text()).match(/^parley_active_sequences (\d+)/m)?.[1];
    for (let i = 0; i < 50 && (await stats()) !== "0"; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await stats(), "0");
  });

  it("returns legacy logprobs: one entry per token, offsets into the text, the chosen token among the alternatives", async () => {
    const res = await t.client.completions.create({ model: MODEL, prompt: "Count:", max_tokens: 6, logprobs: 2, logit_bias: NO_EOS, seed: 4 });
    const choice = res.choices[0];
    const lp = choice?.logprobs;
    assert.ok(lp?.tokens !== undefined && lp.token_logprobs !== undefined && lp.top_logprobs !== undefined && lp.text_offset !== undefined);
    assert.equal(lp.tokens.length, res.usage?.completion_tokens);
    assert.equal(lp.tokens.join(""), choice?.text);
    lp.tokens.forEach((token, i) => {
      const top = lp.top_logprobs?.[i] as Record<string, number>;
      assert.ok(Object.keys(top).length <= 3 && token in top, `token ${i} among its alternatives`);
      assert.ok((lp.token_logprobs?.[i] ?? 1) <= 0);
      assert.equal(lp.text_offset?.[i], lp.tokens?.slice(0, i).join("").length);
    });
  });

  it("echoes the prompt, with its tokens' log-probabilities first (BOS, which the text does not hold, left out)", async () => {
    const prompt = "Echo this";
    const res = await t.client.completions.create({ model: MODEL, prompt, max_tokens: 3, echo: true, logprobs: 1, logit_bias: NO_EOS, temperature: 0 });
    const choice = res.choices[0];
    assert.ok(choice?.text.startsWith(prompt));
    const lp = choice?.logprobs;
    assert.equal(lp?.tokens?.join(""), choice?.text);
    assert.equal(lp?.tokens?.length, (await tokenize(t.url, prompt, false)).length + 3);
    // The test model adds BOS: the prompt's first token is predicted from it, so it has a logprob.
    assert.ok((await tokenize(t.url, prompt, true)).length > (await tokenize(t.url, prompt, false)).length);
    assert.ok(lp?.token_logprobs?.every((v) => typeof v === "number" && v <= 0));
    const plain = await t.client.completions.create({ model: MODEL, prompt, max_tokens: 3, echo: true, logit_bias: NO_EOS, temperature: 0 });
    assert.equal(plain.choices[0]?.text, choice?.text);
  });

  it("enforces constraints and best_of as chat does", async () => {
    const res = await t.client.completions.create({ model: MODEL, prompt: "Pick:", max_tokens: 10, n: 1, ...({ guided_choice: ["red", "green"] } as object) });
    assert.ok(["red", "green"].includes(res.choices[0]?.text ?? ""));
    const best = await t.client.completions.create({ model: MODEL, prompt: "Best", max_tokens: 4, n: 1, best_of: 3, logit_bias: NO_EOS, seed: 9 });
    assert.equal(best.choices.length, 1);
  });

  it("refuses what it cannot do, naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ model: MODEL, prompt: "x", suffix: "y" }, "suffix"],
      [{ model: MODEL, messages: [{ role: "user", content: "x" }], prompt: "x" }, "messages"],
      [{ model: MODEL }, "prompt"],
      [{ model: MODEL, prompt: "x", best_of: 2, stream: true }, "best_of"],
      [{ model: MODEL, prompt: "x", logprobs: true }, "logprobs"],
    ];
    for (const [body, param] of cases) {
      const res = await post(t.url, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { error: { param: string } }).error.param, param, JSON.stringify(body));
    }
  });
});

describe("POST /v1/completions: fill-in-the-middle on a model with FIM tokens", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--model", await ensureRealTokenizerTestModel("qwen3"), "--model-alias", "qwen3-test"]);
  });
  after(async () => {
    await t.close();
  });

  it("lays the prompt out as <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>", async () => {
    const prefix = "def add(a, b):\n    ";
    const suffix = "\n    return c\n";
    const res = await t.client.completions.create({ model: "qwen3-test", prompt: prefix, suffix, max_tokens: 5, temperature: 0 });
    const expected = await tokenize(t.url, `<|fim_prefix|>${prefix}<|fim_suffix|>${suffix}<|fim_middle|>`, true);
    assert.equal(res.usage?.prompt_tokens, expected.length);
    assert.equal(res.choices.length, 1);
  });
});
