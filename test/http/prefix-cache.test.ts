import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

/**
 * Prefix-aware placement: a request goes to the free sequence whose cache shares the longest
 * prefix with its prompt, and only the rest of the prompt is evaluated.
 */
describe("prefix-aware placement", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "2", "--ctx-size", "2048"]);
  });
  after(() => t.close());

  const words = (seed: string) => Array.from({ length: 120 }, (_, i) => `${seed}${i}`).join(" ");
  const ask = (content: string, maxTokens: number) => t.client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }], max_tokens: maxTokens, logit_bias: NO_EOS });

  it("a repeated prompt goes to the sequence that cached it, even when another one has been free longer", async () => {
    const p1 = words("alpha");
    const p2 = words("beta");
    // A (P1) holds slot 1 the longer; B (P2) runs on slot 2 meanwhile and gives it back first, so
    // slot 2 is the one free the longest: first-come placement would put P1 on it.
    const a = ask(p1, 300);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const b = await ask(p2, 3);
    assert.equal(b.usage?.completion_tokens, 3);
    const first = await a;
    assert.equal(first.usage?.prompt_tokens_details?.cached_tokens, 0);

    const again = await ask(p1, 3);
    const promptTokens = again.usage?.prompt_tokens ?? 0;
    assert.ok(promptTokens > 200, `prompt_tokens ${promptTokens}`);
    // The last prompt token is always evaluated again (its logits are needed to sample).
    assert.equal(again.usage?.prompt_tokens_details?.cached_tokens, promptTokens - 1);

    const other = await ask(p2, 3);
    assert.equal(other.usage?.prompt_tokens_details?.cached_tokens, (other.usage?.prompt_tokens ?? 0) - 1);
  });
});
