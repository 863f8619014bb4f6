/**
 * The upstream dialect translation (`wire-request.ts`, `dialect-table.ts`, `dialect-constraints.ts`):
 * for each dialect, the exact body each constraint and extension becomes, or the 400 naming the
 * field when the dialect cannot honour it. The GBNF written for llama.cpp's server is checked with
 * llama.cpp's own grammar engine.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import type { ChatRequest, OutputConstraint } from "../../src/domain/chat.ts";
import { ParleyError } from "../../src/domain/errors.ts";
import type { ToolsRequest } from "../../src/domain/tools.ts";
import { FIELD_TABLE } from "../../src/engines/upstream/dialect-table.ts";
import { UPSTREAM_DIALECTS, type UpstreamDialect } from "../../src/engines/upstream/dialect.ts";
import { toWireRequest, type WireBody } from "../../src/engines/upstream/wire-request.ts";
import { accepts } from "../support/grammar.ts";
import { chatRequest, type ChatRequestOverrides } from "../support/chat-request.ts";

/** A plain request (every field at its default), with `o` on top. */
const request = chatRequest;

/** The translated body without the parts every request has. */
function extras(dialect: UpstreamDialect, r: ChatRequest): WireBody {
  const { body } = toWireRequest(r, { model: "up", modelId: "front", stream: true, dialect });
  const { model, messages, stream, stream_options, ...rest } = body;
  assert.equal(stream, true);
  assert.deepEqual(stream_options, { include_usage: true });
  assert.deepEqual(messages, [{ role: "user", content: "Hi" }]);
  return model === "up" ? rest : { model, ...rest };
}

/** The 400 the translation throws: its `param`. */
function refusal(dialect: UpstreamDialect, r: ChatRequest): string | null {
  try {
    toWireRequest(r, { model: "up", modelId: "front", stream: true, dialect });
  } catch (error) {
    assert.ok(error instanceof ParleyError);
    assert.equal(error.kind, "invalid_request");
    assert.match(error.message, new RegExp(`dialect \`${dialect}\``));
    return error.param;
  }
  assert.fail(`the ${dialect} dialect accepted the request`);
}

const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
const json = (field = "response_format", strict = true): OutputConstraint => ({ kind: "json", schema, strict, field });
const regex: OutputConstraint = { kind: "regex", pattern: "[a-c]{2}-\\d+", field: "guided_regex" };
const choice: OutputConstraint = { kind: "choice", choices: ["yes", "no (really)", 'say "hi"'], field: "structured_outputs.choice" };
const grammar: OutputConstraint = { kind: "grammar", gbnf: 'root ::= "x" [0-9]', field: "guided_grammar" };

