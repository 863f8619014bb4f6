/**
 * The capability check (router/capabilities.ts) against each engine kind's capabilities: the
 * llama engine's (llama/capabilities.ts) and an upstream's, read off its dialect
 * (upstream/capabilities.ts); the edge's share (unsupported-fields.ts: which other servers'
 * fields reach the domain request, and with which values); and the wire request forwarding those
 * fields verbatim where the dialect reads them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXTENSION_FIELDS, type EngineCapabilities } from "../../src/domain/capabilities.ts";
import type { ChatRequest } from "../../src/domain/chat.ts";
import { ParleyError } from "../../src/domain/errors.ts";
import { llamaCapabilities } from "../../src/engines/llama/capabilities.ts";
import { anyDialectCapabilities, upstreamCapabilities } from "../../src/engines/upstream/capabilities.ts";
import { DIALECT_EXTENSIONS } from "../../src/engines/upstream/dialect-table.ts";
import { UPSTREAM_DIALECTS, type UpstreamDialect } from "../../src/engines/upstream/dialect.ts";
import { toWireRequest } from "../../src/engines/upstream/wire-request.ts";
import { checkCapabilities } from "../../src/router/capabilities.ts";
import { extensionFields, unsupportedFieldIssues } from "../../src/schemas/unsupported-fields.ts";
import { chatRequest } from "../support/chat-request.ts";

/** A plain request (every field at its default), with `o` on top. */
const request = chatRequest;

/** The params the check refuses (in order), or [] when it passes. */
function refused(r: ChatRequest, capabilities: EngineCapabilities): string[] {
  try {
    checkCapabilities(r, { capabilities });
    return [];
  } catch (error) {
    assert.ok(error instanceof ParleyError);
    assert.equal(error.kind, "invalid_request");
    assert.equal(error.param, error.issues[0]?.path.join("."));
    return error.issues.map((i) => i.path.join("."));
  }
}

const LOCAL = llamaCapabilities(false);
const upstream = (dialect: UpstreamDialect, unsupported?: { fields: string[]; mode: "drop" | "reject" }) =>
  upstreamCapabilities(dialect, { id: "front", ...(unsupported === undefined ? {} : { unsupported }) });
const beam = { kind: "beam", width: 2, lengthPenalty: 1, earlyStopping: false } as const;

