import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { getLlama, LlamaGrammarEvaluationState, LlamaLogLevel, TokenBias, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { GrammarConversionError } from "../../src/chat/grammar/gbnf.ts";
import { jsonSchemaToGbnf } from "../../src/chat/grammar/json-schema-to-gbnf.ts";
import { ensureTestModel, TEST_MODEL_VOCAB_SIZE } from "../../src/testing/test-model.ts";
import { JSON_SCHEMA_CORPUS } from "./json-schema-corpus.ts";
import { validatorFor } from "../support/validate-json.ts";

const MAX_TOKENS = 400;

let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;
let sequence: LlamaContextSequence;
/**
 * Practically bans every token whose text is not plain ASCII (unless the grammar allows nothing else). llama.cpp's grammar engine decodes UTF-8
 * without checking continuation bytes, so a random model can write malformed byte sequences that
 * the grammar reads as one character but that decode to several U+FFFD (breaking maxLength,
 * patterns, formats; `C3` followed by `"` would even end a string). Non-ASCII text is covered by
 * the matcher tests instead; the server must keep sampled bytes valid UTF-8 on its own.
 */
let asciiOnly: TokenBias;

interface AddonSampler {
  canBeNextTokenForGrammarEvaluationState(state: unknown, token: number): boolean;
  acceptGrammarEvaluationStateToken(state: unknown, token: number): void;
}

before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => {} });
  model = await llama.loadModel({ modelPath: await ensureTestModel() });
  context = await model.createContext({ contextSize: 2048, threads: 1 });
  sequence = context.getSequence();
  asciiOnly = TokenBias.for(model);
  for (let token = 0; token < TEST_MODEL_VOCAB_SIZE; token++) {
    if (/[^\x00-\x7F]/.test(model.detokenize([token as Token]))) asciiOnly.set(token as Token, { logit: -1000 });
  }
});

after(async () => {
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
});

/**
 * A matcher for a grammar without sampling: feeds the tokens of each text to a grammar state
 * (through node-llama-cpp's internal addon sampler functions) and asks whether the grammar may
 * end afterwards (EOS allowed).
 */
async function matcher(grammarText: string): Promise<(text: string) => boolean> {
  const grammar = await llama.createGrammar({ grammar: grammarText });
  const sampler = (llama as unknown as { _bindings: { AddonSampler: AddonSampler } })._bindings.AddonSampler;
  const eos = model.tokens.eos!;
  return (text) => {
    const state = (new LlamaGrammarEvaluationState({ model, grammar }) as unknown as { _state: unknown })._state;
    for (const token of model.tokenize(text)) {
      if (!sampler.canBeNextTokenForGrammarEvaluationState(state, token)) return false;
      sampler.acceptGrammarEvaluationStateToken(state, token);
    }
    return sampler.canBeNextTokenForGrammarEvaluationState(state, eos);
  };
}

/** Samples under the grammar at temperature 1; complete: the grammar ended it before the cap. */
async function sample(grammarText: string, seed: number): Promise<{ text: string; complete: boolean }> {
  const grammar = await llama.createGrammar({ grammar: grammarText });
  await sequence.clearHistory();
  const state = new LlamaGrammarEvaluationState({ model, grammar });
  const tokens: Token[] = [];
  // The evaluation ends by itself once the grammar is complete (or yields an end-of-generation token).
  for await (const token of sequence.evaluate(model.tokenize("x"), { temperature: 1, topK: 0, topP: 1, seed, grammarEvaluationState: state, tokenBias: asciiOnly })) {
    if (model.isEogToken(token)) break;
    tokens.push(token);
    if (tokens.length >= MAX_TOKENS) return { text: model.detokenize(tokens), complete: false };
  }
  return { text: model.detokenize(tokens), complete: true };
}

