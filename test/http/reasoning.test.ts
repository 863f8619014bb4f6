/**
 * Reasoning models over HTTP, on a tiny random-weight model carrying Qwen3's real tokenizer and
 * chat template (src/testing/real-tokenizer-model.ts). The random model never thinks on its own,
 * so the tests make it: a template that opens the think block in the generation prompt (as
 * DeepSeek-R1's does), or an output constraint (the model is made to open the block), with a
 * thinking budget that closes it. The properties hold whatever the model writes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { ensureRealTokenizerTestModel } from "../../src/testing/real-tokenizer-model.ts";
import { parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { TEST_TOOLS } from "../support/tools.ts";
import { validatorFor } from "../support/validate-json.ts";

const MODEL = "qwen3-test";

/** A client template that opens the think block in the generation prompt, as DeepSeek-R1's does. */
const OPENS_THOUGHTS = ["{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}", "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"].join(
  "",
);

interface Thoughtful {
  readonly reasoning_content?: string;
  readonly reasoning?: string;
  readonly content: string | null;
}

interface StreamedOutput {
  readonly reasoning: string;
  readonly content: string;
  /** Kinds of the deltas in order: "r" reasoning, "c" content, "t" tool call. */
  readonly order: string;
  readonly arguments: string;
  readonly finish: string | null;
  readonly usage: ChatCompletion["usage"];
}

async function stream(t: TestServer, body: Record<string, unknown>): Promise<StreamedOutput> {
  const res = await postChat(t.url, { ...body, stream: true, stream_options: { include_usage: true } });
  assert.equal(res.status, 200, await res.clone().text());
  let reasoning = "";
  let content = "";
  let order = "";
  let args = "";
  let finish: string | null = null;
  let usage: ChatCompletion["usage"];
  for (const payload of parseSse(await res.text())) {
    if (payload === "[DONE]") continue;
    const chunk = JSON.parse(payload) as { choices: { delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: ChatCompletion["usage"] };
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      const { delta } = choice;
      const thought = typeof delta.reasoning_content === "string" ? delta.reasoning_content : "";
      const text = typeof delta.content === "string" ? delta.content : "";
      assert.ok(thought === "" || text === "", "a delta never mixes thoughts and content");
      if (thought !== "") order += "r";
      if (text !== "") order += "c";
      reasoning += thought;
      content += text;
      const calls = delta.tool_calls as { function?: { arguments?: string } }[] | undefined;
      if (calls !== undefined) {
        order += "t";
        args += calls.map((c) => c.function?.arguments ?? "").join("");
      }
      finish = choice.finish_reason ?? finish;
    }
  }
  return { reasoning, content, order, arguments: args, finish, usage };
}