describe("upstream dialects: constraints", () => {
  it("openai: JSON Schemas through response_format; regex, choice and grammar are a 400 naming the client's field", () => {
    assert.deepEqual(extras("openai", request({ constraint: json("guided_json") })), { response_format: { type: "json_schema", json_schema: { name: "response", schema, strict: true } } });
    assert.deepEqual(extras("openai", request({ constraint: { kind: "json", schema: { type: "object" }, strict: false, field: "response_format" } })), { response_format: { type: "json_object" } });
    assert.equal(refusal("openai", request({ constraint: regex })), "guided_regex");
    assert.equal(refusal("openai", request({ constraint: choice })), "structured_outputs.choice");
    assert.equal(refusal("openai", request({ constraint: grammar })), "guided_grammar");
  });

  it("vllm: structured_outputs, never the removed guided_* names", () => {
    assert.deepEqual(extras("vllm", request({ constraint: json("guided_json") })), { structured_outputs: { json: schema } });
    assert.deepEqual(extras("vllm", request({ constraint: { kind: "json", schema: { type: "object" }, strict: false, field: "response_format" } })), { structured_outputs: { json_object: true } });
    assert.deepEqual(extras("vllm", request({ constraint: regex })), { structured_outputs: { regex: "[a-c]{2}-\\d+" } });
    assert.deepEqual(extras("vllm", request({ constraint: choice })), { structured_outputs: { choice: ["yes", "no (really)", 'say "hi"'] } });
    assert.deepEqual(extras("vllm", request({ constraint: grammar })), { structured_outputs: { grammar: 'root ::= "x" [0-9]' } });
    // The whitespace pattern joins the same object.
    assert.deepEqual(extras("vllm", request({ constraint: json(), whitespacePattern: "[ ]?" })), { structured_outputs: { whitespace_pattern: "[ ]?", json: schema } });
  });

  it("sglang: response_format for JSON, top-level regex and ebnf; a choice is an alternation of escaped literals", () => {
    assert.deepEqual(extras("sglang", request({ constraint: json("guided_json", false) })), { response_format: { type: "json_schema", json_schema: { name: "response", schema, strict: false } } });
    assert.deepEqual(extras("sglang", request({ constraint: regex })), { regex: "[a-c]{2}-\\d+" });
    assert.deepEqual(extras("sglang", request({ constraint: grammar })), { ebnf: 'root ::= "x" [0-9]' });
    const { regex: alternation } = extras("sglang", request({ constraint: choice }));
    assert.equal(alternation, 'yes|no \\(really\\)|say "hi"');
    const matcher = new RegExp(`^(?:${String(alternation)})$`, "u");
    for (const c of ["yes", "no (really)", 'say "hi"']) assert.ok(matcher.test(c), c);
    for (const c of ["no really", "yesno", "no (really", ""]) assert.ok(!matcher.test(c), c);
  });

  it("llama-server: json_schema and grammar top level; regex and choice become GBNF", () => {
    assert.deepEqual(extras("llama-server", request({ constraint: json() })), { json_schema: schema });
    assert.deepEqual(extras("llama-server", request({ constraint: grammar })), { grammar: 'root ::= "x" [0-9]' });
    assert.equal(typeof extras("llama-server", request({ constraint: regex })).grammar, "string");
    assert.equal(extras("llama-server", request({ constraint: choice })).grammar, 'root ::= "yes" | "no (really)" | "say \\"hi\\""\n');
    // A pattern the converter cannot express is a 400 naming the field, not an unconstrained answer.
    assert.equal(refusal("llama-server", request({ constraint: { kind: "regex", pattern: "(a)\\1", field: "guided_regex" } })), "guided_regex");
  });

  it("llama-server: a constraint beside tools is a 400 (it would drop one of them); a named tool choice becomes required with only that tool", () => {
    const tools: ToolsRequest = {
      definitions: [
        { name: "a", description: undefined, parameters: { type: "object" }, strict: false },
        { name: "b", description: "B", parameters: { type: "object" }, strict: false },
      ],
      choice: { kind: "function", name: "b" },
      parallel: true,
      legacy: false,
    };
    assert.equal(refusal("llama-server", request({ constraint: json("guided_json"), tools })), "guided_json");
    assert.deepEqual(extras("llama-server", request({ tools })), {
      tools: [{ type: "function", function: { name: "b", description: "B", parameters: { type: "object" } } }],
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    assert.deepEqual(extras("vllm", request({ tools })).tool_choice, { type: "function", function: { name: "b" } });
  });

  it("parley: every constraint under the field the client used", () => {
    assert.deepEqual(extras("parley", request({ constraint: regex })), { guided_regex: "[a-c]{2}-\\d+" });
    assert.deepEqual(extras("parley", request({ constraint: choice })), { structured_outputs: { choice: ["yes", "no (really)", 'say "hi"'] } });
    assert.deepEqual(extras("parley", request({ constraint: json() })), { response_format: { type: "json_schema", json_schema: { name: "response", schema, strict: true } } });
  });

  describe("the GBNF sent to llama.cpp's server, run by llama.cpp's grammar engine", () => {
    let llama: Llama;
    before(async () => {
      llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => {} });
    });
    after(async () => {
      await llama.dispose();
    });

    it("accepts exactly the choices, and exactly the regex's language", async () => {
      const choices = await llama.createGrammar({ grammar: String(extras("llama-server", request({ constraint: choice })).grammar) });
      for (const c of ["yes", "no (really)", 'say "hi"']) assert.ok(accepts(choices, c), c);
      for (const c of ["no", "yes ", "say hi"]) assert.ok(!accepts(choices, c), c);
      const pattern = await llama.createGrammar({ grammar: String(extras("llama-server", request({ constraint: regex })).grammar) });
      for (const c of ["ab-1", "cc-0042"]) assert.ok(accepts(pattern, c), c);
      for (const c of ["ad-1", "ab-", "abc-1", "ab1"]) assert.ok(!accepts(pattern, c), c);
    });
  });
});