describe("jsonSchemaToGbnf grammar text", () => {
  test("an object with required and optional properties", () => {
    const { grammar, warnings } = jsonSchemaToGbnf({
      type: "object",
      properties: { a: { type: "boolean" }, b: { type: "null" } },
      required: ["b"],
    });
    assert.deepEqual(warnings, []);
    assert.equal(
      grammar,
      [
        "root ::= value",
        'boolean ::= "true" | "false"',
        'value-a-kv ::= "\\"a\\"" ":" boolean',
        'value-b-kv ::= "\\"b\\"" ":" "null"',
        'value-rest ::= "," value-b-kv',
        'value ::= "{" (value-a-kv value-rest | value-b-kv) "}"',
        "",
      ].join("\n"),
    );
  });

  test("a bounded string array and an enum", () => {
    assert.equal(
      jsonSchemaToGbnf({ type: "array", items: { enum: ["x", 1] }, maxItems: 2 }).grammar,
      ["root ::= value", 'value-item ::= "\\"x\\"" | "1"', 'value-next ::= "," value-item', 'value ::= "[" (value-item value-next?)? "]"', ""].join("\n"),
    );
    assert.match(jsonSchemaToGbnf({ type: "string", maxLength: 3 }).grammar, /^value ::= "\\"" char\{0,3\} "\\""$/m);
  });

  test("an integer range", () => {
    assert.equal(
      jsonSchemaToGbnf({ type: "integer", minimum: 3, maximum: 1234 }).grammar,
      'root ::= integer-range\ninteger-range ::= ([3-9] | [1-9] [0-9]{1,2} | "1" ([01] [0-9]{2} | "2" ([0-2] [0-9] | "3" [0-4])))\n',
    );
  });

  test("whitespace pattern goes between tokens", () => {
    const { grammar } = jsonSchemaToGbnf({ type: "array", items: { type: "null" } }, { whitespace: "[ \\n]{0,2}" });
    assert.match(grammar, /^ws ::= /m);
    assert.match(grammar, /"\[" ws/);
  });
});

describe("jsonSchemaToGbnf language (grammar matcher)", () => {
  const windowCheck = async (schema: object, lo: number, hi: number, inRange: (n: number) => boolean) => {
    const matches = await matcher(jsonSchemaToGbnf(schema).grammar);
    for (let n = lo; n <= hi; n++) assert.equal(matches(String(n)), inRange(n), `${JSON.stringify(schema)}: ${n}`);
  };

  test("integer ranges are exact", async () => {
    await windowCheck({ type: "integer", minimum: 3, maximum: 1234 }, -200, 1500, (n) => n >= 3 && n <= 1234);
    await windowCheck({ type: "integer", minimum: -50, maximum: 50 }, -300, 300, (n) => n >= -50 && n <= 50);
    await windowCheck({ type: "integer", minimum: -1234, maximum: -3 }, -1500, 100, (n) => n >= -1234 && n <= -3);
    await windowCheck({ type: "integer", exclusiveMinimum: 9.5, exclusiveMaximum: 20 }, -30, 300, (n) => n > 9.5 && n < 20);
    await windowCheck({ type: "integer", minimum: 0, maximum: 0 }, -20, 20, (n) => n === 0);
    await windowCheck({ type: "integer", minimum: 998 }, 900, 12000, (n) => n >= 998);
    await windowCheck({ type: "integer", maximum: -95 }, -1100, 100, (n) => n <= -95);
    await windowCheck({ type: "integer", minimum: 100, maximum: 109 }, 0, 1200, (n) => n >= 100 && n <= 109);
    await windowCheck({ type: "integer", minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: true }, -5, 50, (n) => n > 0 && n < 10);
    const matches = await matcher(jsonSchemaToGbnf({ type: "integer", minimum: 3, maximum: 1234 }).grammar);
    for (const text of ["03", "3.0", "1e2", "+5", "-0", ""]) assert.equal(matches(text), false, text);
  });

  test("number ranges compare decimals exactly", async () => {
    const cases: [object, (x: number) => boolean][] = [
      [{ type: "number", minimum: -1.5, exclusiveMaximum: 2 }, (x) => x >= -1.5 && x < 2],
      [{ type: "number", exclusiveMinimum: 0.25, maximum: 0.75 }, (x) => x > 0.25 && x <= 0.75],
      [{ type: "number", minimum: -273.15, maximum: 1000 }, (x) => x >= -273.15 && x <= 1000],
      [{ type: "number", maximum: -0.5 }, (x) => x <= -0.5],
      [{ type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 }, (x) => x > 0 && x < 1],
    ];
    const texts: string[] = [];
    for (const i of ["0", "1", "2", "3", "99", "273", "274", "999", "1000", "1001"]) {
      for (const f of ["", ".0", ".00", ".1", ".14", ".15", ".151", ".2", ".25", ".2500", ".2501", ".5", ".75", ".750", ".7501", ".9", ".999999"]) {
        texts.push(i + f, "-" + i + f);
      }
    }
    for (const [schema, ok] of cases) {
      const matches = await matcher(jsonSchemaToGbnf(schema).grammar);
      for (const text of texts) {
        if (text.startsWith("-0") && Number(text) === 0) continue; // "-0" forms are never generated
        assert.equal(matches(text), ok(Number(text)), `${JSON.stringify(schema)}: ${text}`);
      }
    }
  });

  test("strings: escapes, control characters, lengths", async () => {
    const matches = await matcher(jsonSchemaToGbnf({ type: "string", minLength: 2, maxLength: 3 }).grammar);
    for (const [text, ok] of [
      ['"ab"', true],
      ['"abc"', true],
      ['"a"', false],
      ['"abcd"', false],
      ['"a\\"b"', true],
      ['"\\u00e9\\n"', true],
      ['"a"b"', false],
      ['"a\nb"', false],
      ['"\\ud800x"', false],
      ['"\\x41b"', false],
      ['"éü"', true],
    ] as const)
      assert.equal(matches(text), ok, text);
  });

  test("patterns are escaped inside the JSON string", async () => {
    const matches = await matcher(jsonSchemaToGbnf({ type: "string", pattern: '^a"\\\\[^x]$' }).grammar);
    for (const [text, ok] of [
      ['"a\\"\\\\b"', true],
      ['"a\\"\\\\\\u0001"', true],
      ['"a"\\b"', false],
      ['"a\\"\\\\x"', false],
    ] as const) {
      assert.equal(matches(text), ok, text);
    }
  });

  test("formats: dates check days per month and leap years", async () => {
    const matches = await matcher(jsonSchemaToGbnf({ type: "string", format: "date" }).grammar);
    for (const [text, ok] of [
      ["2024-02-29", true],
      ["2023-02-29", false],
      ["2000-02-29", true],
      ["1900-02-29", false],
      ["2023-04-31", false],
      ["2023-12-31", true],
      ["2023-13-01", false],
      ["2023-00-10", false],
    ] as const)
      assert.equal(matches(`"${text}"`), ok, text);
  });

  test("extra property names never reuse declared ones", async () => {
    const matches = await matcher(jsonSchemaToGbnf({ type: "object", properties: { ab: { type: "null" } }, additionalProperties: { type: "boolean" } }).grammar);
    for (const [text, ok] of [
      ['{"ab":null}', true],
      ['{"ab":true}', false],
      ['{"a":true}', true],
      ['{"abc":true}', true],
      ['{"ab":null,"ab":true}', false],
      ['{"x":true,"ab":null}', false],
    ] as const) {
      assert.equal(matches(text), ok, text);
    }
  });
});

