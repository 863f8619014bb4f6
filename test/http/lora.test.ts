/**
 * OctoAI's `peft`: LoRA adapters registered with `--lora <id>=<path>[:scale]`, applied per request.
 * The adapter is the project's own tiny LoRA for the test model (test/support/test-lora.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { ensureTestLora } from "../support/test-lora.ts";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

describe("LoRA adapters (peft)", () => {
  let t: TestServer;
  before(async () => {
    const lora = await ensureTestLora();
    t = await startTestServer(["--lora", `style=${lora}`, "--lora", `off=${lora}:0`, "--parallel", "2"]);
  });
  after(() => t.close());

  const ask = async (extra: Record<string, unknown>, content = "Tell me about the weather."): Promise<string> => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content }], temperature: 0, max_tokens: 16, logit_bias: NO_EOS, ...extra });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as ChatCompletion).choices[0]?.message.content ?? "";
  };

  it("the adapter changes the output; scale 0 and no adapter give the base output", async () => {
    const base = await ask({});
    const adapted = await ask({ peft: "style" });
    assert.notEqual(adapted, base);
    assert.equal(await ask({ peft: "style" }), adapted, "deterministic");
    assert.equal(await ask({ peft: "off" }), base);
    assert.equal(await ask({ peft: null }), base);
  });

  it("requests with and without the adapter run concurrently without affecting each other", async () => {
    const prompts = ["Tell me about the weather.", "Write a poem.", "What is two plus two?"];
    const alone = new Map<string, string>();
    for (const prompt of prompts) {
      alone.set(`base:${prompt}`, await ask({}, prompt));
      alone.set(`style:${prompt}`, await ask({ peft: "style" }, prompt));
    }
    const jobs = prompts.flatMap((prompt) => [
      { key: `base:${prompt}`, run: () => ask({}, prompt) },
      { key: `style:${prompt}`, run: () => ask({ peft: "style" }, prompt) },
    ]);
    const together = await Promise.all(jobs.map(async (job) => [job.key, await job.run()] as const));
    for (const [key, output] of together) assert.equal(output, alone.get(key), key);
  });

  it("an unknown adapter is a 404 naming it", async () => {
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "hi" }], peft: "nope" });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { param: string; message: string; code: string } };
    assert.equal(body.error.param, "peft");
    assert.match(body.error.message, /nope/);
  });
});
