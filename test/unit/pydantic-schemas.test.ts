/**
 * A fixed corpus of pydantic v2 `model_json_schema()` outputs (pydantic-corpus.ts): every schema
 * is either enforced — texts the grammar accepts (support/gbnf-sampler.ts, a share checked with
 * llama.cpp's engine) are valid for ajv — or refused in strict mode with the exact keyword named
 * (and, without strict, reported as a warning or refused the same way).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama } from "node-llama-cpp";
import { analyzeGbnf } from "../../src/chat/grammar/gbnf-analysis.ts";
import { GrammarConversionError } from "../../src/chat/grammar/gbnf.ts";
import { parseGbnf } from "../../src/chat/grammar/gbnf-parse.ts";
import { jsonSchemaToGbnf } from "../../src/chat/grammar/json-schema-to-gbnf.ts";
import { gbnfSampler } from "../support/gbnf-sampler.ts";
import { accepts } from "../support/grammar.ts";
import { validatorFor } from "../support/validate-json.ts";
import { PYDANTIC_CORPUS } from "./pydantic-corpus.ts";

let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false });
});
after(async () => {
  await llama.dispose();
});

const SAMPLES = 80;

describe("pydantic v2 schemas: enforced, or refused naming the keyword", () => {
  for (const [name, { schema, refused, check, ajvSchema }] of Object.entries(PYDANTIC_CORPUS)) {
    if (refused === undefined) {
      test(`${name}: enforced`, async () => {
        const { grammar, warnings } = jsonSchemaToGbnf(schema, { strict: true });
        assert.deepEqual(warnings, []);
        analyzeGbnf(parseGbnf(grammar));
        const compiled = await llama.createGrammar({ grammar });
        const validate = validatorFor(ajvSchema ?? schema);
        const sample = gbnfSampler(grammar, { softLength: 200 });
        for (let seed = 1; seed <= SAMPLES; seed++) {
          const text = sample(seed);
          if (seed <= 10) assert.ok(accepts(compiled, text), `the sampler left llama.cpp's grammar: ${text}`);
          const value = JSON.parse(text) as Record<string, unknown>;
          assert.ok(validate(value), `ajv rejects ${text}`);
          if (check !== undefined) assert.ok(check(value), `${text}`);
        }
      });
    } else {
      test(`${name}: refused, naming ${refused}`, () => {
        assert.throws(
          () => jsonSchemaToGbnf(schema, { strict: true }),
          (e: unknown) => e instanceof GrammarConversionError && e.construct === refused,
        );
        let warnings: string[] = [];
        try {
          warnings = jsonSchemaToGbnf(schema).warnings;
        } catch (error) {
          assert.ok(error instanceof GrammarConversionError && error.construct === refused);
          return;
        }
        assert.ok(
          warnings.some((w) => w.includes(refused)),
          warnings.join("; "),
        );
      });
    }
  }
});
