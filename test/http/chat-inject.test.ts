/**
 * `POST /v1/chat/completions` on the wire, without a model: a scripted fake engine behind the real
 * app, driven with `app.inject()`. Both response modes are read from the same scripts, so these
 * are also the tests of the response writers (chunks and the folded `chat.completion`): shapes,
 * finish reasons (the legacy `function_call` rename), usage and `stream_options.include_usage`,
 * tool calls, thoughts, log-probabilities and the vLLM extensions' fields.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ChatEvent, TokenLogprob } from "../../src/domain/events.ts";
import { FAKE_MODEL, FakeEngine, textSteps, toolCallSteps, usageStep, type FakeScript } from "../support/fake-engine.ts";
import { chatBody, fakeApp, injectChat, parseSseBody, type FakeApp } from "../support/inject.ts";

type Chunk = ChatCompletionChunk & { usage?: ChatCompletionChunk["usage"] };
type Delta = Chunk["choices"][number]["delta"] & { reasoning_content?: string; reasoning?: string };

/** A stream's chunks (the [DONE] end checked), and each choice's deltas and finish reason. */
function readStream(payload: string): { chunks: Chunk[]; deltas: Map<number, Delta[]>; finish: Map<number, string | null> } {
  const { frames, done } = parseSseBody(payload);
  assert.ok(done, "the stream ends with [DONE]");
  const chunks = frames as Chunk[];
  const deltas = new Map<number, Delta[]>();
  const finish = new Map<number, string | null>();
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      deltas.set(choice.index, [...(deltas.get(choice.index) ?? []), choice.delta]);
      if (choice.finish_reason !== null) {
        assert.ok(!finish.has(choice.index), `choice ${choice.index} finished twice`);
        finish.set(choice.index, choice.finish_reason);
      }
    }
  }
  return { chunks, deltas, finish };
}

const content = (deltas: readonly Delta[] | undefined) => (deltas ?? []).map((d) => d.content ?? "").join("");

/** A token's log-probability entry with its bytes (UTF-8 of `token`). */
function lp(token: string, logprob: number, top: readonly [string, number][] = []): TokenLogprob {
  const bytes = (t: string) => [...Buffer.from(t, "utf8")];
  return { token, logprob, bytes: bytes(token), topLogprobs: top.map(([t, l]) => ({ token: t, logprob: l, bytes: bytes(t) })) };
}

