/**
 * `n` > 1 evaluates the prompt once: the first choice evaluates it and the others copy its KV
 * state (prompt-fork.ts). Counted with the engine's decode-batch statistics; the copied state must
 * give exactly what evaluating the prompt would.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

describe("n > 1 shares one prompt evaluation", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "3", "--ctx-size", "1024"]);
  });
  after(() => t.close());

  const evaluatedTokens = () => t.server.router.resolve(MODEL).stats?.().batches?.tokens ?? NaN;
  const ask = (content: string, extra: Record<string, unknown>) =>
    t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], max_tokens: 4, temperature: 1, logit_bias: NO_EOS, ...extra });

  it("evaluates a fresh prompt once for n = 3, and the choices equal separate requests", async () => {
    const prompt = "Describe, at some length and in detail, the history of the weather in a small town. ".repeat(8);
    const before = evaluatedTokens();
    const shared = await ask(prompt, { n: 3, seed: 11 });
    const evaluated = evaluatedTokens() - before;
    const promptTokens = shared.usage?.prompt_tokens ?? 0;
    assert.ok(promptTokens > 200);
    // One prompt, plus each choice's last prompt token and 4 generated tokens.
    assert.ok(evaluated < promptTokens + 3 * 6, `${evaluated} tokens evaluated for a ${promptTokens}-token prompt and 3 choices`);
    for (let i = 0; i < 3; i++) {
      const alone = await ask(prompt, { seed: 11 + i });
      assert.equal(shared.choices[i]?.message.content, alone.choices[0]?.message.content, `choice ${i}`);
    }
  });
});
