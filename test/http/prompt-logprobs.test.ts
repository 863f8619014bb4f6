/**
 * vLLM's `prompt_logprobs` and OctoAI's `loglikelihood` over HTTP. The prompt's log-probabilities
 * are checked against values computed separately: the logprobs the same model reported while
 * generating the same tokens.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion, ChatCompletionTokenLogprob } from "openai/resources/chat/completions";
import { openReferenceModel } from "../support/reference-model.ts";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

type WithPromptLogprobs = ChatCompletion & { prompt_logprobs?: (ChatCompletionTokenLogprob | null)[] };

describe("prompt log-probabilities", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const ask = async (extra: Record<string, unknown>): Promise<WithPromptLogprobs> => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 4, logit_bias: NO_EOS, ...extra });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as WithPromptLogprobs;
  };

  it("one entry per prompt token, null first, with the requested alternatives", async () => {
    const out = await ask({ prompt_logprobs: 3 });
    const entries = out.prompt_logprobs ?? [];
    assert.equal(entries.length, out.usage?.prompt_tokens);
    assert.equal(entries[0], null);
    for (const entry of entries.slice(1)) {
      assert.ok(entry !== null && entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 3);
      assert.ok((entry.top_logprobs[0]?.logprob ?? 0) >= entry.logprob - 1e-9 || entry.top_logprobs.some((alt) => alt.token === entry.token));
    }
    assert.equal((await ask({})).prompt_logprobs, undefined, "absent unless asked");
    const likelihood = await ask({ loglikelihood: true });
    assert.deepEqual(
      likelihood.prompt_logprobs?.map((e) => e?.logprob),
      entries.map((e) => e?.logprob),
      "loglikelihood gives the same values",
    );
    assert.ok(likelihood.prompt_logprobs?.every((e) => e === null || e.top_logprobs.length === 0));
  });

  it("equal the model's own log-probabilities, evaluated separately position by position", async () => {
    const text = "The weather today is sunny, and the {{ 'birds' }} sing.";
    const scored = await ask({ chat_template: text, prompt_logprobs: 2, max_tokens: 1 });
    const reference = await openReferenceModel();
    try {
      const tokens = reference.promptTokens("The weather today is sunny, and the birds sing.");
      const entries = scored.prompt_logprobs ?? [];
      assert.equal(entries.length, tokens.length);
      let expectedSum = 0;
      for (let i = 1; i < tokens.length; i++) {
        const probabilities = await reference.nextProbabilities(tokens.slice(0, i));
        const expected = Math.log(probabilities.get(tokens[i] ?? -1) ?? 0);
        expectedSum += expected;
        assert.ok(Math.abs((entries[i]?.logprob ?? NaN) - expected) < 1e-3, `token ${i}: ${entries[i]?.logprob} vs ${expected}`);
        assert.equal(entries[i]?.token, reference.model.detokenize([tokens[i] as never], true));
      }
      const sum = entries.reduce((total, e) => total + (e?.logprob ?? 0), 0);
      assert.ok(Math.abs(sum - expectedSum) < 1e-2, `${sum} vs ${expectedSum}`);
    } finally {
      await reference.close();
    }
  });

  it("streamed in a chunk of their own before the content", async () => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 3, logit_bias: NO_EOS, prompt_logprobs: 1, stream: true });
    const chunks = parseSse(await res.text())
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as { choices: { delta: { content?: string } }[]; prompt_logprobs?: unknown[] });
    const at = chunks.findIndex((c) => c.prompt_logprobs !== undefined);
    assert.ok(at !== -1);
    assert.equal(chunks[at]?.choices.length, 0);
    assert.ok(
      chunks.slice(0, at).every((c) => (c.choices[0]?.delta.content ?? "") === ""),
      "before any text",
    );
  });

  it("come before any text with n > 1, even when the other choices hit the cache", async () => {
    const body = { model: MODEL, messages: [{ role: "user", content: "A long and winding question about the weather. ".repeat(20) }], max_tokens: 3, logit_bias: NO_EOS, n: 3 };
    await postChat(t.url, body); // caches the prompt in the slots
    const res = await postChat(t.url, { ...body, prompt_logprobs: 0, stream: true, echo: true });
    const frames = parseSse(await res.text())
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as { choices: { delta: { content?: string } }[]; prompt_logprobs?: unknown[] });
    const at = frames.findIndex((f) => f.prompt_logprobs !== undefined);
    const firstText = frames.findIndex((f) => (f.choices[0]?.delta.content ?? "") !== "");
    assert.ok(at !== -1 && firstText > at, `prompt_logprobs at ${at}, first text at ${firstText}`);
  });

  it("prompt_logprobs out of range is a 400", async () => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Hi" }], prompt_logprobs: 21 });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, "prompt_logprobs");
  });
});
