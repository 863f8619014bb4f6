/**
 * Text completions (`/v1/completions`) through upstream engines, over real HTTP on 127.0.0.1, with
 * the `openai` SDK as client. A front Parley forwards each prompt to its upstream's
 * `/completions`. Against fakes (one per dialect, recording the path and body they receive and
 * answering a canned `text_completion` stream or body): the exact body each dialect receives,
 * non-stream and stream; the upstream's legacy log-probabilities (and llama.cpp's server's chat-shaped
 * ones) back in the legacy shape, alternatives cut to what was asked; an echoed prompt's
 * log-probabilities; exact usage; a list of prompts sent one per request and numbered prompt by
 * prompt; fields a dialect cannot honour refused by name. Against a real upstream Parley serving
 * the test model: the same text, tokens and usage as the upstream gives directly, at temperature 0.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { Completion } from "openai/resources/completions";
import { buildApp } from "../../src/app.ts";
import type { UpstreamDialect } from "../../src/engines/upstream/dialect.ts";
import { UpstreamEngine } from "../../src/engines/upstream/engine.ts";
import type { UpstreamModelOptions } from "../../src/engines/upstream/options.ts";
import { Router } from "../../src/router/router.ts";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

const FRONT = "front-model";

interface Front {
  readonly url: string;
  readonly client: OpenAI;
  readonly engine: UpstreamEngine;
  close(): Promise<void>;
}

async function startFront(options: Omit<UpstreamModelOptions, "id" | "model">): Promise<Front> {
  const engine = new UpstreamEngine({ id: FRONT, model: MODEL, healthIntervalMs: 60_000, ...options });
  const server = buildApp({ router: new Router([engine]) });
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  await engine.load();
  return {
    url,
    engine,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60_000 }),
    close: async () => {
      await engine.close(0);
      await server.close();
    },
  };
}

const sse = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;

/** A legacy logprobs object for `tokens`, each `[token, logprob, {alternative: logprob}]`, offsets from `start`. */
function legacy(tokens: [string, number | null, Record<string, number> | null][], start = 0) {
  const text_offset: number[] = [];
  let offset = start;
  for (const [token] of tokens) {
    text_offset.push(offset);
    offset += token.length;
  }
  return { tokens: tokens.map((t) => t[0]), token_logprobs: tokens.map((t) => t[1]), top_logprobs: tokens.map((t) => t[2]), text_offset };
}

const textChunk = (index: number, text: string, logprobs: unknown = null, finish: string | null = null) =>
  sse({ id: "up", object: "text_completion", created: 1, model: MODEL, choices: [{ index, text, logprobs, finish_reason: finish }] });
const usageChunk = (prompt: number, completion: number) =>
  sse({ id: "up", object: "text_completion", created: 1, model: MODEL, choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });

/** The canned answer: "Hel" + "lo", each with two alternatives, cut short by length; 2 + 2 tokens. */
const HEL = legacy([["Hel", -0.5, { Hel: -0.5, He: -1.25 }]]);
const LO = legacy([["lo", -0.75, { lo: -0.75, p: -2.5 }]], 3);
const CANNED = textChunk(0, "Hel", HEL) + textChunk(0, "lo", LO) + textChunk(0, "", null, "length") + usageChunk(2, 2) + "data: [DONE]\n\n";

/** A fake upstream speaking one dialect (configured, so no probe): records each POST's path and body, answers with `behaviour`. */
class FakeUpstream {
  readonly server: Server;
  readonly posts: { path: string; body: Record<string, unknown> }[] = [];
  behaviour: (res: ServerResponse, body: Record<string, unknown>) => void = (res) => res.writeHead(200, { "content-type": "text/event-stream" }).end(CANNED);

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "GET") return void res.end(JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created: 1, owned_by: "someone" }] }));
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        this.posts.push({ path: req.url ?? "", body });
        this.behaviour(res, body);
      });
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function withFake(dialect: UpstreamDialect, run: (front: Front, fake: FakeUpstream) => Promise<void>): Promise<void> {
  const fake = new FakeUpstream();
  const front = await startFront({ baseUrls: [await fake.listen()], dialect });
  try {
    await run(front, fake);
  } finally {
    await front.close();
    await fake.close();
  }
}

