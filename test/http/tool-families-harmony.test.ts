/**
 * Tool calling end to end in gpt-oss's Harmony format, recognised from a client's template written
 * here in its style: the thoughts go to `reasoning_content`, then the grammar writes the next
 * message's header too — a `final` answer or a call on the `commentary` channel to
 * `functions.<name>` — so `tool_choice` decides the channel and the recipient. The default test
 * model has no control tokens for Harmony's markers: they are plain text here.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, foldStream, TEST_TOOLS } from "../support/tools.ts";

const HARMONY_STYLE = [
  "{%- set ns = namespace(last='') -%}",
  "<|start|>system<|message|>Channels: analysis, commentary, final.",
  "{%- if tools %} Tools go to commentary.\nnamespace functions {\n{% for t in tools %}type {{ t.function.name }} = (_: {{ t.function.parameters | tojson }}) => any;\n{% endfor %}}{% endif %}<|end|>",
  "{%- for m in messages %}",
  "{%- if m.role == 'user' %}<|start|>user<|message|>{{ m.content }}<|end|>",
  "{%- elif m.role == 'assistant' and m.tool_calls %}{% set tc = m.tool_calls[0].function %}{% set ns.last = tc.name %}",
  "<|start|>assistant to=functions.{{ tc.name }}<|channel|>commentary json<|message|>{{ tc.arguments | tojson }}<|call|>",
  "{%- elif m.role == 'tool' %}<|start|>functions.{{ ns.last }} to=assistant<|channel|>commentary<|message|>{{ m.content | tojson }}<|end|>",
  "{%- elif m.role == 'assistant' %}<|start|>assistant<|channel|>final<|message|>{{ m.content }}<|end|>",
  "{%- endif %}{% endfor %}{% if add_generation_prompt %}<|start|>assistant{% endif %}",
].join("");

const CALL_HEADER = /<\|channel\|>commentary to=functions\.\w+ <\|constrain\|>json<\|message\|>\{/;

describe("tool calling: Harmony (gpt-oss)", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  const post = async (body: Record<string, unknown>) => {
    const res = await postChat(t.url, {
      model: MODEL,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: TEST_TOOLS,
      chat_template: HARMONY_STYLE,
      thinking_token_budget: 6,
      max_tokens: 300,
      ...body,
    });
    assert.equal(res.status, 200, await res.clone().text());
    return res;
  };

  it("required: thoughts, then a schema-valid call on the commentary channel; streamed = non-streamed", async () => {
    let complete = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const body = { tool_choice: "required", temperature: 1, seed, logprobs: true };
      const result = (await (await post(body)).json()) as ChatCompletion & { choices: { message: { reasoning_content?: string } }[] };
      const choice = result.choices[0];
      const calls = choice?.message.tool_calls ?? [];
      assert.equal(calls.length, 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
      assert.ok((choice?.message.reasoning_content ?? "") !== "", "the model thought first");
      assert.equal(choice?.message.content ?? "", "");
      // Sampled tokens (forced ones, such as the thoughts' opening, have no log-probabilities).
      const written = (choice?.logprobs?.content ?? []).map((l) => l.token).join("");
      assert.match(written, CALL_HEADER);
      if (choice?.finish_reason === "length") continue;
      complete++;
      assert.equal(choice?.finish_reason, "tool_calls");
      for (const call of calls) if (call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
      const streamed = foldStream(parseSse(await (await post({ ...body, stream: true })).text()));
      assert.deepEqual(
        streamed.calls.map((c) => [c.name, c.arguments]),
        calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
      );
      assert.equal(streamed.content, "");
    }
    assert.ok(complete >= 2, `only ${complete} of 4 completed`);
  });

  it("a named call; without thoughts the call comes at once; none and auto answer on the final channel or call", async () => {
    const named = (await (await post({ tool_choice: { type: "function", function: { name: "create_event" } }, temperature: 1, seed: 9 })).json()) as ChatCompletion;
    assert.deepEqual(
      (named.choices[0]?.message.tool_calls ?? []).map((c) => (c.type === "function" ? c.function.name : "")),
      ["create_event"],
    );

    const quick = (await (await post({ tool_choice: "required", reasoning_effort: "none", temperature: 1, seed: 4, logprobs: true })).json()) as ChatCompletion;
    const written = (quick.choices[0]?.logprobs?.content ?? []).map((l) => l.token).join("");
    assert.match(written, new RegExp(`^(<\\|start\\|>assistant)?${CALL_HEADER.source}`));
    assert.equal(quick.choices[0]?.message.tool_calls?.length, 1);

    for (const seed of [1, 2, 3]) {
      const none = (await (await post({ tool_choice: "none", temperature: 1, seed, max_tokens: 40, logprobs: true })).json()) as ChatCompletion;
      assert.equal(none.choices[0]?.message.tool_calls, undefined);
      assert.ok(!(none.choices[0]?.message.content ?? "").includes("<|"), none.choices[0]?.message.content ?? "");
      const auto = (await (await post({ tool_choice: "auto", temperature: 1, seed, max_tokens: 60 })).json()) as ChatCompletion;
      const message = auto.choices[0]?.message;
      assert.ok(!(message?.content ?? "").includes("<|"), message?.content ?? "");
      if ((message?.tool_calls?.length ?? 0) > 0) assert.equal(message?.content ?? "", "");
    }
  });

  it("renders an earlier call and its result as the template expects", async () => {
    const history = [
      { role: "user", content: "Weather in Oslo?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Oslo"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "3 C" },
    ];
    const res = await fetch(`${t.url}/apply-template`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: history, tools: TEST_TOOLS, chat_template: HARMONY_STYLE }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { prompt } = (await res.json()) as { prompt: string };
    assert.ok(prompt.includes('<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Oslo"}<|call|><|start|>functions.get_weather to=assistant'), prompt);
  });
});