describe("chat completions through app.inject() (fake engine)", () => {
  let t: FakeApp;
  /** The script the next request plays (set by each test). */
  let script: FakeScript = { steps: [] };
  before(async () => {
    t = await fakeApp({ engine: { script: () => script, fingerprint: "fp_inject" } });
  });
  after(() => t.close());

  /** Plays `steps` in both modes: the JSON answer and the stream's chunks. */
  const both = async (steps: readonly ChatEvent[], extra: Record<string, unknown> = {}, streamExtra: Record<string, unknown> = {}) => {
    script = { steps };
    const plain = await injectChat(t.app, chatBody(extra));
    assert.equal(plain.statusCode, 200, plain.body);
    const streamed = await injectChat(t.app, chatBody({ ...extra, stream: true, ...streamExtra }));
    assert.equal(streamed.statusCode, 200, streamed.body);
    return { completion: plain.json<ChatCompletion>(), plain, stream: readStream(streamed.body), streamed };
  };

  it("a plain answer: the chat.completion object and the chunks of the stream", async () => {
    const before = Math.floor(Date.now() / 1000);
    const { completion, plain, stream, streamed } = await both([...textSteps(["Hel", "lo", " there"]), usageStep(7, 3)]);
    assert.match(String(plain.headers["content-type"]), /^application\/json/);
    assert.match(completion.id, /^chatcmpl-[A-Za-z0-9_-]+$/);
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.model, FAKE_MODEL);
    assert.equal(completion.system_fingerprint, "fp_inject");
    assert.ok(completion.created >= before && completion.created <= Math.floor(Date.now() / 1000) + 1);
    assert.equal(completion.choices.length, 1);
    const [choice] = completion.choices;
    assert.deepEqual(
      { ...choice, message: { role: choice?.message.role, content: choice?.message.content } },
      {
        index: 0,
        message: { role: "assistant", content: "Hello there" },
        logprobs: null,
        finish_reason: "stop",
      },
    );
    assert.equal(choice?.message.tool_calls, undefined);
    assert.deepEqual(completion.usage, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 0 } });

    assert.match(String(streamed.headers["content-type"]), /^text\/event-stream/);
    assert.equal(streamed.headers["cache-control"], "no-cache");
    const { chunks, deltas, finish } = stream;
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, "one id for every chunk");
    assert.notEqual([...ids][0], completion.id, "each completion has its own id");
    for (const chunk of chunks) {
      assert.equal(chunk.object, "chat.completion.chunk");
      assert.equal(chunk.model, FAKE_MODEL);
      assert.equal(chunk.system_fingerprint, "fp_inject");
      assert.equal(typeof chunk.created, "number");
      assert.ok(!("usage" in chunk), "no usage field without stream_options.include_usage");
    }
    // The role first (with empty content, as OpenAI), then one chunk per delta, then the finish.
    assert.deepEqual(chunks[0]?.choices, [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
    assert.deepEqual(deltas.get(0)?.slice(1, 4), [{ content: "Hel" }, { content: "lo" }, { content: " there" }]);
    assert.deepEqual(chunks.at(-1)?.choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]);
    assert.equal(content(deltas.get(0)), completion.choices[0]?.message.content);
    assert.deepEqual([...finish], [[0, "stop"]]);
  });

  it("n choices, interleaved: each folded under its own index, in order", async () => {
    const steps: ChatEvent[] = [
      { type: "delta", choice: 1, text: "B1", logprobs: [] },
      { type: "delta", choice: 0, text: "A1", logprobs: [] },
      { type: "delta", choice: 1, text: "B2", logprobs: [] },
      { type: "finish", choice: 1, reason: "length" },
      { type: "delta", choice: 0, text: "A2", logprobs: [] },
      { type: "finish", choice: 0, reason: "stop" },
      usageStep(4, 4),
    ];
    const { completion, stream } = await both(steps, { n: 2 });
    assert.deepEqual(
      completion.choices.map((c) => [c.index, c.message.content, c.finish_reason]),
      [
        [0, "A1A2", "stop"],
        [1, "B1B2", "length"],
      ],
    );
    assert.deepEqual(
      stream.chunks.slice(0, 2).map((c) => c.choices[0]?.delta.role),
      ["assistant", "assistant"],
      "every choice's role comes first",
    );
    assert.equal(content(stream.deltas.get(0)), "A1A2");
    assert.equal(content(stream.deltas.get(1)), "B1B2");
    assert.deepEqual(Object.fromEntries(stream.finish), { 0: "stop", 1: "length" });
  });

  it("finish reasons: stop, length and tool_calls as the engine says", async () => {
    for (const reason of ["stop", "length"] as const) {
      const { completion, stream } = await both([...textSteps("x", { finish: reason }), usageStep(1, 1)]);
      assert.equal(completion.choices[0]?.finish_reason, reason);
      assert.equal(stream.finish.get(0), reason);
    }
  });

  const weather = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };

  it("tool calls: streamed as OpenAI does (id, type and name first, then argument fragments); folded into tool_calls with null content", async () => {
    const steps: ChatEvent[] = [
      ...toolCallSteps({ id: "call_1", name: "get_weather", fragments: ['{"city": ', '"Paris"}'] }),
      ...toolCallSteps({ id: "call_2", name: "get_weather", index: 1, fragments: ['{"city": "Rome"}'] }),
      { type: "finish", choice: 0, reason: "tool_calls" },
      usageStep(12, 9),
    ];
    const { completion, stream } = await both(steps, { tools: [weather] });
    const choice = completion.choices[0];
    assert.equal(choice?.finish_reason, "tool_calls");
    assert.equal(choice?.message.content, null);
    assert.equal(choice?.message.function_call, undefined);
    assert.deepEqual(choice?.message.tool_calls, [
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } },
      { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city": "Rome"}' } },
    ]);
    const deltas = (stream.deltas.get(0) ?? []).slice(1);
    assert.deepEqual(deltas.slice(0, 4), [
      { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      { tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "get_weather", arguments: "" } }] },
    ]);
    assert.equal(stream.finish.get(0), "tool_calls");
  });

  it("legacy functions: answered in kind, function_call for the call and for the finish reason, in both modes", async () => {
    const steps: ChatEvent[] = [...toolCallSteps({ id: "call_9", name: "get_weather", fragments: ['{"city":', '"Oslo"}'] }), { type: "finish", choice: 0, reason: "tool_calls" }, usageStep(12, 5)];
    const { completion, stream } = await both(steps, { functions: [weather.function] });
    const choice = completion.choices[0];
    assert.equal(choice?.finish_reason, "function_call");
    assert.deepEqual(choice?.message.function_call, { name: "get_weather", arguments: '{"city":"Oslo"}' });
    assert.equal(choice?.message.tool_calls, undefined);
    assert.equal(stream.finish.get(0), "function_call");
    const deltas = (stream.deltas.get(0) ?? []).slice(1, -1);
    assert.deepEqual(deltas, [{ function_call: { name: "get_weather", arguments: "" } }, { function_call: { arguments: '{"city":' } }, { function_call: { arguments: '"Oslo"}' } }]);
    // A legacy request whose answer is text ends as any other.
    const text = await both([...textSteps("no call"), usageStep(3, 2)], { functions: [weather.function] });
    assert.equal(text.completion.choices[0]?.finish_reason, "stop");
    assert.equal(text.stream.finish.get(0), "stop");
  });

  it("usage: folded into the completion; streamed only with include_usage, as the last chunk, every other chunk saying usage: null", async () => {
    const steps = [...textSteps(["a", "b"]), usageStep(20, 2, { cachedTokens: 16, reasoningTokens: 1 })];
    const { completion, stream } = await both(steps, {}, { stream_options: { include_usage: true } });
    const wire = { prompt_tokens: 20, completion_tokens: 2, total_tokens: 22, prompt_tokens_details: { cached_tokens: 16 }, completion_tokens_details: { reasoning_tokens: 1 } };
    assert.deepEqual(completion.usage, wire);
    const last = stream.chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.deepEqual(last?.usage, wire);
    for (const chunk of stream.chunks.slice(0, -1)) assert.equal(chunk.usage, null);
    // include_usage: false is as if absent.
    script = { steps };
    const off = readStream((await injectChat(t.app, chatBody({ stream: true, stream_options: { include_usage: false } }))).body);
    assert.ok(off.chunks.every((c) => !("usage" in c) && c.choices.length > 0));
  });

  it("thoughts: reasoning_content by default, never in the same delta as content", async () => {
    const steps: ChatEvent[] = [
      { type: "reasoning", choice: 0, text: "Let me ", logprobs: [] },
      { type: "reasoning", choice: 0, text: "think.", logprobs: [] },
      ...textSteps("Answer."),
      usageStep(5, 4, { reasoningTokens: 2 }),
    ];
    const { completion, stream } = await both(steps);
    const message = completion.choices[0]?.message as ChatCompletion["choices"][number]["message"] & { reasoning_content?: string; reasoning?: string };
    assert.equal(message.reasoning_content, "Let me think.");
    assert.equal(message.reasoning, undefined);
    assert.equal(message.content, "Answer.");
    const deltas = (stream.deltas.get(0) ?? []).slice(1, -1);
    assert.deepEqual(deltas, [{ reasoning_content: "Let me " }, { reasoning_content: "think." }, { content: "Answer." }]);
  });

  it("logprobs: OpenAI's shape, bytes included; an impossible token's -Infinity is sent as -9999", async () => {
    const steps: ChatEvent[] = [
      {
        type: "delta",
        choice: 0,
        text: "é",
        logprobs: [
          lp("é", -0.5, [
            ["é", -0.5],
            ["e", -1.25],
          ]),
        ],
      },
      { type: "delta", choice: 0, text: "!", logprobs: [lp("!", Number.NEGATIVE_INFINITY, [["?", -0.1]])] },
      { type: "finish", choice: 0, reason: "stop" },
      usageStep(3, 2),
    ];
    const { completion, stream } = await both(steps, { logprobs: true, top_logprobs: 2 });
    const expected = [
      {
        token: "é",
        logprob: -0.5,
        bytes: [195, 169],
        top_logprobs: [
          { token: "é", logprob: -0.5, bytes: [195, 169] },
          { token: "e", logprob: -1.25, bytes: [101] },
        ],
      },
      { token: "!", logprob: -9999, bytes: [33], top_logprobs: [{ token: "?", logprob: -0.1, bytes: [63] }] },
    ];
    assert.deepEqual(completion.choices[0]?.logprobs, { content: expected, refusal: null });
    const streamed = stream.chunks.flatMap((c) => c.choices.flatMap((choice) => choice.logprobs?.content ?? []));
    assert.deepEqual(streamed, expected);
    // Without logprobs asked for, none are sent even when the engine reports them.
    script = { steps };
    const plain = (await injectChat(t.app, chatBody())).json<ChatCompletion>();
    assert.equal(plain.choices[0]?.logprobs, null);
  });

  it("best_of: the choice's cumulative_logprob beside it (not streamed: best_of cannot be)", async () => {
    script = { steps: [...textSteps("best", { finish: null }), { type: "score", choice: 0, cumulativeLogprob: -1.5 }, { type: "finish", choice: 0, reason: "length" }, usageStep(3, 8)] };
    const res = await injectChat(t.app, chatBody({ best_of: 3, max_tokens: 4 }));
    assert.equal(res.statusCode, 200, res.body);
    const choice = res.json<ChatCompletion>().choices[0] as ChatCompletion["choices"][number] & { cumulative_logprob?: number; beam_score?: number };
    assert.equal(choice.cumulative_logprob, -1.5);
    assert.equal(choice.beam_score, undefined);
    assert.equal(choice.finish_reason, "length");
  });

  it("prompt_logprobs (vLLM): aligned with the prompt, the first null; top level in the completion, a choice-less chunk before any text", async () => {
    const entries = [null, lp("Hi", -2)];
    const steps: ChatEvent[] = [{ type: "prompt_logprobs", entries }, ...textSteps("ok"), usageStep(2, 1)];
    const { completion, stream } = await both(steps, { prompt_logprobs: 0 });
    const wire = [null, { token: "Hi", logprob: -2, bytes: [72, 105], top_logprobs: [] }];
    assert.deepEqual((completion as ChatCompletion & { prompt_logprobs?: unknown }).prompt_logprobs, wire);
    const at = stream.chunks.findIndex((c) => "prompt_logprobs" in c);
    assert.ok(at >= 0, "a chunk carries the prompt's log-probabilities");
    assert.deepEqual((stream.chunks[at] as Chunk & { prompt_logprobs?: unknown }).prompt_logprobs, wire);
    assert.deepEqual(stream.chunks[at]?.choices, []);
    const firstText = stream.chunks.findIndex((c) => c.choices.some((choice) => (choice.delta.content ?? "") !== ""));
    assert.ok(at < firstText, "before any text");
  });

  it("warnings reach the client in x-parley-warnings (JSON, ASCII-escaped); none: no header", async () => {
    script = { steps: [...textSteps("ok"), usageStep(1, 1)], warnings: ["`format` ignored", "naïve"] };
    const res = await injectChat(t.app, chatBody());
    assert.equal(res.statusCode, 200);
    const header = String(res.headers["x-parley-warnings"]);
    assert.match(header, /^[\x20-\x7e]+$/);
    assert.deepEqual(JSON.parse(header), ["`format` ignored", "naïve"]);
    script = { steps: [...textSteps("ok"), usageStep(1, 1)] };
    assert.equal((await injectChat(t.app, chatBody())).headers["x-parley-warnings"], undefined);
  });

  it("hands the engine the request it was sent (model, messages, n, max_tokens, stop)", async () => {
    script = { steps: [...textSteps("ok"), usageStep(1, 1)] };
    const calls = t.engine.calls.length;
    await injectChat(
      t.app,
      chatBody({
        max_tokens: 9,
        stop: ["END"],
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
        ],
      }),
    );
    const request = t.engine.calls[calls]?.request;
    assert.ok(request !== undefined);
    assert.equal(request.model, FAKE_MODEL);
    assert.deepEqual(
      request.messages.map((m) => [m.role, m.content]),
      [
        ["system", "Be brief."],
        ["user", "Hi"],
      ],
    );
    assert.equal(request.n, 1);
    assert.equal(request.maxTokens, 9);
    assert.deepEqual(request.stop, ["END"]);
  });
});