describe("reasoning models (Qwen3 tokenizer and template)", () => {
  let t: TestServer;
  let endTokens: Record<string, number>;
  let closeTokens: number;
  let tokenId: (text: string) => Promise<number>;

  before(async () => {
    const model = await ensureRealTokenizerTestModel("qwen3");
    t = await startTestServer(["--model", model, "--model-alias", MODEL, "--ctx-size", "1024"]);
    const ids = async (content: string) =>
      ((await (await fetch(`${t.url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content }) })).json()) as { tokens: number[] }).tokens;
    endTokens = Object.fromEntries([...(await ids("<|im_end|><|endoftext|>"))].map((id) => [String(id), -100]));
    closeTokens = (await ids("\n</think>\n\n")).length;
    tokenId = async (text) => (await ids(text))[0] ?? -1;
  });
  after(() => t?.close());

  const user = [{ role: "user", content: "What is 2 + 2?" }];
  const applyTemplate = async (body: Record<string, unknown>) => {
    const res = await fetch(`${t.url}/apply-template`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, ...body }) });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { prompt: string }).prompt;
  };

  it("splits thoughts from the answer, the same streamed or not, and counts them in usage", async () => {
    const body = { model: MODEL, messages: user, chat_template: OPENS_THOUGHTS, max_tokens: 24, thinking_token_budget: 6, seed: 11, temperature: 1, logit_bias: endTokens };
    const res = await postChat(t.url, body);
    assert.equal(res.status, 200, await res.clone().text());
    const completion = (await res.json()) as ChatCompletion;
    const message = completion.choices[0]?.message as unknown as Thoughtful;
    assert.ok((message.reasoning_content ?? "") !== "", "the thoughts are in reasoning_content");
    assert.ok(!(message.reasoning_content ?? "").includes("</think>"), "markers never leak into the thoughts");
    assert.ok((message.content ?? "") !== "", "the answer follows the closed thoughts");
    const usage = completion.usage;
    const thoughtTokens = usage?.completion_tokens_details?.reasoning_tokens ?? 0;
    assert.equal(usage?.completion_tokens, 24);
    assert.ok(thoughtTokens >= 6 && thoughtTokens <= 6 + closeTokens, `reasoning_tokens ${thoughtTokens}: the budget of 6, plus the closing markers`);

    const streamed = await stream(t, body);
    assert.equal(streamed.reasoning, message.reasoning_content);
    assert.equal(streamed.content, message.content);
    assert.match(streamed.order, /^r+c+$/, "thoughts first, then the answer");
    assert.equal(streamed.usage?.completion_tokens, usage?.completion_tokens);
    assert.equal(streamed.usage?.completion_tokens_details?.reasoning_tokens, thoughtTokens);
  });

  it("forced thought markers combine with drafting from a prediction: the same output, greedy", async () => {
    const body = { model: MODEL, messages: user, chat_template: OPENS_THOUGHTS, max_tokens: 24, thinking_token_budget: 6, temperature: 0, logit_bias: endTokens };
    const plain = ((await (await postChat(t.url, body)).json()) as ChatCompletion).choices[0]?.message as unknown as Thoughtful;
    const prediction = { type: "content", content: `${plain.reasoning_content ?? ""}\n</think>\n\n${plain.content ?? ""}` };
    const res = await postChat(t.url, { ...body, prediction });
    assert.equal(res.status, 200, await res.clone().text());
    const drafted = (await res.json()) as ChatCompletion;
    const message = drafted.choices[0]?.message as unknown as Thoughtful;
    assert.equal(message.reasoning_content, plain.reasoning_content);
    assert.equal(message.content, plain.content);
    const details = drafted.usage?.completion_tokens_details ?? {};
    assert.ok((details.accepted_prediction_tokens ?? 0) + (details.rejected_prediction_tokens ?? 0) > 0, `nothing was drafted: ${JSON.stringify(drafted.usage)}`);
  });

  it("does not take a think marker in the conversation for an opened block", async () => {
    const thinkId = await tokenId("<think>");
    const body = { model: MODEL, messages: [{ role: "user", content: "What does a <think> tag do?" }], max_tokens: 8, seed: 3, logit_bias: { ...endTokens, [String(thinkId)]: -100 } };
    const completion = (await (await postChat(t.url, body)).json()) as ChatCompletion;
    const message = completion.choices[0]?.message as unknown as Thoughtful;
    assert.equal(message.reasoning_content, undefined);
    assert.ok((message.content ?? "") !== "");
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 0);
  });

  it("matches stop strings on the answer only, never on the thoughts", async () => {
    const body = { model: MODEL, messages: user, chat_template: OPENS_THOUGHTS, max_tokens: 20, thinking_token_budget: 8, seed: 21, temperature: 1, logit_bias: endTokens };
    const first = ((await (await postChat(t.url, body)).json()) as ChatCompletion).choices[0]?.message as unknown as Thoughtful;
    const thoughts = first.reasoning_content ?? "";
    const stop = thoughts.slice(0, 6);
    assert.ok(stop.length === 6 && !(first.content ?? "").includes(stop), `a stop string found only in the thoughts (${JSON.stringify(stop)})`);
    const second = ((await (await postChat(t.url, { ...body, stop: [stop] })).json()) as ChatCompletion).choices[0]?.message as unknown as Thoughtful;
    assert.equal(second.reasoning_content, thoughts);
    assert.equal(second.content, first.content);
  });

  it("puts the answer after the thoughts under an output constraint, and keeps it valid", async () => {
    const schema = { type: "object", properties: { answer: { type: "integer" }, why: { type: "string", maxLength: 12 } }, required: ["answer", "why"], additionalProperties: false };
    const valid = validatorFor(schema);
    for (const seed of [1, 2, 3]) {
      const body = {
        model: MODEL,
        messages: user,
        max_tokens: 80,
        thinking_token_budget: 8,
        seed,
        temperature: 1,
        response_format: { type: "json_schema", json_schema: { name: "answer", strict: true, schema } },
      };
      const streamed = await stream(t, body);
      assert.ok(streamed.reasoning !== "", "the model thinks first");
      assert.match(streamed.order, /^r+c+$/);
      assert.equal(streamed.finish, "stop");
      assert.ok(valid(JSON.parse(streamed.content)), `schema-valid answer: ${streamed.content}`);
    }
  });

  it("streams thoughts, then the tool call, when a tool is required", async () => {
    const streamed = await stream(t, { model: MODEL, messages: user, tools: TEST_TOOLS, tool_choice: "required", max_tokens: 120, thinking_token_budget: 5, seed: 4, temperature: 1 });
    assert.match(streamed.order, /^r+t+$/, `order ${streamed.order}`);
    assert.equal(streamed.finish, "tool_calls");
    assert.ok(streamed.arguments !== "");
  });

  it("turns thinking off with reasoning_effort none or enable_thinking false, as the template does", async () => {
    assert.ok((await applyTemplate({ messages: user })).endsWith("<|im_start|>assistant\n"));
    for (const off of [{ reasoning_effort: "none" }, { chat_template_kwargs: { enable_thinking: false } }]) {
      assert.ok((await applyTemplate({ messages: user, ...off })).endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"), JSON.stringify(off));
    }
    const res = await postChat(t.url, { model: MODEL, messages: user, reasoning_effort: "none", max_tokens: 8, seed: 1 });
    const completion = (await res.json()) as ChatCompletion;
    const message = completion.choices[0]?.message;
    assert.ok(message);
    assert.equal((message as unknown as Thoughtful).reasoning_content, undefined);
    assert.equal(completion.usage?.completion_tokens_details?.reasoning_tokens, 0);
  });

  it("accepts every effort level on a reasoning model", async () => {
    for (const effort of ["minimal", "low", "medium", "high", "xhigh", "max"]) {
      const res = await postChat(t.url, { model: MODEL, messages: user, reasoning_effort: effort, max_tokens: 2 });
      assert.equal(res.status, 200, effort);
    }
  });

  it("shows earlier thoughts to the template, under either name", async () => {
    for (const field of ["reasoning_content", "reasoning"]) {
      const prompt = await applyTemplate({ messages: [...user, { role: "assistant", content: "Four.", [field]: "Adding two and two." }], add_generation_prompt: false });
      assert.ok(prompt.includes("<think>\nAdding two and two.\n</think>\n\nFour."), `${field}: ${prompt}`);
    }
  });

  it("renders the same prompt for /apply-template as for generation", async () => {
    const body = { messages: [...user, { role: "assistant", content: "4", reasoning_content: "easy" }, { role: "user", content: "And 3 + 3?" }], reasoning_effort: "none" };
    const prompt = await applyTemplate(body);
    const tokens = (
      (await (await fetch(`${t.url}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: prompt, add_special: true }) })).json()) as {
        tokens: number[];
      }
    ).tokens;
    const completion = (await (await postChat(t.url, { model: MODEL, ...body, max_tokens: 1 })).json()) as ChatCompletion;
    assert.equal(tokens.length, completion.usage?.prompt_tokens);
  });
});

