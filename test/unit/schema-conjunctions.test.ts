/**
 * Schemas that zod 4 writes (z.toJSONSchema, the AI SDK's zodSchema, the openai SDK's
 * zodResponseFormat) put `format` beside `pattern`, and `maxLength` beside both: the grammar must
 * enforce all of them at once. Generation-validated: for each schema, many texts the grammar
 * accepts (a random walk over it, support/gbnf-sampler.ts; a share also checked with llama.cpp's
 * own grammar engine) must pass zod's own `.safeParse` and ajv. Mutants of those texts (a
 * character changed, added or removed) check the other way: whatever zod rejects, llama.cpp's
 * grammar rejects too — and whatever the grammar accepts, zod accepts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama, type LlamaGrammar } from "node-llama-cpp";
import { zodSchema } from "ai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { analyzeGbnf } from "../../src/chat/grammar/gbnf-analysis.ts";
import { GrammarConversionError } from "../../src/chat/grammar/gbnf.ts";
import { parseGbnf } from "../../src/chat/grammar/gbnf-parse.ts";
import { jsonSchemaToGbnf } from "../../src/chat/grammar/json-schema-to-gbnf.ts";
import { gbnfSampler, random } from "../support/gbnf-sampler.ts";
import { accepts } from "../support/grammar.ts";
import { validatorFor } from "../support/validate-json.ts";

let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false });
});
after(async () => {
  await llama.dispose();
});

const SAMPLES = 150;
const CHECKED_BY_LLAMA = 40;
const MUTANTS = 150;

const ALPHABET = 'aZ09-_.@:+/TZ"\\ \u00e9\u0001';

/** Single-character edits of `text` (a JSON value's text: edits inside strings stay JSON strings). */
function mutants(value: unknown, seed: number): unknown[] {
  const rnd = random(seed);
  const strings: string[] = [];
  JSON.stringify(value, (_, v: unknown) => {
    if (typeof v === "string") strings.push(v);
    return v;
  });
  const out: unknown[] = [];
  for (const target of strings) {
    for (let k = 0; k < 4; k++) {
      const chars = [...target];
      const i = Math.floor(rnd() * (chars.length + 1));
      const c = ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
      const kind = Math.floor(rnd() * 3);
      if (kind === 0 && i < chars.length) chars[i] = c;
      else if (kind === 1) chars.splice(i, 0, c);
      else chars.splice(Math.min(i, chars.length - 1), 1);
      const edited = chars.join("");
      out.push(JSON.parse(JSON.stringify(value, (_, v: unknown) => (v === target ? edited : v))));
    }
  }
  return out;
}

interface Checked {
  readonly samples: number;
  readonly distinct: number;
  readonly mutantsRejected: number;
  readonly rules: number;
}

/** The generation-validated check of one zod schema, through the JSON Schema a library wrote for it. */
async function check(name: string, schema: z.ZodType, jsonSchema: unknown): Promise<Checked> {
  const { grammar, warnings } = jsonSchemaToGbnf(jsonSchema, { strict: true });
  assert.deepEqual(warnings, [], name);
  const stats = analyzeGbnf(parseGbnf(grammar)); // within the grammar budget the server applies
  const compiled: LlamaGrammar = await llama.createGrammar({ grammar });
  // ajv's 2020-12 build does not know draft-07's meta-schema id: the schemas here read the same under both.
  const { $schema: _, ...withoutDraft } = jsonSchema as Record<string, unknown>;
  const validate = validatorFor(withoutDraft);
  const sample = gbnfSampler(grammar);
  const seen = new Set<string>();
  let mutantsRejected = 0;
  let mutantsTried = 0;
  for (let seed = 1; seed <= SAMPLES; seed++) {
    const text = sample(seed);
    seen.add(text);
    if (seed <= CHECKED_BY_LLAMA) assert.ok(accepts(compiled, text), `${name}: the sampler left llama.cpp's grammar: ${text}`);
    const value: unknown = JSON.parse(text);
    const parsed = schema.safeParse(value);
    assert.ok(parsed.success, `${name}: zod rejects ${text}: ${parsed.error?.issues[0]?.message}`);
    assert.ok(validate(value), `${name}: ajv rejects ${text}`);
    if (mutantsTried < MUTANTS) {
      for (const mutant of mutants(value, seed)) {
        mutantsTried++;
        const zodOk = schema.safeParse(mutant).success;
        const grammarOk = accepts(compiled, JSON.stringify(mutant));
        if (!zodOk) {
          mutantsRejected++;
          assert.equal(grammarOk, false, `${name}: zod rejects ${JSON.stringify(mutant)} but the grammar accepts it`);
        }
        if (grammarOk) assert.ok(zodOk, `${name}: the grammar accepts ${JSON.stringify(mutant)}, zod does not`);
      }
    }
  }
  return { samples: SAMPLES, distinct: seen.size, mutantsRejected, rules: stats.rules };
}

const UUIDS: Record<string, z.ZodType> = {
  uuid: z.uuid(),
  guid: z.guid(),
  uuidv4: z.uuidv4(),
  uuidv6: z.uuidv6(),
  uuidv7: z.uuidv7(),
  ...Object.fromEntries((["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"] as const).map((version) => [`uuid ${version}`, z.uuid({ version })])),
};

