/**
 * Tool calling end to end on each supported family's own template and special tokens (test GGUFs
 * written by the test-model writer): the grammar writes the family's format, the parser reads it
 * back, markers never reach `content`, and streamed calls equal non-streamed ones.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { familyTestModelOptions } from "../../src/testing/family-templates.ts";
import { ensureTestModel, TEST_MODEL_SPECIAL_TOKENS, type TestModelOptions } from "../../src/testing/test-model.ts";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { assertValidCall, foldStream, TEST_TOOLS } from "../support/tools.ts";

const FAMILIES: { name: string; model: TestModelOptions; marker: number; markerText: string }[] = [
  { name: "llama3", model: familyTestModelOptions("llama3"), marker: 6, markerText: "<|python_tag|>" },
  { name: "mistral", model: familyTestModelOptions("mistral"), marker: 4, markerText: "[TOOL_CALLS]" },
  { name: "qwen (hermes)", model: familyTestModelOptions("qwen"), marker: TEST_MODEL_SPECIAL_TOKENS.toolCallStart.id, markerText: "<tool_call>" },
  { name: "no template (generic JSON envelope)", model: { chatTemplate: false }, marker: -1, markerText: '{"tool_calls"' },
];

for (const family of FAMILIES) {
  describe(`tool calling: ${family.name}`, () => {
    let t: TestServer;
    before(async () => {
      const path = await ensureTestModel({ model: family.model });
      t = await startTestServer(["--model", path, "--model-alias", MODEL, "--ctx-size", "2048"]);
    });
    after(() => t.close());

    const post = async (body: Record<string, unknown>) => {
      const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Book a flight to Oslo." }], tools: TEST_TOOLS, max_tokens: 300, ...body });
      assert.equal(res.status, 200, await res.clone().text());
      return res;
    };

    it("required: schema-valid calls in the family's format, streamed = non-streamed", async () => {
      let complete = 0;
      for (let seed = 1; seed <= 5; seed++) {
        const body = { tool_choice: "required", temperature: 1, seed };
        const result = (await (await post(body)).json()) as ChatCompletion;
        const choice = result.choices[0];
        const calls = choice?.message.tool_calls ?? [];
        assert.ok(calls.length >= 1, `seed ${seed}: ${JSON.stringify(choice?.message)}`);
        if (choice?.finish_reason === "length") continue;
        complete++;
        assert.equal(choice?.finish_reason, "tool_calls");
        for (const call of calls) if (call.type === "function") assertValidCall(call.function, `(seed ${seed})`);
        const streamed = foldStream(parseSse(await (await post({ ...body, stream: true })).text()));
        assert.deepEqual(
          streamed.calls.map((c) => [c.name, c.arguments]),
          calls.map((c) => (c.type === "function" ? [c.function.name, c.function.arguments] : [])),
        );
      }
      assert.ok(complete >= 3, `only ${complete} of 5 completed`);
    });

    it("none: no call and no marker text, even with the marker pushed", async () => {
      for (let seed = 1; seed <= 4; seed++) {
        const bias = family.marker < 0 ? {} : { logit_bias: { [family.marker]: 20 } };
        const result = (await (await post({ tool_choice: "none", temperature: 1, seed, max_tokens: 30, ...bias })).json()) as ChatCompletion;
        const message = result.choices[0]?.message;
        assert.equal(message?.tool_calls, undefined);
        assert.ok(!(message?.content ?? "").includes(family.markerText), JSON.stringify(message?.content));
      }
    });

    if (family.marker >= 0) {
      it("auto: the marker, when the model writes it, starts a valid call and never shows", async () => {
        let calls = 0;
        for (let seed = 1; seed <= 4; seed++) {
          const result = (await (await post({ tool_choice: "auto", temperature: 1, seed, logit_bias: { [family.marker]: 30 } })).json()) as ChatCompletion;
          const choice = result.choices[0];
          assert.ok(!(choice?.message.content ?? "").includes(family.markerText), JSON.stringify(choice?.message.content));
          for (const call of choice?.message.tool_calls ?? []) {
            calls++;
            if (choice?.finish_reason !== "length" && call.type === "function") assertValidCall(call.function);
          }
        }
        assert.ok(calls > 0, "a biased marker should start calls");
      });
    }
  });
}