describe("reasoning server options", () => {
  it("--reasoning-format none keeps thoughts in content; --reasoning-field both sends both names", async () => {
    const model = await ensureRealTokenizerTestModel("qwen3");
    const body = { model: MODEL, messages: [{ role: "user", content: "Hi" }], chat_template: OPENS_THOUGHTS, max_tokens: 12, thinking_token_budget: 3, seed: 5 };
    const both = await startTestServer(["--model", model, "--model-alias", MODEL, "--reasoning-field", "both"]);
    let split: Thoughtful;
    try {
      split = ((await (await postChat(both.url, body)).json()) as { choices: { message: Thoughtful }[] }).choices[0]!.message;
      assert.ok(split.reasoning_content !== undefined && split.reasoning_content === split.reasoning);
    } finally {
      await both.close();
    }
    const none = await startTestServer(["--model", model, "--model-alias", MODEL, "--reasoning-format", "none"]);
    try {
      const raw = ((await (await postChat(none.url, body)).json()) as { choices: { message: Thoughtful }[] }).choices[0]!.message;
      assert.equal(raw.reasoning_content, undefined);
      assert.ok((raw.content ?? "").includes("</think>"), "thoughts stay in content, markers included");
      // The thoughts are still recognised: efforts and budgets work.
      const bounded = (await (await postChat(none.url, { ...body, reasoning_effort: "low", thinking_token_budget: 2 })).json()) as ChatCompletion;
      assert.ok((bounded.usage?.completion_tokens_details?.reasoning_tokens ?? 0) > 0);
    } finally {
      await none.close();
    }
  });

  it("a model that does not reason accepts reasoning_effort none and refuses the other levels", async () => {
    const plain = await startTestServer();
    try {
      const ok = await postChat(plain.url, { model: "parley-test-model", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "none", max_tokens: 2 });
      assert.equal(ok.status, 200);
      const refused = await postChat(plain.url, { model: "parley-test-model", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "high", max_tokens: 2 });
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { error: { param: string } }).error.param, "reasoning_effort");
    } finally {
      await plain.close();
    }
  });
});