/** The stream's chunks folded per choice: text, legacy logprobs concatenated, finish reason; and the usage. */
function fold(chunks: Completion[]) {
  const choices = new Map<number, { text: string; tokens: string[]; logprobs: (number | null)[]; tops: unknown[]; offsets: number[]; finish: string | null }>();
  let usage: Completion["usage"];
  for (const chunk of chunks) {
    for (const c of chunk.choices) {
      const state = choices.get(c.index) ?? { text: "", tokens: [], logprobs: [], tops: [], offsets: [], finish: null };
      state.text += c.text;
      state.tokens.push(...(c.logprobs?.tokens ?? []));
      state.logprobs.push(...(c.logprobs?.token_logprobs ?? []));
      state.tops.push(...(c.logprobs?.top_logprobs ?? []));
      state.offsets.push(...(c.logprobs?.text_offset ?? []));
      if (c.finish_reason !== null) state.finish = c.finish_reason;
      choices.set(c.index, state);
    }
    if (chunk.usage != null) usage = chunk.usage;
  }
  return { choices, usage };
}

async function collect(stream: AsyncIterable<Completion>): Promise<Completion[]> {
  const chunks: Completion[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** What the client asks in the per-dialect cases. */
const ASK = { model: FRONT, prompt: "Once", max_tokens: 5, temperature: 0, seed: 11, stop: ["\n"], logprobs: 1 };
const HEAD = { model: MODEL, prompt: "Once", stream: true, stream_options: { include_usage: true } };

describe("upstream text completions: each dialect's /completions body (fake upstreams)", () => {
  const cases: { dialect: UpstreamDialect; extra: Record<string, unknown>; expected: Record<string, unknown> }[] = [
    { dialect: "openai", extra: {}, expected: { ...HEAD, max_tokens: 5, temperature: 0, seed: 11, stop: ["\n"], logprobs: 1 } },
    { dialect: "vllm", extra: { top_k: 3, min_tokens: 1 }, expected: { ...HEAD, max_tokens: 5, temperature: 0, top_k: 3, seed: 11, stop: ["\n"], min_tokens: 1, logprobs: 1 } },
    { dialect: "sglang", extra: { top_k: 3, repetition_penalty: 1.1 }, expected: { ...HEAD, max_tokens: 5, temperature: 0, top_k: 3, seed: 11, repetition_penalty: 1.1, stop: ["\n"], logprobs: 1 } },
    {
      dialect: "llama-server",
      extra: { top_k: 3, repetition_penalty: 1.1 },
      expected: { ...HEAD, max_tokens: 5, temperature: 0, top_k: 3, seed: 11, repeat_penalty: 1.1, repeat_last_n: 65_536, stop: ["\n"], n_probs: 1 },
    },
    { dialect: "parley", extra: { top_k: 3, min_tokens: 1 }, expected: { ...HEAD, max_tokens: 5, temperature: 0, top_k: 3, seed: 11, stop: ["\n"], min_tokens: 1, logprobs: 1 } },
  ];
  for (const { dialect, extra, expected } of cases) {
    it(`${dialect}: /completions receives exactly its fields; the answer comes back in the legacy shape, stream and not`, async () => {
      await withFake(dialect, async (front, fake) => {
        const whole = await front.client.completions.create({ ...ASK, ...extra } as OpenAI.CompletionCreateParamsNonStreaming);
        assert.deepEqual(fake.posts, [{ path: "/v1/completions", body: expected }]);
        const [choice] = whole.choices;
        assert.equal(whole.object, "text_completion");
        assert.equal(whole.model, FRONT);
        assert.equal(choice?.text, "Hello");
        assert.equal(choice?.finish_reason, "length");
        // One alternative asked: the upstream's second is cut (the chosen token is always in the map).
        assert.deepEqual(choice?.logprobs, { tokens: ["Hel", "lo"], token_logprobs: [-0.5, -0.75], top_logprobs: [{ Hel: -0.5 }, { lo: -0.75 }], text_offset: [0, 3] });
        assert.deepEqual(whole.usage, { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } });

        const streamed = fold(
          await collect(await front.client.completions.create({ ...ASK, ...extra, stream: true, stream_options: { include_usage: true } } as OpenAI.CompletionCreateParamsStreaming)),
        );
        assert.deepEqual(fake.posts[1]?.body, expected, "the same body for a streamed request");
        const s = streamed.choices.get(0);
        assert.equal(s?.text, "Hello");
        assert.equal(s?.finish, "length");
        assert.deepEqual([s?.tokens, s?.logprobs, s?.tops, s?.offsets], [choice?.logprobs?.tokens, choice?.logprobs?.token_logprobs, choice?.logprobs?.top_logprobs, choice?.logprobs?.text_offset]);
        assert.deepEqual(streamed.usage, whole.usage);
      });
    });
  }

  it("llama.cpp's server: chat-shaped log-probabilities (`logprobs.content`) come back in the legacy shape", async () => {
    await withFake("llama-server", async (front, fake) => {
      const content = (token: string, logprob: number, top: [string, number][]) => ({
        content: [{ token, logprob, bytes: [...Buffer.from(token)], top_logprobs: top.map(([t, l]) => ({ token: t, logprob: l, bytes: [...Buffer.from(t)] })) }],
      });
      fake.behaviour = (res) =>
        res.writeHead(200, { "content-type": "text/event-stream" }).end(
          textChunk(
            0,
            "é",
            content("é", -0.5, [
              ["é", -0.5],
              ["e", -1],
            ]),
          ) +
            textChunk(0, "!", content("!", -0.25, [["!", -0.25]]), "stop") +
            usageChunk(1, 2) +
            "data: [DONE]\n\n",
        );
      const res = await front.client.completions.create({ model: FRONT, prompt: "x", logprobs: 0, max_tokens: 2 });
      assert.equal(fake.posts[0]?.body.n_probs, 1, "at least one alternative asked (0 returns nothing)");
      assert.equal(res.choices[0]?.text, "é!");
      assert.equal(res.choices[0]?.finish_reason, "stop");
      assert.deepEqual(res.choices[0]?.logprobs, { tokens: ["é", "!"], token_logprobs: [-0.5, -0.25], top_logprobs: [{ é: -0.5 }, { "!": -0.25 }], text_offset: [0, 1] });
      assert.deepEqual(res.usage, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, prompt_tokens_details: { cached_tokens: 0 } });
    });
  });

  it("a list of prompts: one upstream request per prompt, choices numbered prompt by prompt, usage summed", async () => {
    await withFake("vllm", async (front, fake) => {
      fake.behaviour = (res, body) => {
        const prompt = String(body.prompt);
        const frames = [0, 1].map((i) => textChunk(i, `${prompt}${i}`) + textChunk(i, "", null, "stop")).join("");
        res.writeHead(200, { "content-type": "text/event-stream" }).end(frames + usageChunk(prompt.length, 2) + "data: [DONE]\n\n");
      };
      const res = await front.client.completions.create({ model: FRONT, prompt: ["A", "BB", "CCC"], n: 2, max_tokens: 3 });
      assert.deepEqual(fake.posts.map((p) => [p.path, p.body.prompt, p.body.n]).sort(), [
        ["/v1/completions", "A", 2],
        ["/v1/completions", "BB", 2],
        ["/v1/completions", "CCC", 2],
      ]);
      assert.deepEqual(
        res.choices.map((c) => [c.index, c.text]),
        [
          [0, "A0"],
          [1, "A1"],
          [2, "BB0"],
          [3, "BB1"],
          [4, "CCC0"],
          [5, "CCC1"],
        ],
      );
      assert.deepEqual(res.usage, { prompt_tokens: 6, completion_tokens: 6, total_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } });
    });
  });

  it("echo with log-probabilities: the echoed prompt's tokens lead, the first without a log-probability (vLLM's first chunk holds prompt and first token)", async () => {
    await withFake("vllm", async (front, fake) => {
      const first = legacy([
        ["Hi", null, null],
        [" there", -1.5, { " there": -1.5, " x": -2 }],
        [" you", -0.5, { " me": -0.25, " you": -0.5 }],
      ]);
      const second = legacy([[" go", -0.125, { " go": -0.125 }]], 12);
      fake.behaviour = (res) =>
        res.writeHead(200, { "content-type": "text/event-stream" }).end(textChunk(0, "Hi there you", first) + textChunk(0, " go", second, "length") + usageChunk(2, 2) + "data: [DONE]\n\n");
      const expected = {
        tokens: ["Hi", " there", " you", " go"],
        token_logprobs: [null, -1.5, -0.5, -0.125],
        top_logprobs: [null, { " there": -1.5 }, { " me": -0.25, " you": -0.5 }, { " go": -0.125 }],
        text_offset: [0, 2, 8, 12],
      };
      const whole = await front.client.completions.create({ model: FRONT, prompt: "Hi there", echo: true, logprobs: 1, max_tokens: 2 });
      assert.deepEqual(fake.posts[0]?.body, { model: MODEL, prompt: "Hi there", stream: true, stream_options: { include_usage: true }, max_tokens: 2, logprobs: 1, echo: true });
      assert.equal(whole.choices[0]?.text, "Hi there you go");
      assert.deepEqual(whole.choices[0]?.logprobs, expected);
      const streamed = fold(await collect(await front.client.completions.create({ model: FRONT, prompt: "Hi there", echo: true, logprobs: 1, max_tokens: 2, stream: true })));
      const s = streamed.choices.get(0);
      assert.equal(s?.text, "Hi there you go");
      assert.deepEqual({ tokens: s?.tokens, token_logprobs: s?.logprobs, top_logprobs: s?.tops, text_offset: s?.offsets }, expected);
    });
  });

  it("best_of > n is not streamed: one text_completion body is read (Parley dialect)", async () => {
    await withFake("parley", async (front, fake) => {
      fake.behaviour = (res, body) => {
        assert.equal(body.stream, false);
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            id: "up",
            object: "text_completion",
            created: 1,
            model: MODEL,
            choices: [{ index: 0, text: "best", logprobs: null, finish_reason: "stop", cumulative_logprob: -1.5 }],
            usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } },
          }),
        );
      };
      const res = await front.client.completions.create({ model: FRONT, prompt: "Pick", best_of: 3, max_tokens: 4 });
      assert.deepEqual(fake.posts[0]?.body, { model: MODEL, prompt: "Pick", stream: false, max_tokens: 4, best_of: 3 });
      assert.equal(res.choices[0]?.text, "best");
      assert.deepEqual(res.usage, { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } });
    });
  });

  it("token-id prompts are forwarded as ids; an answer without usage is estimated", async () => {
    await withFake("vllm", async (front, fake) => {
      fake.behaviour = (res) => res.writeHead(200, { "content-type": "text/event-stream" }).end(textChunk(0, "abcdefgh", null, "length") + "data: [DONE]\n\n");
      const res = await front.client.completions.create({ model: FRONT, prompt: [5, 6, 7], max_tokens: 2 });
      assert.deepEqual(fake.posts[0]?.body.prompt, [5, 6, 7]);
      assert.equal(res.choices[0]?.text, "abcdefgh");
      assert.equal(res.usage?.completion_tokens, 2, "8 bytes / 4");
      assert.ok((res.usage?.prompt_tokens ?? 0) > 0);
    });
  });

  const refusals: { dialect: UpstreamDialect; body: Record<string, unknown>; param: string }[] = [
    { dialect: "llama-server", body: { echo: true }, param: "echo" },
    { dialect: "vllm", body: { suffix: "return x" }, param: "suffix" },
    { dialect: "llama-server", body: { suffix: "return x" }, param: "suffix" },
    { dialect: "openai", body: { response_format: { type: "json_object" } }, param: "response_format" },
  ];
  for (const { dialect, body, param } of refusals) {
    it(`${dialect}: \`${param}\` is refused with a 400 naming it, and nothing is sent`, async () => {
      await withFake(dialect, async (front, fake) => {
        const res = await fetch(`${front.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: FRONT, prompt: "def f(x):", max_tokens: 4, ...body }),
        });
        const error = ((await res.json()) as { error: { param: string | null } }).error;
        assert.equal(res.status, 400);
        assert.equal(error.param, param);
        assert.deepEqual(fake.posts, []);
      });
    });
  }

  for (const dialect of ["openai", "sglang", "parley"] as const) {
    it(`${dialect}: \`suffix\` (fill-in-the-middle) is forwarded`, async () => {
      await withFake(dialect, async (front, fake) => {
        const res = await front.client.completions.create({ model: FRONT, prompt: "def f(x):", suffix: "    return y", max_tokens: 4 });
        assert.equal(res.choices[0]?.text, "Hello");
        assert.equal(fake.posts[0]?.body.suffix, "    return y");
      });
    });
  }
});

describe("upstream text completions: a real upstream Parley", () => {
  let upstream: TestServer;
  let front: Front;
  before(async () => {
    upstream = await startTestServer(["--parallel", "2"]);
    front = await startFront({ baseUrls: [`${upstream.url}/v1`] });
  });
  after(async () => {
    await front?.close();
    await upstream?.close();
  });

  const ask = { prompt: "Once upon a time", max_tokens: 8, temperature: 0, logit_bias: NO_EOS, logprobs: 2 };

  it("probes the dialect as `parley` and gives the text, tokens and usage the upstream gives directly", async () => {
    assert.equal(await front.engine.dialect(), "parley");
    const direct = await upstream.client.completions.create({ model: MODEL, ...ask });
    const via = await front.client.completions.create({ model: FRONT, ...ask });
    assert.equal(via.choices[0]?.text, direct.choices[0]?.text);
    assert.deepEqual(via.choices[0]?.logprobs?.tokens, direct.choices[0]?.logprobs?.tokens);
    assert.deepEqual(via.choices[0]?.logprobs?.text_offset, direct.choices[0]?.logprobs?.text_offset);
    assert.equal(via.choices[0]?.finish_reason, "length");
    assert.deepEqual(
      [via.usage?.prompt_tokens, via.usage?.completion_tokens],
      [direct.usage?.prompt_tokens, direct.usage?.completion_tokens],
      "cached_tokens may differ: the second run reads the prompt cache",
    );
    const streamed = fold(await collect(await front.client.completions.create({ model: FRONT, ...ask, stream: true, stream_options: { include_usage: true } })));
    assert.equal(streamed.choices.get(0)?.text, direct.choices[0]?.text);
    assert.deepEqual(streamed.choices.get(0)?.tokens, direct.choices[0]?.logprobs?.tokens);
    assert.equal(streamed.usage?.completion_tokens, 8);
  });

  it("echo with log-probabilities and a list of prompts come back as the upstream answers them", async () => {
    const body = { ...ask, prompt: ["Once upon a time", "The sea"], echo: true };
    const direct = await upstream.client.completions.create({ model: MODEL, ...body });
    const via = await front.client.completions.create({ model: FRONT, ...body });
    assert.equal(via.choices.length, 2);
    for (const i of [0, 1]) {
      const [d, v] = [direct.choices[i], via.choices[i]];
      assert.equal(v?.index, i);
      assert.ok(v?.text.startsWith(i === 0 ? "Once upon a time" : "The sea"));
      assert.equal(v?.text, d?.text);
      assert.deepEqual(v?.logprobs?.tokens, d?.logprobs?.tokens);
      assert.deepEqual(v?.logprobs?.text_offset, d?.logprobs?.text_offset);
      assert.equal(v?.logprobs?.token_logprobs?.[0], null, "nothing predicts the prompt's first token");
    }
    assert.deepEqual(
      [via.usage?.prompt_tokens, via.usage?.completion_tokens],
      [direct.usage?.prompt_tokens, direct.usage?.completion_tokens],
      "cached_tokens may differ: the second run reads the prompt cache",
    );
  });
});
