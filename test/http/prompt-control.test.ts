/**
 * vLLM's prompt-control fields over HTTP: add_generation_prompt, continue_final_message,
 * add_special_tokens, echo, chat_template and chat_template_kwargs. The prompt itself is not
 * visible, so each test compares `usage.prompt_tokens` and greedy outputs of requests whose
 * prompts must be equal, or must differ, if the field does what it says.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

const USER = { role: "user", content: "Tell me a story." };
const PREFIX = { role: "assistant", content: "Once upon a time" };
/** ChatML as the test model writes it, but the final message left open (what continuing must produce). */
const OPEN_FINAL_TEMPLATE = "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}{% if not loop.last %}<|im_end|>\n{% endif %}{% endfor %}";

describe("prompt control", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const post = (extra: Record<string, unknown>) => postChat(t.url, { model: MODEL, messages: [USER], temperature: 0, max_tokens: 8, logit_bias: NO_EOS, ...extra });
  const ask = async (extra: Record<string, unknown>): Promise<ChatCompletion> => {
    const res = await post(extra);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as ChatCompletion;
  };
  const error = async (extra: Record<string, unknown>): Promise<{ param: string | null; message: string }> => {
    const res = await post(extra);
    assert.equal(res.status, 400, await res.clone().text());
    return ((await res.json()) as { error: { param: string | null; message: string } }).error;
  };
  const promptTokens = async (extra: Record<string, unknown>) => (await ask(extra)).usage?.prompt_tokens ?? -1;
  const content = (c: ChatCompletion) => c.choices[0]?.message.content ?? "";

  it("add_generation_prompt false leaves the assistant turn unopened", async () => {
    const opened = await promptTokens({});
    const closed = await promptTokens({ add_generation_prompt: false });
    assert.ok(closed < opened, `${closed} vs ${opened}`);
    assert.equal(await promptTokens({ add_generation_prompt: true }), opened);
  });

  it("continue_final_message continues the final assistant message instead of closing it", async () => {
    const messages = [USER, PREFIX];
    const continued = await ask({ messages, continue_final_message: true });
    const expected = await ask({ messages, chat_template: OPEN_FINAL_TEMPLATE, add_generation_prompt: false });
    assert.equal(continued.usage?.prompt_tokens, expected.usage?.prompt_tokens);
    assert.equal(content(continued), content(expected));
    const closed = await ask({ messages, add_generation_prompt: false });
    assert.ok((closed.usage?.prompt_tokens ?? 0) > (continued.usage?.prompt_tokens ?? 0), "closing the turn adds its end marker");
    // Same as sending add_generation_prompt: false explicitly.
    assert.equal(content(await ask({ messages, continue_final_message: true, add_generation_prompt: false })), content(continued));
  });

  it("continue_final_message: 400s for a final non-assistant message and for add_generation_prompt true", async () => {
    assert.equal((await error({ continue_final_message: true })).param, "continue_final_message");
    assert.equal((await error({ messages: [USER, PREFIX], continue_final_message: true, add_generation_prompt: true })).param, "continue_final_message");
  });

  it("add_special_tokens adds BOS on top of the template's (the test model's template writes BOS)", async () => {
    const plain = await promptTokens({});
    assert.equal(await promptTokens({ add_special_tokens: true }), plain + 1);
    assert.equal(await promptTokens({ add_special_tokens: false }), plain);
    // A template without BOS still gets the one the model needs, by default, and only one.
    const noBos = OPEN_FINAL_TEMPLATE.replace("{{ bos_token }}", "");
    assert.equal(await promptTokens({ chat_template: noBos }), await promptTokens({ chat_template: OPEN_FINAL_TEMPLATE }));
  });

  it("echo prepends the final assistant message to the output, streamed or not", async () => {
    const messages = [USER, PREFIX];
    const plain = await ask({ messages, continue_final_message: true });
    const echoed = await ask({ messages, continue_final_message: true, echo: true });
    assert.equal(content(echoed), PREFIX.content + content(plain));
    assert.equal(echoed.usage?.completion_tokens, plain.usage?.completion_tokens, "echoed text is not generated");
    const res = await post({ messages, continue_final_message: true, echo: true, stream: true });
    const deltas = parseSse(await res.text())
      .filter((d) => d !== "[DONE]")
      .map((d) => (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "");
    assert.equal(deltas.join(""), content(echoed));
    assert.ok(deltas.includes(PREFIX.content), "the echo arrives as its own delta");
    assert.equal(content(await ask({ echo: true })), content(await ask({})), "nothing to echo after a user message");
  });

  it("chat_template and chat_template_kwargs render the prompt", async () => {
    const template = "{{ bos_token }}<|im_start|>{{ greeting }}{% for m in messages %} {{ m.content }}{% endfor %}<|im_end|>\n<|im_start|>assistant\n";
    const short = await promptTokens({ chat_template: template, chat_template_kwargs: { greeting: "hi" } });
    const long = await promptTokens({ chat_template: template, chat_template_kwargs: { greeting: "hello there, dear friend of mine" } });
    assert.ok(long > short, `${long} vs ${short}`);
    assert.notEqual(short, await promptTokens({}));
  });

  it("a broken or hostile chat_template is a 400 and the server keeps serving", async () => {
    assert.equal((await error({ chat_template: "{% for %}" })).param, "chat_template");
    assert.equal((await error({ chat_template: "{{ raise_exception('no thanks') }}" })).param, "chat_template");
    const started = Date.now();
    const loop = await error({ chat_template: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}" });
    assert.equal(loop.param, "chat_template");
    assert.ok(Date.now() - started < 10_000);
    assert.equal((await error({ chat_template: "x".repeat(70_000) })).param, "chat_template");
    assert.equal((await error({ chat_template: "x", chat_template_kwargs: { messages: [] } })).param, "chat_template_kwargs");
    assert.equal((await error({ chat_template_kwargs: { range: 1 } })).param, "chat_template_kwargs");
    assert.equal((await ask({})).choices[0]?.finish_reason, "length");
  });
});