describe("checkCapabilities", () => {
  it("a plain request passes every engine kind", () => {
    assert.deepEqual(refused(request(), LOCAL), []);
    for (const dialect of UPSTREAM_DIALECTS) assert.deepEqual(refused(request(), upstream(dialect)), [], dialect);
  });

  it("other servers' fields: refused by the local engine, forwarded by the upstream dialects that read them", () => {
    const vllm = request({ extensions: { allowed_token_ids: [1, 2], bad_words: ["x"] } });
    const llamaServer = request({ extensions: { typical_p: 0.5, mirostat: 2 } });
    assert.deepEqual(refused(vllm, LOCAL), ["allowed_token_ids", "bad_words"]);
    assert.deepEqual(refused(llamaServer, LOCAL), ["typical_p", "mirostat"]);
    assert.deepEqual(refused(vllm, upstream("vllm")), []);
    assert.deepEqual(refused(vllm, upstream("llama-server")), ["allowed_token_ids", "bad_words"]);
    assert.deepEqual(refused(llamaServer, upstream("llama-server")), []);
    assert.deepEqual(refused(llamaServer, upstream("vllm")), ["typical_p", "mirostat"]);
    assert.deepEqual(refused(vllm, upstream("openai")), ["allowed_token_ids", "bad_words"]);
    assert.deepEqual(refused(request({ extensions: Object.fromEntries(EXTENSION_FIELDS.map((f) => [f, 1])) }), upstream("parley")), [], "another Parley answers for itself");
  });

  it("the message names the field and the engine", () => {
    assert.throws(
      () => checkCapabilities(request({ extensions: { typical_p: 0.5 } }), { capabilities: LOCAL }),
      (e: unknown) => e instanceof ParleyError && e.param === "typical_p" && /`typical_p` cannot be honoured for model `m`: the local llama\.cpp engine/.test(e.message),
    );
    assert.throws(
      () => checkCapabilities(request({ constraint: { kind: "regex", pattern: "a", field: "guided_regex" } }), { capabilities: upstream("openai") }),
      (e: unknown) => e instanceof ParleyError && e.param === "guided_regex" && /dialect `openai`.*regular-expression/.test(e.message),
    );
  });

  it("beam search: the local engine combines it with nothing that steers or cuts beams; the field is named", () => {
    assert.deepEqual(refused(request({ search: beam, n: 2 }), LOCAL), []);
    const steered = request({ search: beam, n: 2, stop: ["x"], logprobs: true, sampling: { topP: 0.5, topK: 3, repetitionPenalty: 1.1 }, minTokens: 1 });
    assert.deepEqual(refused(steered, LOCAL), ["stop", "logprobs", "top_p", "top_k", "repetition_penalty", "min_tokens"]);
    assert.deepEqual(refused(request({ search: beam, constraint: { kind: "json", schema: {}, strict: false, field: "response_format" } }), LOCAL), ["response_format"]);
    // Efforts that set a thinking budget steer the thoughts; `high` and above do not.
    assert.deepEqual(refused(request({ search: beam, reasoning: { effort: "low", budget: undefined } }), LOCAL), ["reasoning_effort"]);
    assert.deepEqual(refused(request({ search: beam, reasoning: { effort: "high", budget: undefined } }), LOCAL), []);
    assert.deepEqual(refused(request({ search: beam, reasoning: { effort: undefined, budget: 10 } }), LOCAL), ["thinking_token_budget"]);
    assert.deepEqual(refused(request({ search: beam, sampling: { topP: 0.5 } }), upstream("vllm")), ["top_p"], "vLLM's beam search ignores top_p");
    assert.deepEqual(refused(request({ search: beam }), upstream("llama-server")), ["use_beam_search"]);
    const wider = { ...LOCAL, beamSearch: { combinesWith: new Set(["sampling"] as const) } };
    assert.deepEqual(refused(steered, wider), ["stop", "logprobs", "min_tokens"], "an engine may declare what its beams honour");
  });

  it("text prompts and fill-in-the-middle follow the engine (and the loaded model)", () => {
    const text = request({ messages: [], text: { prompt: "def f(" } });
    const fim = request({ messages: [], text: { prompt: "def f(", suffix: "\n    return x" } });
    assert.deepEqual(refused(text, LOCAL), []);
    assert.deepEqual(refused(fim, LOCAL), ["suffix"]);
    assert.deepEqual(refused(fim, llamaCapabilities(true)), []);
    // Upstreams take text prompts on their `/completions`; `suffix` where the dialect forwards it.
    assert.deepEqual(refused(text, upstream("vllm")), []);
    assert.deepEqual(refused(fim, upstream("vllm")), ["suffix"]);
    assert.deepEqual(refused(fim, upstream("llama-server")), ["suffix"]);
    assert.deepEqual(refused(fim, upstream("sglang")), []);
    // `echo` with `logprobs` asks for the prompt's log-probabilities: they come with the upstream's
    // own echo, so dialects without `prompt_logprobs` serve it too (llama-server refuses `echo` itself).
    const echoed = request({ messages: [], text: { prompt: "Hi" }, prompt: { echo: true }, logprobs: true, topLogprobs: 1, promptLogprobs: 1 });
    assert.deepEqual(refused(echoed, upstream("sglang")), []);
    assert.deepEqual(refused(echoed, upstream("openai")), []);
    assert.deepEqual(refused(request({ prompt: { echo: true }, logprobs: true, topLogprobs: 1, promptLogprobs: 1 }), upstream("sglang")), ["prompt_logprobs"]);
  });

  it("an upstream whose dialect is not known yet takes what any dialect takes (the translation decides once it is)", () => {
    const any = anyDialectCapabilities({ id: "front" });
    for (const body of [
      request({ promptLogprobs: 2 }),
      request({ constraint: { kind: "regex", pattern: "a+", field: "guided_regex" } }),
      request({ extensions: { bad_words: ["x"], typical_p: 0.5 } }),
    ]) {
      assert.deepEqual(refused(body, any), []);
    }
    // The config's own refusals hold whatever the dialect.
    const refusing = anyDialectCapabilities({ id: "front", unsupported: { fields: ["typical_p"], mode: "reject" } });
    assert.deepEqual(refused(request({ extensions: { typical_p: 0.5 } }), refusing), ["typical_p"]);
  });

  it("upstream capabilities follow the dialect's table", () => {
    assert.deepEqual(refused(request({ promptLogprobs: 2 }), upstream("vllm")), []);
    assert.deepEqual(refused(request({ promptLogprobs: 2 }), upstream("sglang")), ["prompt_logprobs"]);
    assert.deepEqual(refused(request({ n: 1, search: { kind: "sample", bestOf: 3 } }), upstream("vllm")), ["best_of"]);
    assert.deepEqual(refused(request({ n: 1, search: { kind: "sample", bestOf: 3 } }), LOCAL), []);
    assert.deepEqual(refused(request({ adapter: "a" }), upstream("llama-server")), ["peft"]);
    assert.deepEqual(refused(request({ constraint: { kind: "grammar", gbnf: 'root ::= "a"', field: "grammar" } }), upstream("sglang")), []);
  });

  it("an upstream's `unsupported` fields with mode reject are refused under the client's names; drop is left to the wire request", () => {
    const r = request({
      sampling: { topK: 5 },
      tools: { definitions: [{ name: "f", description: undefined, parameters: {}, strict: false }], choice: { kind: "auto" }, parallel: true, legacy: false },
    });
    assert.deepEqual(refused(r, upstream("vllm", { fields: ["top_k", "tools"], mode: "reject" })), ["top_k", "tools"]);
    assert.deepEqual(refused(r, upstream("vllm", { fields: ["top_k", "tools"], mode: "drop" })), []);
    assert.deepEqual(refused(request({ extensions: { bad_words: ["x"] } }), upstream("vllm", { fields: ["bad_words"], mode: "reject" })), ["bad_words"]);
  });
});