describe("jsonSchemaToGbnf errors and warnings", () => {
  test("unsupported keywords: warnings, or errors with strict", () => {
    for (const keyword of ["uniqueItems", "multipleOf", "patternProperties", "not", "if", "minProperties", "contains"]) {
      const schema = { type: "array", [keyword]: keyword === "uniqueItems" ? true : keyword === "multipleOf" || keyword === "minProperties" ? 2 : {} };
      const { warnings } = jsonSchemaToGbnf(schema);
      assert.ok(
        warnings.some((w) => w.includes(keyword)),
        `${keyword}: ${warnings.join("; ")}`,
      );
      assert.throws(
        () => jsonSchemaToGbnf(schema, { strict: true }),
        (e: unknown) => e instanceof GrammarConversionError && e.construct === keyword,
      );
    }
  });

  test("annotations are fine", () => {
    const { warnings } = jsonSchemaToGbnf(
      { $schema: "x", $id: "y", title: "t", description: "d", default: 1, examples: [1], $comment: "c", deprecated: false, readOnly: true, writeOnly: false, type: "integer" },
      { strict: true },
    );
    assert.deepEqual(warnings, []);
  });

  test("invalid schemas", () => {
    for (const [schema, construct] of [
      [{ type: "banana" }, "type"],
      [{ $ref: "#/$defs/missing" }, "$ref"],
      [{ type: "integer", minimum: 5, maximum: 4 }, "minimum"],
      [{ type: "number", exclusiveMinimum: 1, maximum: 1 }, "minimum"],
      [false, "false"],
      [{ type: "string", minLength: 3, maxLength: 2 }, "minLength"],
      [{ type: "array", minItems: 3, maxItems: 2 }, "minItems"],
      [{ type: "string", pattern: "(?<=a)b" }, undefined],
      [{ allOf: [{ type: "string" }, { type: "integer" }] }, "allOf"],
    ] as const) {
      assert.throws(
        () => jsonSchemaToGbnf(schema),
        (e: unknown) => e instanceof GrammarConversionError && (construct === undefined || e.construct === construct),
        JSON.stringify(schema),
      );
    }
  });
});