describe("upstream dialects: sampling and other extensions", () => {
  const extensions: [string, ChatRequestOverrides][] = [
    ["top_k", { sampling: { topK: 5 } }],
    ["min_p", { sampling: { minP: 0.1 } }],
    ["repetition_penalty", { sampling: { repetitionPenalty: 1.2 } }],
    ["stop_token_ids", { stopTokenIds: new Set([7]) }],
    ["ignore_eos", { ignoreEos: true }],
    ["min_tokens", { minTokens: 3 }],
    ["include_stop_str_in_output", { includeStopString: true }],
    ["skip_special_tokens", { skipSpecialTokens: false }],
    ["prompt_logprobs", { promptLogprobs: 2 }],
    ["chat_template_kwargs", { prompt: { chatTemplateKwargs: { enable_thinking: false } } }],
    ["thinking_token_budget", { reasoning: { effort: undefined, budget: 64 } }],
    ["peft", { adapter: "sql-lora" }],
    ["echo", { prompt: { echo: true } }],
  ];

  it("openai: every extension is a 400 naming it; OpenAI's own fields pass (max_tokens as max_completion_tokens)", () => {
    for (const [field, o] of extensions) assert.equal(refusal("openai", request(o)), field, field);
    const plain = request({
      maxTokens: 9,
      n: 2,
      search: { kind: "sample", bestOf: 2 },
      stop: ["x"],
      sampling: { temperature: 0.5, topP: 0.9, seed: 4, seedFromClient: true, frequencyPenalty: 0.5, presencePenalty: -0.5, logitBias: new Map([[3, -100]]) },
      logprobs: true,
      topLogprobs: 2,
      user: "u1",
    });
    assert.deepEqual(extras("openai", plain), {
      max_completion_tokens: 9,
      n: 2,
      temperature: 0.5,
      top_p: 0.9,
      seed: 4,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      logit_bias: { "3": -100 },
      stop: ["x"],
      logprobs: true,
      top_logprobs: 2,
      user: "u1",
    });
  });

  it("vllm: every extension under its own name; peft becomes the model name; beam search only as wide as n", () => {
    const sent = extras(
      "vllm",
      request({
        sampling: { topK: 5, minP: 0.1, repetitionPenalty: 1.2 },
        stopTokenIds: new Set([7]),
        ignoreEos: true,
        minTokens: 3,
        includeStopString: true,
        promptLogprobs: 2,
        reasoning: { effort: "low", budget: 64 },
      }),
    );
    assert.deepEqual(sent, {
      top_k: 5,
      min_p: 0.1,
      repetition_penalty: 1.2,
      include_stop_str_in_output: true,
      stop_token_ids: [7],
      ignore_eos: true,
      min_tokens: 3,
      prompt_logprobs: 2,
      reasoning_effort: "low",
      thinking_token_budget: 64,
    });
    assert.deepEqual(extras("vllm", request({ adapter: "sql-lora" })), { model: "sql-lora" });
    const beam = (width: number) => request({ n: 2, search: { kind: "beam", width, lengthPenalty: 1, earlyStopping: false } });
    assert.deepEqual(extras("vllm", beam(2)), { n: 2, use_beam_search: true });
    assert.equal(refusal("vllm", beam(3)), "best_of");
    assert.equal(refusal("vllm", request({ n: 1, search: { kind: "sample", bestOf: 3 } })), "best_of");
  });

  it("llama-server: its own names (repeat_penalty over the whole context, reasoning_budget_tokens); what it lacks is a 400", () => {
    assert.deepEqual(extras("llama-server", request({ sampling: { topK: 5, minP: 0.1, repetitionPenalty: 1.2 }, ignoreEos: true, reasoning: { effort: undefined, budget: 64 } })), {
      top_k: 5,
      min_p: 0.1,
      repeat_penalty: 1.2,
      repeat_last_n: 65_536,
      ignore_eos: true,
      reasoning_budget_tokens: 64,
    });
    for (const field of ["stop_token_ids", "min_tokens", "include_stop_str_in_output", "skip_special_tokens", "prompt_logprobs", "peft", "echo"]) {
      const o = extensions.find(([f]) => f === field)?.[1] ?? {};
      assert.equal(refusal("llama-server", request(o)), field, field);
    }
    assert.deepEqual(extras("llama-server", request({ user: "u1" })), {}, "`user` is recorded by Parley; llama.cpp's server has no such field");
  });

  it("sglang: its own names (no_stop_trim, lora_path); what it lacks is a 400", () => {
    assert.deepEqual(extras("sglang", request({ sampling: { topK: 5 }, includeStopString: true, adapter: "sql-lora", minTokens: 2 })), {
      top_k: 5,
      no_stop_trim: true,
      min_tokens: 2,
      lora_path: "sql-lora",
    });
    for (const field of ["prompt_logprobs", "thinking_token_budget", "echo"]) {
      const o = extensions.find(([f]) => f === field)?.[1] ?? {};
      assert.equal(refusal("sglang", request(o)), field, field);
    }
  });

  it("parley: every field as it is", () => {
    for (const [field, o] of extensions) assert.ok(field in extras("parley", request(o)), field);
  });

  it("the table covers every field Parley writes, in every dialect", () => {
    for (const [field, row] of Object.entries(FIELD_TABLE)) {
      for (const dialect of UPSTREAM_DIALECTS) assert.ok(row[dialect] !== undefined, `${field} / ${dialect}`);
      assert.equal(row.parley.kind, "send", `${field}: Parley reads every field it accepts`);
    }
    for (const [field] of extensions) assert.ok(field in FIELD_TABLE, field);
    // Every field set to a non-default value: each one Parley writes has a row.
    const everything = request({
      maxTokens: 5,
      n: 2,
      search: { kind: "beam", width: 3, lengthPenalty: 0.5, earlyStopping: true },
      promptLogprobs: 1,
      stop: ["x"],
      includeStopString: true,
      stopTokenIds: new Set([1]),
      ignoreEos: true,
      skipSpecialTokens: false,
      spacesBetweenSpecialTokens: false,
      minTokens: 1,
      sampling: { temperature: 0.5, topP: 0.5, topK: 2, minP: 0.1, seedFromClient: true, repetitionPenalty: 1.1, frequencyPenalty: 0.1, presencePenalty: 0.1, logitBias: new Map([[1, 1]]) },
      logprobs: true,
      topLogprobs: 1,
      user: "u",
      scheduling: { tier: "flex", cacheKey: "k" },
      whitespacePattern: " ",
      adapter: "a",
      reasoning: { effort: "low", budget: 10 },
      prompt: { addGenerationPrompt: false, continueFinalMessage: true, addSpecialTokens: true, echo: true, chatTemplate: "t", chatTemplateKwargs: { a: 1 }, documents: [{ title: "d" }] },
    });
    const { body } = toWireRequest(everything, { model: "up", modelId: "front", stream: true, dialect: "parley", promptCacheKey: "k" });
    const written = Object.keys(body).filter((k) => !["model", "messages", "stream", "stream_options"].includes(k));
    assert.ok(written.length >= 35, `only ${written.length} fields written`);
    for (const field of written) assert.ok(field in FIELD_TABLE, `${field} has no row in the translation table`);
  });

  it("the unsupported override still applies on top, to the translated names", () => {
    const { body, warnings } = toWireRequest(request({ sampling: { repetitionPenalty: 1.2 } }), {
      model: "up",
      modelId: "front",
      stream: false,
      dialect: "llama-server",
      unsupported: { fields: ["repeat_last_n"], mode: "drop" },
    });
    assert.equal(body.repeat_penalty, 1.2);
    assert.equal(body.repeat_last_n, undefined);
    assert.equal(warnings.length, 1);
  });
});