describe("other servers' fields at the edge", () => {
  it("keeps only values that ask for something, verbatim", () => {
    const body = { model: "m", typical_p: 0.7, mirostat: 0, bad_words: [], allowed_token_ids: [3], cache_prompt: true, repeat_penalty: null, temperature: 0 };
    assert.deepEqual(extensionFields(body), { typical_p: 0.7, allowed_token_ids: [3] });
    assert.deepEqual(extensionFields({ cache_prompt: false }), { cache_prompt: false });
    assert.deepEqual(extensionFields({ model: "m" }), {});
  });

  it("checks their types; OpenAI features no engine has stay refused at the edge", () => {
    const paths = (body: Record<string, unknown>) => unsupportedFieldIssues(body).map((i) => `${i.path.join(".")}:${i.type}`);
    assert.deepEqual(paths({ typical_p: "high", allowed_token_ids: [1, -2], bad_words: ["ok"], mirostat: 1.5 }), ["allowed_token_ids:invalid_type", "typical_p:invalid_type", "mirostat:invalid_type"]);
    assert.deepEqual(paths({ typical_p: 0.5, allowed_token_ids: [1] }), []);
    assert.deepEqual(paths({ web_search_options: {}, modalities: ["text"] }), ["web_search_options:unsupported"]);
  });
});

describe("the wire request forwards other servers' fields", () => {
  const wire = (dialect: UpstreamDialect, r: ChatRequest) => toWireRequest(r, { model: "up", modelId: "front", stream: false, dialect }).body;

  it("verbatim where the dialect reads them; structural_tag inside vLLM's structured_outputs", () => {
    const body = wire(
      "vllm",
      request({
        extensions: { allowed_token_ids: [1, 2], truncate_prompt_tokens: 100, structural_tag: { type: "structural_tag", structures: [], triggers: [] } },
        constraint: { kind: "regex", pattern: "a+", field: "guided_regex" },
      }),
    );
    assert.deepEqual(body.allowed_token_ids, [1, 2]);
    assert.equal(body.truncate_prompt_tokens, 100);
    assert.deepEqual(body.structured_outputs, { regex: "a+", structural_tag: '{"type":"structural_tag","structures":[],"triggers":[]}' });
    const llama = wire("llama-server", request({ extensions: { typical_p: 0.5, dry_multiplier: 0.8, cache_prompt: false } }));
    assert.deepEqual([llama.typical_p, llama.dry_multiplier, llama.cache_prompt], [0.5, 0.8, false]);
  });

  it("a dialect that does not read one, or a field the translation already set, is a 400 naming it", () => {
    const param = (dialect: UpstreamDialect, r: ChatRequest) => {
      try {
        wire(dialect, r);
        return undefined;
      } catch (error) {
        assert.ok(error instanceof ParleyError);
        return error.param;
      }
    };
    assert.equal(param("sglang", request({ extensions: { typical_p: 0.5 } })), "typical_p");
    assert.equal(param("llama-server", request({ extensions: { repeat_penalty: 1.2 }, sampling: { repetitionPenalty: 1.1 } })), "repeat_penalty");
    assert.equal(param("llama-server", request({ extensions: { repeat_penalty: 1.2 } })), undefined);
  });

  it("every dialect's rules name known fields", () => {
    for (const dialect of UPSTREAM_DIALECTS) for (const field of Object.keys(DIALECT_EXTENSIONS[dialect])) assert.ok((EXTENSION_FIELDS as readonly string[]).includes(field), `${dialect}: ${field}`);
  });
});
