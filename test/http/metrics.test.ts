import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { parseExposition } from "../support/metrics.ts";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

describe("GET /metrics", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "1", "--ctx-size", "4096"]);
  });
  after(() => t.close());

  async function scrape(): Promise<Map<string, number>> {
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  }
  const value = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;

  it("reports queue length and active sequences while requests wait and run", async () => {
    const before = await scrape();
    assert.equal(value(before, "parley_sequence_slots"), 1);
    assert.equal(value(before, "parley_active_sequences"), 0);
    assert.equal(value(before, "parley_queue_length"), 0);
    const controller = new AbortController();
    const long = { model: MODEL, messages: [{ role: "user", content: "Long" }], max_tokens: 4000, logit_bias: NO_EOS };
    const running = postChat(t.url, long, {}, controller.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const queued = postChat(t.url, long, {}, controller.signal).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const busy = await scrape();
    assert.equal(value(busy, "parley_active_sequences"), 1);
    assert.equal(value(busy, "parley_queue_length"), 1);
    controller.abort();
    await Promise.all([running, queued]);
    // Both clients left: counted as 499 once the server noticed.
    let after = await scrape();
    for (let i = 0; i < 50 && value(after, 'parley_requests_total{status="499"}') < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await scrape();
    }
    assert.equal(value(after, 'parley_requests_total{status="499"}'), 2);
    assert.equal(value(after, "parley_queue_length"), 0);
    assert.equal(value(after, "parley_active_sequences"), 0);
  });

  it("counts requests by status, tokens and latencies by the amounts the responses report", async () => {
    const before = await scrape();
    const plain = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, logit_bias: NO_EOS });
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Hi again" }], max_tokens: 7, logit_bias: NO_EOS, stream: true, stream_options: { include_usage: true } });
    const chunks = parseSse(await res.text())
      .slice(0, -1)
      .map((frame) => JSON.parse(frame) as ChatCompletionChunk);
    const streamed = chunks.at(-1)?.usage;
    assert.ok(plain.usage !== undefined && streamed !== undefined && streamed !== null);
    const invalid = await postChat(t.url, { model: MODEL, max_tokens: 1 });
    assert.equal(invalid.status, 400);
    const malformed = await postChat(t.url, "{ not json");
    assert.equal(malformed.status, 400);
    const unknown = await postChat(t.url, { model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    assert.equal(unknown.status, 404);

    const after = await scrape();
    const delta = (key: string) => value(after, key) - value(before, key);
    assert.equal(delta('parley_requests_total{status="200"}'), 2);
    assert.equal(delta('parley_requests_total{status="400"}'), 2);
    assert.equal(delta('parley_requests_total{status="404"}'), 1);
    assert.equal(delta("parley_generated_tokens_total"), plain.usage.completion_tokens + streamed.completion_tokens);
    assert.equal(delta("parley_generated_tokens_total"), 12);
    assert.equal(delta("parley_prompt_tokens_total"), plain.usage.prompt_tokens + streamed.prompt_tokens);
    const cached = (plain.usage.prompt_tokens_details?.cached_tokens ?? 0) + (streamed.prompt_tokens_details?.cached_tokens ?? 0);
    assert.equal(delta("parley_prefix_cache_hit_tokens_total"), cached);
    assert.ok(cached > 0, "the second request reuses the first one's cached template prefix");

    assert.equal(delta("parley_time_to_first_token_seconds_count"), 2);
    assert.equal(delta("parley_e2e_request_latency_seconds_count"), 2);
    assert.equal(delta('parley_e2e_request_latency_seconds_bucket{le="+Inf"}'), 2);
    assert.ok(delta("parley_time_to_first_token_seconds_sum") <= delta("parley_e2e_request_latency_seconds_sum"));
    // One gap per token after a choice's first, at most (text held back merges outputs).
    const gaps = delta("parley_inter_token_latency_seconds_count");
    assert.ok(gaps > 0 && gaps <= 4 + 6, `inter-token observations: ${gaps}`);

    for (const name of ["parley_decode_batches_total", "parley_decode_batch_tokens_total", "process_cpu_user_seconds_total", "nodejs_eventloop_lag_seconds"]) {
      assert.ok(after.has(name), `${name} is exported`);
    }
  });
});
