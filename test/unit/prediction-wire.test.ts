import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toUsage } from "../../src/engines/upstream/chunk-events.ts";
import type { UpstreamDialect } from "../../src/engines/upstream/dialect.ts";
import { toTextWireRequest } from "../../src/engines/upstream/text-wire-request.ts";
import { toWireRequest } from "../../src/engines/upstream/wire-request.ts";
import { toWireUsage } from "../../src/http/dialects/openai-wire.ts";
import { chatRequest } from "../support/chat-request.ts";

/** `prediction` on upstreams: forwarded to the dialects that read it, refused by name by the others; its counts read back. */
describe("prediction on upstreams", () => {
  const options = (dialect: UpstreamDialect) => ({ model: "up", modelId: "front", stream: false, dialect });
  const request = chatRequest({ prediction: "the predicted text" });

  it("is sent to OpenAI and another Parley, and refused by vLLM, llama-server and SGLang", () => {
    for (const dialect of ["openai", "parley"] as const) {
      assert.deepEqual(toWireRequest(request, options(dialect)).body.prediction, { type: "content", content: "the predicted text" });
    }
    for (const dialect of ["vllm", "llama-server", "sglang"] as const) {
      assert.throws(
        () => toWireRequest(request, options(dialect)),
        (error: { param?: string }) => error.param === "prediction",
      );
    }
    assert.equal(toWireRequest(chatRequest({}), options("openai")).body.prediction, undefined);
  });

  it("text completions: another Parley only (OpenAI's legacy API has no Predicted Outputs)", () => {
    const text = chatRequest({ prediction: "p", messages: [], text: { prompt: "Once" } });
    assert.deepEqual(toTextWireRequest(text, options("parley")).body.prediction, { type: "content", content: "p" });
    assert.throws(
      () => toTextWireRequest(text, options("openai")),
      (error: { param?: string }) => error.param === "prediction",
    );
  });

  it("the counts travel both ways in usage", () => {
    const usage = toUsage({ prompt_tokens: 5, completion_tokens: 9, completion_tokens_details: { accepted_prediction_tokens: 4, rejected_prediction_tokens: 2 } });
    assert.equal(usage.acceptedPredictionTokens, 4);
    assert.equal(usage.rejectedPredictionTokens, 2);
    assert.deepEqual(toWireUsage(usage).completion_tokens_details, { accepted_prediction_tokens: 4, rejected_prediction_tokens: 2 });
    assert.equal(toWireUsage({ promptTokens: 1, completionTokens: 1, cachedTokens: 0 }).completion_tokens_details, undefined);
  });
});
