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
    assert.ok(
      sampled.some((s) => s !== greedy),
      "without top_k the samples differ from greedy",
    );
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
    const spaced = await ask({ logit_bias: { ...NO_EOS, [imStart]: 100 }, max_tokens: 3, skip_special_tokens: false });
    assert.equal(content(spaced), "<|im_start|> <|im_start|> <|im_start|>", "spaces_between_special_tokens defaults to true");
    const joined = await ask({ logit_bias: { ...NO_EOS, [imStart]: 100 }, max_tokens: 3, skip_special_tokens: false, spaces_between_special_tokens: false });
    assert.equal(content(joined), "<|im_start|>".repeat(3));
  });

  it("spaces_between_special_tokens separates special tokens from ordinary text", async () => {
    const specials = new Set<string>([TEST_MODEL_SPECIAL_TOKENS.imEnd.text, TEST_MODEL_SPECIAL_TOKENS.eos.text]);
    // A moderate bias on <|im_end|> (kept generating by ignore_eos) mixes it with ordinary text.
    const request = { temperature: 0, max_tokens: 12, logit_bias: { [TEST_MODEL_SPECIAL_TOKENS.imEnd.id]: 9 }, ignore_eos: true, skip_special_tokens: false };
    const mixed = await ask({ ...request, logprobs: true });
    const tokens = mixed.choices[0]?.logprobs?.content?.map((e) => e.token) ?? [];
    assert.ok(tokens.some((t) => specials.has(t)) && tokens.some((t) => !specials.has(t)), `need a mix of tokens, got ${JSON.stringify(tokens)}`);
    const expected = tokens.map((token, i) => (i > 0 && (specials.has(token) || specials.has(tokens[i - 1] ?? "")) ? ` ${token}` : token)).join("");
    assert.equal(content(mixed), expected);
    assert.equal(content(await ask({ ...request, spaces_between_special_tokens: false })), tokens.join(""));
  });

  it("repetition_penalty covers the prompt and makes output less repetitive", async () => {
    const first = async (extra: Record<string, unknown>) => (await ask({ temperature: 0, max_tokens: 1, logprobs: true, top_logprobs: 5, ...extra })).choices[0]?.logprobs?.content?.[0];
    const plain = await first({});
    const penalised = await first({ repetition_penalty: 1.5 });
    const freq = await first({ frequency_penalty: 2 });
    // Nothing is generated before the first token, so only a penalty that sees the prompt changes it.
    assert.deepEqual(freq?.top_logprobs, plain?.top_logprobs);
    assert.notDeepEqual(penalised?.top_logprobs, plain?.top_logprobs);
    const distinct = async (penalty: number) => {
      const out = await ask({ temperature: 0, max_tokens: 64, logprobs: true, repetition_penalty: penalty });
      const tokens = out.choices[0]?.logprobs?.content?.map((e) => e.token) ?? [];
      assert.equal(tokens.length, 64);
      return new Set(tokens).size / tokens.length;
    };
    const [base, strong] = [await distinct(1), await distinct(3)];
    assert.ok(strong > base, `distinct-token ratio ${strong} with penalty 3 vs ${base} without`);
  });

  it("min_tokens delays a forced EOS, stop token ids and stop strings", async () => {
    const eos = TEST_MODEL_SPECIAL_TOKENS.eos.id;
    const delayed = await ask({ logit_bias: { [eos]: 100 }, max_tokens: 10, min_tokens: 4 });
    assert.equal(delayed.usage?.completion_tokens, 4);
    assert.equal(delayed.choices[0]?.finish_reason, "stop");
    const token = 300;
    const byId = await ask({ logit_bias: { ...NO_EOS, [token]: 100 }, max_tokens: 10, stop_token_ids: [token], min_tokens: 3 });
    assert.equal(byId.usage?.completion_tokens, 3);
    assert.equal(byId.choices[0]?.finish_reason, "stop");
    const full = await ask({ temperature: 0, max_tokens: 30, logprobs: true });
    const tokens = full.choices[0]?.logprobs?.content?.map((e) => e.token) ?? [];
    const stop = tokens[1] ?? ""; // the text of the 2nd token: without min_tokens the output stops there
    assert.ok(stop.trim() !== "" && tokens.join("").indexOf(stop) === (tokens[0] ?? "").length, `unusable stop ${JSON.stringify(stop)}`);
    assert.equal(content(await ask({ temperature: 0, max_tokens: 30, stop: [stop] })), tokens[0]);
    const late = await ask({ temperature: 0, max_tokens: 30, stop: [stop], min_tokens: 10 });
    // Stop strings count once they end in token 10 or later (they may begin earlier).
    const text = tokens.join("");
    const activeFrom = tokens.slice(0, 9).join("").length;
    let next = text.indexOf(stop);
    while (next !== -1 && next + stop.length <= activeFrom) next = text.indexOf(stop, next + 1);
    assert.equal(content(late), next === -1 ? text : text.slice(0, next));
  });

  it("invalid values are 400s naming the field", async () => {
    for (const [field, value] of [
      ["top_k", -2],
      ["top_k", 1.5],
      ["min_p", 1.5],
      ["stop_token_ids", [100000]],
      ["ignore_eos", "yes"],
      ["repetition_penalty", 0],
      ["min_tokens", -1],
      ["spaces_between_special_tokens", 1],
    ] as const) {
      const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "hi" }], [field]: value });
      assert.equal(res.status, 400, `${field}=${JSON.stringify(value)}`);
      assert.equal(((await res.json()) as { error: { param: string } }).error.param, field);
    }
  });

  it("min_tokens above max_tokens is a 400", async () => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 3, min_tokens: 4 });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, "min_tokens");
  });
});

describe("--default-max-tokens", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--default-max-tokens", "7"]);
  });
  after(() => t.close());

  it("caps requests that send no max_tokens, and only those", async () => {
    const body = { model: MODEL, messages: [{ role: "user", content: "Go on." }], logit_bias: NO_EOS };
    const capped = (await (await postChat(t.url, body)).json()) as ChatCompletion;
    assert.equal(capped.usage?.completion_tokens, 7);
    assert.equal(capped.choices[0]?.finish_reason, "length");
    const explicit = (await (await postChat(t.url, { ...body, max_tokens: 12 })).json()) as ChatCompletion;
    assert.equal(explicit.usage?.completion_tokens, 12);
  });
});
