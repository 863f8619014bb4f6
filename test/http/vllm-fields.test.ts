/**
 * vLLM's sampling and stopping extensions over HTTP. Each test would fail if the field were
 * ignored: the random test model's output must change in the way the field says.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { TEST_MODEL_SPECIAL_TOKENS } from "../../src/testing/test-model.ts";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

describe("vLLM sampling and stopping fields", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const ask = async (extra: Record<string, unknown>): Promise<ChatCompletion> => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Tell me about the weather." }], max_tokens: 24, logit_bias: NO_EOS, ...extra });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as ChatCompletion;
  };
  const content = (c: ChatCompletion): string => c.choices[0]?.message.content ?? "";

  it("top_k 1 and min_p 1 are greedy at any temperature, with or without logprobs", async () => {
    const greedy = content(await ask({ temperature: 0 }));
    for (const seed of [1, 2, 3]) {
      assert.equal(content(await ask({ temperature: 1.8, top_k: 1, seed })), greedy);
      assert.equal(content(await ask({ temperature: 1.8, min_p: 1, seed })), greedy);
      assert.equal(content(await ask({ temperature: 1.8, top_k: 1, seed, logprobs: true })), greedy);
      assert.equal(content(await ask({ temperature: 1.8, min_p: 1, seed, logprobs: true })), greedy);
    }
    const sampled = await Promise.all([1, 2, 3].map(async (seed) => content(await ask({ temperature: 1.8, seed }))));
    assert.ok(sampled.some((s) => s !== greedy), "without top_k the samples differ from greedy");
  });

  it("ignore_eos: a forced EOS does not end the choice before max_tokens", async () => {
    const eos = TEST_MODEL_SPECIAL_TOKENS.eos.id;
    const ended = await ask({ logit_bias: { [eos]: 100 }, max_tokens: 10 });
    assert.equal(ended.usage?.completion_tokens, 0);
    assert.equal(ended.choices[0]?.finish_reason, "stop");
    const ignored = await ask({ logit_bias: { [eos]: 100 }, max_tokens: 10, ignore_eos: true });
    assert.equal(ignored.usage?.completion_tokens, 10);
    assert.equal(ignored.choices[0]?.finish_reason, "length");
    assert.equal(content(ignored), "", "EOS is a control token: no text");
  });

  it("stop_token_ids: a forced token in the list ends the choice", async () => {
    const token = 300; // an ordinary merged token
    const free = await ask({ logit_bias: { ...NO_EOS, [token]: 100 }, max_tokens: 5 });
    assert.equal(free.usage?.completion_tokens, 5);
    const stopped = await ask({ logit_bias: { ...NO_EOS, [token]: 100 }, max_tokens: 5, stop_token_ids: [token] });
    assert.equal(stopped.usage?.completion_tokens, 0);
    assert.equal(stopped.choices[0]?.finish_reason, "stop");
    assert.equal(content(stopped), "");
  });

  it("include_stop_str_in_output keeps the stop string", async () => {
    const full = content(await ask({ temperature: 0, max_tokens: 40 }));
    const stop = full.slice(10, 13);
    assert.equal(stop.length, 3);
    const at = full.indexOf(stop);
    assert.equal(content(await ask({ temperature: 0, max_tokens: 40, stop: [stop] })), full.slice(0, at));
    const kept = await ask({ temperature: 0, max_tokens: 40, stop: [stop], include_stop_str_in_output: true });
    assert.equal(content(kept), full.slice(0, at) + stop);
    assert.equal(kept.choices[0]?.finish_reason, "stop");
  });

  it("skip_special_tokens false shows a forced special token's text", async () => {
    const imStart = TEST_MODEL_SPECIAL_TOKENS.imStart.id;
    const hidden = await ask({ logit_bias: { ...NO_EOS, [imStart]: 100 }, max_tokens: 3 });
    assert.equal(content(hidden), "");
    const shown = await ask({ logit_bias: { ...NO_EOS, [imStart]: 100 }, max_tokens: 3, skip_special_tokens: false });
    assert.equal(content(shown), "<|im_start|>".repeat(3));
  });

  it("invalid values are 400s naming the field", async () => {
    for (const [field, value] of [
      ["top_k", -2],
      ["top_k", 1.5],
      ["min_p", 1.5],
      ["stop_token_ids", [100000]],
      ["ignore_eos", "yes"],
    ] as const) {
      const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "hi" }], [field]: value });
      assert.equal(res.status, 400, `${field}=${JSON.stringify(value)}`);
      assert.equal(((await res.json()) as { error: { param: string } }).error.param, field);
    }
  });
});
