import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

/**
 * OpenAI's Predicted Outputs (`prediction`) and prompt-lookup drafting (`--draft-ngram`) on the
 * random-weight test model: speculative decoding must never change a greedy output, and the
 * prediction's counts must be plausible whatever the model says.
 */
const messages = [{ role: "user" as const, content: "Rewrite this text with small changes, please." }];
type Usage = OpenAI.CompletionUsage;

describe("prediction (Predicted Outputs)", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "4", "--ctx-size", "1024"]);
  });
  after(() => t.close());

  const ask = (extra: Record<string, unknown> = {}) =>
    t.client.chat.completions.create({ model: MODEL, messages, max_tokens: 60, temperature: 0, logit_bias: NO_EOS, ...extra } as never) as Promise<OpenAI.ChatCompletion>;
  const predicted = (content: string | { type: "text"; text: string }[]) => ({ prediction: { type: "content", content } });
  const details = (usage: Usage | undefined) => usage?.completion_tokens_details ?? {};

  it("greedy output is byte-identical with an exact, a wrong and an edited prediction, and the counts are plausible", async () => {
    const base = await ask();
    const text = base.choices[0]?.message.content ?? "";
    assert.ok(text.length > 0);
    assert.equal(base.usage?.completion_tokens_details?.accepted_prediction_tokens, undefined, "no prediction, no prediction counts");

    const exact = await ask(predicted(text));
    assert.equal(exact.choices[0]?.message.content, text);
    const completion = exact.usage?.completion_tokens ?? 0;
    const { accepted_prediction_tokens: accepted = -1, rejected_prediction_tokens: rejected = -1 } = details(exact.usage);
    assert.ok(accepted >= 0 && rejected >= 0, JSON.stringify(exact.usage));
    assert.ok(accepted <= completion, `accepted ${accepted} > completion ${completion}`);
    // How much is drafted follows measured step times (draft-policy.ts), so only the bounds hold here;
    // test/unit/speculative-steps.test.ts checks whole drafts are kept, with costs fixed.

    const wrong = await ask(predicted("Zebra quantum marmalade. ".repeat(8)));
    assert.equal(wrong.choices[0]?.message.content, text);
    assert.ok((details(wrong.usage).accepted_prediction_tokens ?? 99) <= 2, JSON.stringify(wrong.usage));

    const edited = `${text.slice(0, 40)} SOMETHING INSERTED ${text.slice(40, 120)}${text.slice(140)}`;
    const fromEdit = await ask(
      predicted([
        { type: "text", text: edited.slice(0, 50) },
        { type: "text", text: edited.slice(50) },
      ]),
    );
    assert.equal(fromEdit.choices[0]?.message.content, text);
    const acceptedEdit = details(fromEdit.usage).accepted_prediction_tokens ?? 0;
    assert.ok(acceptedEdit >= 0 && acceptedEdit <= completion, `edited prediction: ${JSON.stringify(fromEdit.usage)}`);
  });

  it("streaming reports the same usage, prediction counts included, and the same text", async () => {
    const base = await ask();
    const text = base.choices[0]?.message.content ?? "";
    const body = { model: MODEL, messages, max_tokens: 60, temperature: 0, logit_bias: NO_EOS, ...predicted(text) };
    const whole = await ask(predicted(text));
    const stream = await t.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as never);
    let streamed = "";
    let usage: Usage | undefined;
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      streamed += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(streamed, text);
    // How much is drafted per step follows measured step times (draft-policy.ts): the counts may differ, the rest may not.
    const withoutCounts = (u: Usage | undefined) => ({ ...u, completion_tokens_details: undefined });
    assert.deepEqual(withoutCounts(usage), withoutCounts(whole.usage));
    for (const u of [usage, whole.usage]) assert.ok((details(u).accepted_prediction_tokens ?? -1) >= 0 && (details(u).rejected_prediction_tokens ?? -1) >= 0, JSON.stringify(u));
  });

  it("requests running together stay byte-identical (drafting steps aside while the batch is shared)", async () => {
    const base = await ask();
    const text = base.choices[0]?.message.content ?? "";
    const results = await Promise.all([ask(predicted(text)), ask(predicted(text)), ask(), ask(predicted(text.slice(10)))]);
    for (const r of results) assert.equal(r.choices[0]?.message.content, text);
  });

  it("sampled with the client's seed: drafting steps aside, so the seed gives exactly its output", async () => {
    const base = await ask({ temperature: 1, seed: 42 });
    const text = base.choices[0]?.message.content ?? "";
    const again = await ask({ temperature: 1, seed: 42, ...predicted(text) });
    assert.equal(again.choices[0]?.message.content, text);
    assert.deepEqual(details(again.usage), { accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 });
  });

  it("sampled without a seed: drafting runs, the output is valid", async () => {
    const base = await ask({ temperature: 1 });
    const text = base.choices[0]?.message.content ?? "";
    const again = await ask({ temperature: 1, ...predicted(text) });
    assert.equal(again.usage?.completion_tokens, 60);
    const { accepted_prediction_tokens: accepted = -1, rejected_prediction_tokens: rejected = -1 } = details(again.usage);
    assert.ok(accepted >= 0 && rejected >= 0 && accepted <= 60, JSON.stringify(again.usage));
  });

  it("logprobs and penalties turn drafting off, and the output is still the same", async () => {
    const base = await ask({ frequency_penalty: 0.5 });
    const text = base.choices[0]?.message.content ?? "";
    const withPenalty = await ask({ frequency_penalty: 0.5, ...predicted(text) });
    assert.equal(withPenalty.choices[0]?.message.content, text);
    assert.deepEqual(details(withPenalty.usage), { accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 });
    const withLogprobs = await ask({ logprobs: true, ...predicted(text) });
    assert.deepEqual(details(withLogprobs.usage), { accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 });
  });

  it("text completions take a prediction too", async () => {
    const complete = (extra: Record<string, unknown> = {}) =>
      t.client.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 40, temperature: 0, logit_bias: NO_EOS, ...extra } as never) as Promise<OpenAI.Completion>;
    const base = await complete();
    const text = base.choices[0]?.text ?? "";
    const again = await complete(predicted(text));
    assert.equal(again.choices[0]?.text, text);
    assert.ok((again.usage?.completion_tokens_details?.accepted_prediction_tokens ?? -1) >= 0, JSON.stringify(again.usage));
  });

  it("a malformed prediction is a 400 naming it", async () => {
    const res = await postChat(t.url, { model: MODEL, messages, prediction: { type: "audio", content: "x" } });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string } };
    assert.match(body.error.param, /^prediction/);
  });
});

describe("--draft-ngram (prompt lookup)", () => {
  let plain: TestServer;
  let ngram: TestServer;
  before(async () => {
    plain = await startTestServer(["--parallel", "1", "--ctx-size", "1024"]);
    ngram = await startTestServer(["--parallel", "1", "--ctx-size", "1024", "--draft-ngram", "3"]);
  });
  after(async () => {
    await plain.close();
    await ngram.close();
  });

  it("greedy output is byte-identical to decoding without drafting", async () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i % 7}`).join(" ");
    for (const content of [words, "Repeat after me: the cat sat on the mat, the cat sat on the mat."]) {
      const body = { model: MODEL, messages: [{ role: "user" as const, content }], max_tokens: 60, temperature: 0, logit_bias: NO_EOS };
      const a = await plain.client.chat.completions.create(body);
      const b = await ngram.client.chat.completions.create(body);
      assert.equal(b.choices[0]?.message.content, a.choices[0]?.message.content);
      assert.equal(b.usage?.completion_tokens_details?.accepted_prediction_tokens, undefined, "n-gram drafting is not a prediction");
    }
  });
});
