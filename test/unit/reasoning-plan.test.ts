import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planReasoning } from "../../src/chat/reasoning/plan.ts";
import type { ChatRequest } from "../../src/domain/chat.ts";
import { ParleyError } from "../../src/domain/errors.ts";
import type { ReasoningFormat, ReasoningRequest } from "../../src/domain/reasoning.ts";

const THINK: ReasoningFormat = { kind: "tags", open: "<think>", close: "</think>" };
const HARMONY: ReasoningFormat = { kind: "harmony" };

function request(reasoning: Partial<ReasoningRequest>, kwargs: Record<string, unknown> = {}): Pick<ChatRequest, "reasoning" | "prompt"> {
  return {
    reasoning: { effort: undefined, budget: undefined, ...reasoning },
    prompt: { addGenerationPrompt: true, continueFinalMessage: false, addSpecialTokens: false, echo: false, chatTemplate: undefined, chatTemplateKwargs: kwargs },
  };
}

describe("reasoning plan", () => {
  it("thinks by default, unbounded, and tells the template enable_thinking", () => {
    const plan = planReasoning(THINK, request({}));
    assert.deepEqual([plan.thinking, plan.budget, plan.variables], [true, undefined, { enable_thinking: true }]);
  });

  it("turns thinking off with effort none, enable_thinking false, or a server budget of 0", () => {
    for (const plan of [planReasoning(THINK, request({ effort: "none" })), planReasoning(THINK, request({}, { enable_thinking: false })), planReasoning(THINK, request({}), { budget: 0 })]) {
      assert.equal(plan.thinking, false);
      assert.equal(plan.budget, 0);
      assert.equal(plan.variables.enable_thinking, false);
    }
    // A request that asks for thoughts gets them even when the server's default is off.
    assert.equal(planReasoning(THINK, request({ effort: "low" }), { budget: 0 }).thinking, true);
  });

  it("bounds thoughts by the request's budget, else its effort's, else the server's", () => {
    assert.equal(planReasoning(THINK, request({ budget: 7, effort: "low" })).budget, 7);
    assert.equal(planReasoning(THINK, request({ effort: "low" })).budget, 1024);
    assert.equal(planReasoning(THINK, request({ effort: "high" }), { budget: 99 }).budget, 99);
    assert.equal(planReasoning(THINK, request({}), { budget: 500 }).budget, 500);
  });

  it("gives Harmony models their own levels instead of a budget", () => {
    const plan = planReasoning(HARMONY, request({ effort: "minimal" }));
    assert.deepEqual([plan.budget, plan.variables.reasoning_effort], [undefined, "low"]);
    assert.equal(planReasoning(HARMONY, request({ effort: "max" })).variables.reasoning_effort, "high");
    assert.equal(planReasoning(HARMONY, request({ effort: "none" })).budget, 0);
  });

  it("lets a model that does not reason accept none and refuse the other levels", () => {
    assert.equal(planReasoning(undefined, request({ effort: "none" })).thinking, false);
    assert.throws(
      () => planReasoning(undefined, request({ effort: "low" })),
      (error: unknown) => error instanceof ParleyError && error.param === "reasoning_effort",
    );
  });
});