const STRINGS: Record<string, z.ZodType> = {
  email: z.email(),
  ...UUIDS,
  "iso.datetime": z.iso.datetime(),
  "iso.datetime offset": z.iso.datetime({ offset: true }),
  "iso.datetime local": z.iso.datetime({ local: true }),
  "iso.datetime precision 3": z.iso.datetime({ precision: 3 }),
  "iso.datetime precision 0": z.iso.datetime({ precision: 0 }),
  "iso.date": z.iso.date(),
  "iso.time": z.iso.time(),
  url: z.url(),
  ipv4: z.ipv4(),
  "regex + max 64": z
    .string()
    .regex(/^[a-z]+$/)
    .max(64),
  "regex + min + max": z
    .string()
    .regex(/^[A-Z][a-z "\\]*$/)
    .min(3)
    .max(20),
  "regex + length": z
    .string()
    .regex(/^[0-9a-f]+$/)
    .length(8),
  "email + max 40": z.email().max(40),
  "email + min 30": z.email().min(30),
  "uuid + max 36": z.uuid().max(36),
  "iso.date + min": z.iso.date().min(10),
  "url + max 30": z.url().max(30),
  "startsWith + endsWith + max": z.string().startsWith("ab").endsWith("z").max(10),
  "two regexes": z
    .string()
    .regex(/^[a-z]+$/)
    .regex(/^.{2,5}$/),
};

describe("zod 4 string schemas: format, pattern and length enforced together", () => {
  for (const [name, schema] of Object.entries(STRINGS)) {
    test(name, async (t) => {
      const result = await check(name, schema, z.toJSONSchema(schema));
      t.diagnostic(`${result.samples} samples (${result.distinct} distinct), ${result.mutantsRejected} mutants zod rejects all rejected, ${result.rules} rules`);
      assert.ok(result.distinct > result.samples / 3 || name.includes("length"), `${name}: only ${result.distinct} distinct samples`);
    });
  }
});

const Person = z.object({
  id: z.uuid(),
  email: z.email().max(40),
  born: z.iso.date(),
  updated: z.iso.datetime({ offset: true }),
  homepage: z.url().nullable(),
  handle: z
    .string()
    .regex(/^@[a-z0-9_]+$/)
    .min(2)
    .max(16),
  friends: z.array(z.object({ id: z.uuidv4(), since: z.iso.datetime() })).max(3),
  tags: z
    .array(
      z
        .string()
        .regex(/^#[a-z]+$/)
        .max(8),
    )
    .min(1)
    .max(4),
});

describe("nested objects and arrays, through each library's JSON Schema", () => {
  test("z.toJSONSchema", async () => {
    await check("Person", Person, z.toJSONSchema(Person));
  });
  test("the AI SDK's zodSchema (draft-07)", async () => {
    await check("Person (ai)", Person, await zodSchema(Person).jsonSchema);
  });
  test("the openai SDK's zodResponseFormat (strict)", async () => {
    const format = zodResponseFormat(Person, "person");
    await check("Person (openai)", Person, format.json_schema.schema);
  });
});

describe("what cannot be enforced is refused, naming the keywords", () => {
  const refused = (schema: unknown): GrammarConversionError => {
    try {
      jsonSchemaToGbnf(schema, { strict: true });
    } catch (error) {
      if (error instanceof GrammarConversionError) return error;
      throw error;
    }
    throw new Error(`accepted: ${JSON.stringify(schema)}`);
  };

  test("a format and a pattern with no string in common", () => {
    const error = refused({ type: "string", format: "uuid", pattern: "^[g-z]+$" });
    assert.equal(error.construct, "format + pattern");
    assert.match(error.message, /no string satisfies format "uuid" \+ pattern/);
  });

  test("lengths no string of the pattern has", () => {
    assert.equal(refused({ type: "string", format: "date", maxLength: 9 }).construct, "format + maxLength");
    assert.equal(refused({ type: "string", pattern: "^a{3}$", minLength: 4 }).construct, "pattern + minLength");
  });

  test("a product too large to build", () => {
    // (a|b)* a (a|b){20}: the determinised automaton needs 2^21 states.
    const error = refused({ type: "string", pattern: "^[ab]*a[ab]{20}$", maxLength: 30 });
    assert.equal(error.construct, "pattern + maxLength");
    assert.match(error.message, /more than \d+ states/);
  });

  test("zod's lookahead patterns (hostname, emoji, duration) name the construct", () => {
    for (const schema of [z.hostname(), z.emoji(), z.iso.duration()]) {
      assert.equal(refused(z.toJSONSchema(schema)).construct, "lookahead");
    }
  });

  test("without strict, the same schemas still fail: nothing is silently weakened", () => {
    assert.throws(() => jsonSchemaToGbnf({ type: "string", format: "uuid", pattern: "^[g-z]+$" }), GrammarConversionError);
  });
});

describe("long bounds", () => {
  test("a maxLength too long to count beside a pattern is lowered, with a warning, never dropped", async () => {
    const schema = z
      .string()
      .regex(/^[a-z ]+$/)
      .max(5000);
    const { grammar, warnings } = jsonSchemaToGbnf(z.toJSONSchema(schema), { strict: true });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /maxLength 5000 beside pattern is enforced as \d+/);
    const bound = Number(/enforced as (\d+)/.exec(warnings[0]!)![1]);
    assert.ok(bound >= 1000, `bound ${bound}`);
    analyzeGbnf(parseGbnf(grammar));
    const compiled = await llama.createGrammar({ grammar });
    assert.equal(accepts(compiled, JSON.stringify("a".repeat(bound))), true);
    assert.equal(accepts(compiled, JSON.stringify("a".repeat(bound + 1))), false);
  });

  test("a bound the format's own strings never reach costs nothing", () => {
    const plain = jsonSchemaToGbnf({ type: "string", format: "uuid", pattern: "^[0-9a-f-]+$" }).grammar;
    const bounded = jsonSchemaToGbnf({ type: "string", format: "uuid", pattern: "^[0-9a-f-]+$", minLength: 1, maxLength: 100 }).grammar;
    assert.equal(bounded, plain);
  });
});