describe("generated JSON validates against the schema", () => {
  test("the schema corpus, 3 seeds each", async (t) => {
    const names = Object.keys(JSON_SCHEMA_CORPUS);
    assert.ok(names.length >= 40);
    let checked = 0;
    const capped: string[] = [];
    const invalid: string[] = [];
    for (const name of names) {
      const schema = JSON_SCHEMA_CORPUS[name];
      const { grammar } = jsonSchemaToGbnf(schema);
      const validate = validatorFor(schema);
      for (const seed of [1, 2, 3]) {
        const { text, complete } = await sample(grammar, seed);
        if (!complete) {
          capped.push(`${name}/${seed}`);
          continue;
        }
        checked++;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          invalid.push(`${name}/${seed}: not JSON: ${text}`);
          continue;
        }
        if (!validate(value)) invalid.push(`${name}/${seed}: ${text}`);
      }
    }
    t.diagnostic(`corpus: ${names.length} schemas, ${checked} complete outputs checked, ${invalid.length} invalid, ${capped.length} capped at ${MAX_TOKENS} tokens (${capped.join(", ")})`);
    assert.deepEqual(invalid, []);
    assert.ok(checked >= names.length * 2, `too few complete outputs: ${checked}`);
  });

  test("random schemas from the supported subset (fast-check)", async () => {
    const leaf = fc.oneof(
      fc.constant({ type: "boolean" }),
      fc.constant({ type: "null" }),
      fc.tuple(fc.integer({ min: -300, max: 300 }), fc.nat(500)).map(([min, span]) => ({ type: "integer", minimum: min, maximum: min + span })),
      fc
        .tuple(fc.integer({ min: -100, max: 100 }), fc.nat(100), fc.boolean())
        .map(([min, span, ex]) => ({ type: "number", [ex ? "exclusiveMinimum" : "minimum"]: min / 4, maximum: min / 4 + span / 8 + 1 })),
      fc.tuple(fc.nat(3), fc.nat(4)).map(([min, extra]) => ({ type: "string", minLength: min, maxLength: min + extra })),
      fc.constantFrom("date", "time", "date-time", "uuid", "email", "ipv4", "hostname", "uri").map((format) => ({ type: "string", format })),
      fc.constantFrom("^[a-z]{1,3}$", "^\\d{2}-\\d{2}$", "^(yes|no)$", '^["\\\\]{0,2}$').map((pattern) => ({ type: "string", pattern })),
      fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.boolean(), fc.constant(null)), { minLength: 1, maxLength: 4 }).map((values) => ({ enum: values })),
    );
    const { schema } = fc.letrec((tie) => ({
      schema: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("object"), tie("array"), tie("anyOf"), tie("nullable")),
      object: fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), tie("schema"), { maxKeys: 3 }).chain((properties) =>
        fc.tuple(fc.subarray(Object.keys(properties)), fc.constantFrom(false, undefined, { type: "boolean" })).map(([required, additionalProperties]) => ({
          type: "object",
          properties,
          required,
          ...(additionalProperties === undefined ? {} : { additionalProperties }),
        })),
      ),
      array: fc.tuple(tie("schema"), fc.nat(2), fc.nat(2)).map(([items, min, extra]) => ({ type: "array", items, minItems: min, maxItems: min + extra })),
      anyOf: fc.tuple(tie("schema"), tie("schema")).map((branches) => ({ anyOf: branches })),
      nullable: leaf.map((inner) => ({ anyOf: [inner, { type: "null" }] })),
    })) as { schema: fc.Arbitrary<object> };
    let complete = 0;
    await fc.assert(
      fc.asyncProperty(schema, fc.nat(1000), async (s, seed) => {
        const { grammar } = jsonSchemaToGbnf(s);
        const out = await sample(grammar, seed);
        if (!out.complete) return;
        complete++;
        assert.ok(validatorFor(s)(JSON.parse(out.text)), `${JSON.stringify(s)} → ${out.text}`);
      }),
      { numRuns: 80, seed: 20240601 },
    );
    assert.ok(complete >= 40, `only ${complete} complete samples`);
  });
});