describe("the reasoning field setting (--reasoning-field)", () => {
  for (const [field, expected] of [
    ["reasoning", { reasoning: "hm" }],
    ["both", { reasoning_content: "hm", reasoning: "hm" }],
  ] as const) {
    it(`${field}: thoughts under ${Object.keys(expected).join(" and ")}`, async () => {
      const steps: ChatEvent[] = [{ type: "reasoning", choice: 0, text: "hm", logprobs: [] }, ...textSteps("ok"), usageStep(1, 2)];
      const t = await fakeApp({ reasoningField: field, engines: [new FakeEngine({ script: { steps } })] });
      try {
        const message = (await injectChat(t.app, chatBody())).json<ChatCompletion>().choices[0]?.message as unknown as Record<string, unknown>;
        for (const [key, value] of Object.entries(expected)) assert.equal(message[key], value, key);
        if (field === "reasoning") assert.equal(message.reasoning_content, undefined);
        const stream = readStream((await injectChat(t.app, chatBody({ stream: true }))).body);
        assert.deepEqual(stream.deltas.get(0)?.[1], expected);
      } finally {
        await t.close();
      }
    });
  }
});

describe("models and aliases (fake engines)", () => {
  it("GET /v1/models lists every engine's models, then the aliases; an alias reaches its model's engine", async () => {
    const a = new FakeEngine({ models: ["model-a"], script: { steps: [...textSteps("from a"), usageStep(1, 1)] } });
    const b = new FakeEngine({ models: ["model-b"], script: { steps: [...textSteps("from b"), usageStep(1, 1)] } });
    const t = await fakeApp({ engines: [a, b], aliases: new Map([["b-latest", "model-b"]]) });
    try {
      const list = await t.app.inject({ method: "GET", url: "/v1/models" });
      assert.equal(list.statusCode, 200);
      const body = list.json<{ object: string; data: { id: string; object: string; owned_by: string }[] }>();
      assert.equal(body.object, "list");
      assert.deepEqual(
        body.data.map((m) => [m.id, m.object, m.owned_by]),
        [
          ["model-a", "model", "parley-test"],
          ["model-b", "model", "parley-test"],
          ["b-latest", "model", "parley-test"],
        ],
      );
      const viaAlias = await injectChat(t.app, chatBody({}, "b-latest"));
      assert.equal(viaAlias.statusCode, 200, viaAlias.body);
      const completion = viaAlias.json<ChatCompletion>();
      assert.equal(completion.choices[0]?.message.content, "from b");
      assert.equal(completion.model, "b-latest", "answered under the name the client sent");
      assert.equal(a.calls.length, 0);
      assert.equal(b.calls.length, 1);
    } finally {
      await t.close();
    }
  });
});
