/**
 * `use_beam_search` (+ `length_penalty`, `early_stopping`) and `best_of` over HTTP.
 *
 * Beam search is checked against a brute-force search computed in this process on the same model
 * file: `logit_bias` leaves only three ordinary tokens and one end token, so every continuation up
 * to 3 tokens can be enumerated, and with a width that never prunes, beam search must return
 * exactly the best-scoring ones.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { TEST_MODEL_SPECIAL_TOKENS, TEST_MODEL_VOCAB_SIZE } from "../../src/testing/test-model.ts";
import { openReferenceModel, type ReferenceModel } from "../support/reference-model.ts";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

type Choice = ChatCompletion["choices"][number] & { cumulative_logprob?: number; beam_score?: number };

const ALLOWED = [300, 301, 302];
const END = TEST_MODEL_SPECIAL_TOKENS.imEnd.id;
/** Bans every token but ALLOWED and END. */
const ONLY_ALLOWED = Object.fromEntries(
  Array.from({ length: TEST_MODEL_VOCAB_SIZE }, (_, id) => id)
    .filter((id) => id !== END && !ALLOWED.includes(id))
    .map((id) => [id, -100]),
);
const PROMPT_TEXT = "Once upon a time";

describe("beam search and best_of", () => {
  let t: TestServer;
  let reference: ReferenceModel;
  before(async () => {
    t = await startTestServer(["--parallel", "3"]);
    reference = await openReferenceModel();
  });
  after(async () => {
    await reference.close();
    await t.close();
  });

  const post = (extra: Record<string, unknown>) => postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Tell me a story." }], ...extra });
  const askBody = async (extra: Record<string, unknown>): Promise<ChatCompletion> => {
    const res = await post(extra);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as ChatCompletion;
  };
  const ask = async (extra: Record<string, unknown>): Promise<Choice[]> => (await askBody(extra)).choices as Choice[];

  /** log p(token | prompt + prefix) over ALLOWED + END only (what the −100 bans leave), in this process. */
  const distribution = async (prefix: readonly number[]): Promise<Map<number, number>> => {
    const probabilities = await reference.nextProbabilities([...reference.promptTokens(PROMPT_TEXT), ...prefix]);
    const kept = [...ALLOWED, END].map((token) => [token, probabilities.get(token) ?? 0] as const);
    const total = kept.reduce((sum, [, p]) => sum + p, 0);
    return new Map(kept.map(([token, p]) => [token, Math.log(p / total)]));
  };

  /** Every hypothesis up to `maxTokens` generated tokens (the end token counts), scored as documented. */
  const bruteForce = async (maxTokens: number, lengthPenalty: number) => {
    const found: { tokens: number[]; cumulative: number; score: number; reason: string }[] = [];
    const walk = async (prefix: number[], cumulative: number): Promise<void> => {
      const next = await distribution(prefix);
      for (const [token, logprob] of next) {
        const sum = cumulative + logprob;
        const tokens = token === END ? prefix : [...prefix, token];
        const score = sum / Math.max(1, tokens.length) ** lengthPenalty;
        if (token === END) found.push({ tokens, cumulative: sum, score, reason: "stop" });
        else if (tokens.length === maxTokens) found.push({ tokens, cumulative: sum, score, reason: "length" });
        else await walk(tokens, sum);
      }
    };
    await walk([], 0);
    return found.sort((a, b) => b.score - a.score);
  };

  it("equals a brute-force search when the width never prunes", async () => {
    for (const lengthPenalty of [0, 1, 2]) {
      const expected = (await bruteForce(3, lengthPenalty)).slice(0, 3);
      const choices = await ask({
        chat_template: PROMPT_TEXT,
        use_beam_search: true,
        best_of: 27,
        n: 3,
        max_tokens: 3,
        length_penalty: lengthPenalty,
        early_stopping: "never",
        logit_bias: ONLY_ALLOWED,
        skip_special_tokens: false,
      });
      assert.equal(choices.length, 3);
      choices.forEach((choice, i) => {
        const want = expected[i];
        assert.ok(want !== undefined);
        assert.equal(choice.message.content, reference.model.detokenize(want.tokens as Token[]), `penalty ${lengthPenalty}, beam ${i}`);
        assert.equal(choice.finish_reason, want.reason);
        assert.ok(Math.abs((choice.cumulative_logprob ?? NaN) - want.cumulative) < 1e-3, `${choice.cumulative_logprob} vs ${want.cumulative}`);
        assert.ok(Math.abs((choice.beam_score ?? NaN) - want.score) < 1e-3);
      });
    }
  });

  it("is deterministic, with beams sorted by score, at any width", async () => {
    const request = { use_beam_search: true, n: 3, best_of: 4, max_tokens: 8, temperature: 0, logit_bias: NO_EOS };
    // What Parley promises (the docs' "Determinism"): the same request gives the same beams, in the
    // same order. Their scores are equal bit for bit when the runs compute the same batches (two
    // runs that both read the prompt from the cache), and to within float noise when they do not:
    // the first run evaluates the prompt, the later ones reuse it, and llama.cpp's results then
    // differ in the last digits (about 6e-8 relative measured on x86-64; more on other CPUs).
    const REL_TOLERANCE = 1e-4;
    const runs: ChatCompletion[] = [];
    for (let i = 0; i < 3; i++) runs.push(await askBody(request));
    const [first, second, third] = runs.map((run) => run.choices as Choice[]) as [Choice[], Choice[], Choice[]];
    const cached = runs.map((run) => run.usage?.prompt_tokens_details?.cached_tokens ?? NaN);
    assert.ok((cached[1] ?? 0) > (cached[0] ?? NaN) && cached[2] === cached[1], `the first run evaluates the prompt, the later ones read it from the cache: cached tokens ${cached}`);

    const scores = first.map((c) => c.beam_score ?? NaN);
    assert.equal(first.length, 3);
    assert.deepEqual(
      [...scores].sort((a, b) => b - a),
      scores,
      "beams sorted by score",
    );
    assert.equal(new Set(first.map((c) => c.message.content)).size, 3, "distinct beams");
    // Beams whose scores differ by float noise alone could trade places between runs: these are
    // far apart (checked, so that a change of model fails here rather than below).
    for (let i = 1; i < scores.length; i++) {
      const gap = (scores[i - 1] ?? NaN) - (scores[i] ?? NaN);
      assert.ok(gap > 100 * REL_TOLERANCE * Math.abs(scores[i] ?? NaN), `beams ${i - 1} and ${i} too close to order reliably: ${scores}`);
    }
    const close = (a: number | undefined, b: number | undefined) => Math.abs((a ?? NaN) - (b ?? NaN)) <= REL_TOLERANCE * Math.abs(b ?? NaN);
    assert.equal(second.length, first.length);
    second.forEach((choice, i) => {
      const want = first[i];
      assert.equal(choice.message.content, want?.message.content, `beam ${i}: same text`);
      assert.equal(choice.finish_reason, want?.finish_reason, `beam ${i}`);
      assert.ok(close(choice.beam_score, want?.beam_score), `beam ${i}: beam_score ${choice.beam_score} vs ${want?.beam_score}`);
      assert.ok(close(choice.cumulative_logprob, want?.cumulative_logprob), `beam ${i}: cumulative_logprob ${choice.cumulative_logprob} vs ${want?.cumulative_logprob}`);
    });
    assert.deepEqual(third, second, "the same batches give the same bits");

    const greedy = (await ask({ temperature: 0, max_tokens: 1, logit_bias: NO_EOS }))[0]?.message.content ?? "";
    assert.ok(
      first.some((c) => c.message.content?.startsWith(greedy)),
      "some beam starts with the greedy token",
    );
  });

  it("returns fewer beams than n when fewer hypotheses exist; prompt_logprobs with beams counts no cache", async () => {
    const onlyOne = Object.fromEntries(Array.from({ length: TEST_MODEL_VOCAB_SIZE }, (_, id) => [id, id === 300 ? 0 : -100]));
    const choices = await ask({ use_beam_search: true, n: 2, max_tokens: 3, logit_bias: onlyOne });
    assert.equal(choices.length, 1, "one token possible: one hypothesis");
    assert.equal(choices[0]?.finish_reason, "length");
    const request = { use_beam_search: true, n: 2, max_tokens: 3, logit_bias: NO_EOS, chat_template: "A prompt seen once." };
    await ask(request); // now cached
    const res = await post({ ...request, prompt_logprobs: 0 });
    const body = (await res.json()) as ChatCompletion & { prompt_logprobs?: unknown[] };
    assert.equal(body.usage?.prompt_tokens_details?.cached_tokens, 0);
    assert.equal(body.prompt_logprobs?.length, body.usage?.prompt_tokens);
  });

  it("best_of returns the candidate with the highest cumulative logprob", async () => {
    const request = { max_tokens: 10, logit_bias: NO_EOS, temperature: 1.2, seed: 7 };
    // Candidate i of best_of is choice i of n with the same seed (both draw with logprobs' sampler).
    const candidates = await ask({ ...request, n: 4, logprobs: true });
    const sums = candidates.map((c) => (c.logprobs?.content ?? []).reduce((sum, e) => sum + e.logprob, 0));
    const best = sums.indexOf(Math.max(...sums));
    const [chosen] = await ask({ ...request, best_of: 4 });
    assert.equal(chosen?.message.content, candidates[best]?.message.content);
    // The runs batch their tokens differently (one reads the prompt from the cache): logits agree
    // to about 1e-4 per token, not bit for bit, so sums are compared within TOLERANCE — far less
    // than what separates the candidates here, so the right one is still identified.
    const TOLERANCE = 0.05;
    const ranked = [...sums].sort((a, b) => b - a);
    assert.ok((ranked[0] ?? NaN) - (ranked[1] ?? NaN) > 4 * TOLERANCE, `candidates too close to tell apart: ${ranked}`);
    assert.ok(Math.abs((chosen?.cumulative_logprob ?? NaN) - (sums[best] ?? NaN)) < TOLERANCE, `${chosen?.cumulative_logprob} vs ${sums[best]} of ${sums}`);
    const two = await ask({ ...request, best_of: 4, n: 2 });
    two.forEach((c, i) => assert.ok(Math.abs((c.cumulative_logprob ?? NaN) - (ranked[i] ?? NaN)) < TOLERANCE, `${c.cumulative_logprob} vs ${ranked[i]}`));
  });

  it("invalid combinations are 400s naming the field", async () => {
    for (const [extra, param] of [
      [{ best_of: 2, n: 3 }, "best_of"],
      [{ best_of: 2, stream: true }, "best_of"],
      [{ use_beam_search: true, stream: true }, "stream"],
      [{ use_beam_search: true, stop: ["x"] }, "stop"],
      [{ use_beam_search: true, logprobs: true }, "logprobs"],
      [{ use_beam_search: true, response_format: { type: "json_object" } }, "response_format"],
      [{ length_penalty: 2 }, "length_penalty"],
      [{ early_stopping: true }, "early_stopping"],
      [{ use_beam_search: true, early_stopping: "sometimes" }, "early_stopping"],
    ] as const) {
      const res = await post(extra);
      assert.equal(res.status, 400, JSON.stringify(extra));
      assert.equal(((await res.json()) as { error: { param: string } }).error.param, param, JSON.stringify(extra));
    }
  });
});
