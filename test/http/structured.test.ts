/**
 * Structured outputs over HTTP: every constrained output must parse and validate, whatever the
 * random model says — including the UTF-8 validity of what it writes inside strings (the server's
 * UTF-8 guard; llama.cpp's grammar engine alone would let invalid byte sequences through).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Vocabulary } from "../../src/engines/llama/vocabulary.ts";
import { testModelVocabulary } from "../../src/testing/test-model.ts";
import { MODEL, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";
import { validatorFor } from "../support/validate-json.ts";
import { JSON_SCHEMA_CORPUS } from "../unit/json-schema-corpus.ts";

interface Completion {
  choices: { message: { content: string }; finish_reason: string }[];
}

describe("structured outputs", () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer(["--ctx-size", "2048"]);
  });
  after(() => t.close());

  const ask = async (extra: Record<string, unknown>, seed = 1): Promise<{ status: number; body: Completion; headers: Headers }> => {
    const res = await postChat(t.url, {
      model: MODEL,
      messages: [{ role: "user", content: "Answer in the requested format." }],
      temperature: 1,
      seed,
      max_tokens: 400,
      ...extra,
    });
    return { status: res.status, body: (await res.json()) as Completion, headers: res.headers };
  };

  it("json_schema: every complete output of a 45-schema corpus validates", async () => {
    let checked = 0;
    let capped = 0;
    for (const [name, schema] of Object.entries(JSON_SCHEMA_CORPUS)) {
      const validate = validatorFor(schema);
      const { status, body } = await ask({ response_format: { type: "json_schema", json_schema: { name: "s", schema } } }, checked + capped);
      assert.equal(status, 200, name);
      const choice = body.choices[0];
      if (choice?.finish_reason === "length") {
        capped++;
        continue;
      }
      const value: unknown = JSON.parse(choice?.message.content ?? "");
      assert.ok(validate(value), `${name}: ${choice?.message.content}`);
      checked++;
    }
    assert.ok(checked >= 35, `only ${checked} complete outputs (${capped} hit max_tokens)`);
  });

  it("guided_regex and structured_outputs.regex: outputs match the whole pattern", async () => {
    const patterns = ["[A-Z]{3}-\\d{4}", "(yes|no|maybe)", "\\d{4}-\\d{2}-\\d{2}", "#[0-9a-f]{6}", "[a-z]{1,8}( [a-z]{1,8}){0,3}\\.", "(0|[1-9]\\d{0,5})(\\.\\d{1,2})?"];
    for (const pattern of patterns) {
      for (const [field, value] of [
        ["guided_regex", pattern],
        ["structured_outputs", { regex: pattern }],
      ] as const) {
        const { status, body } = await ask({ [field]: value }, pattern.length);
        assert.equal(status, 200);
        const text = body.choices[0]?.message.content ?? "";
        assert.match(text, new RegExp(`^(?:${pattern})$`, "u"), `${field} ${pattern}`);
        assert.equal(body.choices[0]?.finish_reason, "stop");
      }
    }
  });

  it("constrained output is always valid UTF-8, even where the grammar allows any character", async () => {
    // Make tokens that end in a UTF-8 lead byte very attractive. llama.cpp's grammar engine lets
    // the next token complete such a sequence with any bytes (ASCII included); the UTF-8 guard
    // only with continuation bytes. (Without the guard, about 1 sample in 6 here is invalid.)
    const vocab = testModelVocabulary();
    const bytesOf = new Vocabulary({ model: "gpt2", tokens: vocab.tokens, tokenTypes: vocab.tokenTypes, detokenize: () => "" });
    const leads: Record<string, number> = {};
    for (let token = 0; token < bytesOf.size; token++) {
      const bytes = bytesOf.bytes(token);
      const last = bytes[bytes.length - 1];
      if (last !== undefined && last >= 0xc2 && last <= 0xf4) leads[token] = 30;
    }
    const strict = new TextDecoder("utf-8", { fatal: true });
    for (let seed = 0; seed < 16; seed++) {
      const res = await postChat(t.url, {
        model: MODEL,
        messages: [{ role: "user", content: "x" }],
        guided_regex: ".{40}",
        temperature: 1,
        seed,
        logprobs: true,
        logit_bias: leads,
        max_tokens: 120,
      });
      const body = (await res.json()) as { choices: { message: { content: string }; logprobs: { content: { bytes: number[] }[] } }[] };
      const bytes = (body.choices[0]?.logprobs.content ?? []).flatMap((e) => e.bytes);
      assert.doesNotThrow(() => strict.decode(Uint8Array.from(bytes)), `seed ${seed}: invalid UTF-8 ${JSON.stringify(bytes)}`);
      assert.equal(body.choices[0]?.message.content.includes("\uFFFD"), false);
    }
  });

  it("guided_choice: exactly one of choices that share prefixes", async () => {
    const choices = ["yes", "yes please", "no"];
    for (let seed = 0; seed < 12; seed++) {
      const { body } = await ask({ guided_choice: choices }, seed);
      const text = body.choices[0]?.message.content ?? "";
      assert.ok(choices.includes(text), text);
      assert.equal(body.choices[0]?.finish_reason, "stop");
    }
  });

  it("json_object, guided_json as a string, and structured_outputs.json", async () => {
    // An open object lets a random model add keys forever: judge only outputs that completed.
    let complete = 0;
    for (let seed = 0; seed < 6; seed++) {
      const object = await ask({ response_format: { type: "json_object" } }, seed);
      if (object.body.choices[0]?.finish_reason !== "stop") continue;
      const parsed: unknown = JSON.parse(object.body.choices[0]?.message.content ?? "");
      assert.ok(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed));
      complete++;
    }
    assert.ok(complete > 0, "no json_object output completed");
    const schema = { type: "object", properties: { n: { type: "integer", minimum: 3, maximum: 7 } }, required: ["n"] };
    for (const extra of [{ guided_json: JSON.stringify(schema) }, { structured_outputs: { json: schema } }]) {
      const { body } = await ask(extra);
      const value = JSON.parse(body.choices[0]?.message.content ?? "") as { n: number };
      assert.ok(Number.isInteger(value.n) && value.n >= 3 && value.n <= 7);
    }
  });

  it("streams the same constrained text as non-streaming, and max_tokens cuts with finish_reason length", async () => {
    const format = { response_format: { type: "json_schema", json_schema: { name: "p", schema: JSON_SCHEMA_CORPUS.mathReasoning } }, temperature: 0 };
    const whole = await ask(format);
    const res = await postChat(t.url, { model: MODEL, messages: [{ role: "user", content: "Answer in the requested format." }], max_tokens: 400, ...format, stream: true });
    const text = parseSse(await res.text())
      .slice(0, -1)
      .map((f) => (JSON.parse(f) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "")
      .join("");
    assert.equal(text, whole.body.choices[0]?.message.content);
    const cut = await ask({ ...format, max_tokens: 3 });
    assert.equal(cut.body.choices[0]?.finish_reason, "length");
    assert.ok(whole.body.choices[0]?.message.content.startsWith(cut.body.choices[0]?.message.content ?? "-"));
  });

  it("reports ignored keywords in x-parley-warnings; strict makes them a 400", async () => {
    const schema = { type: "array", items: { type: "integer" }, uniqueItems: true, maxItems: 3 };
    const loose = await ask({ response_format: { type: "json_schema", json_schema: { name: "u", schema } } });
    assert.equal(loose.status, 200);
    assert.match(loose.headers.get("x-parley-warnings") ?? "", /uniqueItems/);
    const strict = await ask({ response_format: { type: "json_schema", json_schema: { name: "u", schema, strict: true } } });
    assert.equal(strict.status, 400);
    assert.match(JSON.stringify(strict.body), /uniqueItems/);
  });

  it("survives a logit_bias that bans every token the grammar allows", async () => {
    // Every token starting with "{" banned, under a constraint that must start with "{".
    const bytesOf = new Vocabulary({ model: "gpt2", tokens: testModelVocabulary().tokens, tokenTypes: testModelVocabulary().tokenTypes, detokenize: () => "" });
    const braces: Record<string, number> = {};
    for (let token = 0; token < bytesOf.size; token++) if (bytesOf.bytes(token)[0] === 0x7b) braces[token] = -100;
    const { status, body } = await ask({ response_format: { type: "json_object" }, logit_bias: braces, max_tokens: 30 });
    assert.equal(status, 200);
    assert.match(body.choices[0]?.message.content ?? "", /^\{/);
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  });

  it("guided_whitespace_pattern allows only JSON whitespace", async () => {
    const spaced = await ask({ guided_json: { type: "array", items: { type: "integer", maximum: 9, minimum: 0 }, maxItems: 4 }, guided_whitespace_pattern: "[ \\n]{0,2}" });
    assert.equal(spaced.status, 200);
    if (spaced.body.choices[0]?.finish_reason === "stop") JSON.parse(spaced.body.choices[0].message.content);
  });

  it("rejects what cannot be enforced, naming the field", async () => {
    const deepSchema: Record<string, unknown> = { type: "integer" };
    let nested = deepSchema;
    for (let i = 0; i < 3000; i++) nested = { type: "array", items: nested };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ guided_json: {}, guided_whitespace_pattern: "x+" }, "guided_whitespace_pattern", /whitespace/],
      [{ guided_json: {}, guided_whitespace_pattern: "(" }, "guided_whitespace_pattern", /cannot be used/],
      [{ response_format: { type: "json_object" }, stop: ["}"] }, "stop", /constraint/],
      [{ guided_grammar: `root ::= ${"(".repeat(300)}"a"${")".repeat(300)}` }, "guided_grammar", /deeper/],
      [{ guided_grammar: `root ::= ${"(".repeat(50_000)}"a"${")".repeat(50_000)}` }, "guided_grammar", /limit grammarChars/],
      [{ guided_json: nested }, "guided_json", /nested too deeply/],
      [{ guided_regex: "a(?=b)" }, "guided_regex", /lookahead/],
      [{ guided_regex: "(a" }, "guided_regex", /invalid regex/],
      [{ guided_grammar: "root ::= (" }, "guided_grammar", /GBNF/],
      [{ guided_json: "{not json" }, "guided_json", /not valid JSON/],
      [{ guided_json: { type: "banana" } }, "guided_json", /banana/],
      [{ guided_decoding_backend: "magic" }, "guided_decoding_backend", /./],
      [{ guided_regex: "a", guided_choice: ["a"] }, "guided_choice", /guided_regex.*guided_choice/],
      [{ response_format: { type: "json_object" }, guided_json: {} }, "guided_json", /response_format.*guided_json/],
    ];
    for (const [extra, param, message] of cases) {
      const { status, body } = await ask(extra);
      assert.equal(status, 400, JSON.stringify(extra));
      const error = (body as unknown as { error: { param: string; message: string } }).error;
      assert.equal(error.param, param, JSON.stringify(extra));
      assert.match(error.message, message, JSON.stringify(extra));
    }
  });
});
