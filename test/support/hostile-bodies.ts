/**
 * Hostile chat-completions bodies for fuzzing (fast-check arbitraries), shared by the fuzz test
 * (a few hundred bodies) and `npm run fuzz` (thousands): a valid request with one to three
 * fields replaced, either by valid but extreme values (so that many requests do generate, with
 * odd combinations) or by values chosen to break things — extreme and non-finite numbers, wrong
 * types, deep nesting, U+0000 and lone surrogates, huge strings, ambiguous or unsatisfiable
 * regexes and grammars, malformed messages and tools — and raw texts that are not quite JSON;
 * and `sendBodies`, which sends them and tells the 5xx answers and hangs.
 */
import fc from "fast-check";

const MODEL = "parley-test-model";

/** Nesting as JSON text (JSON.stringify overflows on deep values). */
const deep = (depth: number, open = "[", close = "]") => `${open.repeat(depth)}1${close.repeat(depth)}`;

/** A JSON value as text: raw, so that depth and oddities survive. */
type Json = string;

const numbers: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom("0", "-0", "1e308", "-1e308", "1e-300", "-1e-300", "9007199254740993", "1e400", "-1", "0.5", "2", "128", "129", "100000000", "3.7"),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
);

const strings: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('""', '"\\u0000"', '"\\ud800"', '"\\udc00x"', '"<|im_end|>"', '"<|im_start|>assistant"', '"\\u0000\\u0000\\u0000"'),
  fc.integer({ min: 1, max: 200_000 }).map((n) => JSON.stringify("a".repeat(n))),
  fc.integer({ min: 1, max: 50_000 }).map((n) => JSON.stringify("<|im_end|>".repeat(n))),
);

const oddValues: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom("null", "true", "false", "[]", "{}", "[null]", '{"":null}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":1}}'),
  fc.integer({ min: 10, max: 20_000 }).map((d) => deep(d)),
  fc.integer({ min: 10, max: 5_000 }).map((d) => deep(d, '{"a":', "}")),
);

const anyValue: fc.Arbitrary<Json> = fc.oneof(numbers, strings, oddValues);

const regexes: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("\\x00", "[z-a]", "(a|b)*", ".*", "(?=x)a", "a{2000}", "a{0,100000}", "(a*)*", "(a|aa)*b", "\\", "[", "(", "x{2,1}", "^a$b", "\\p{L}+", "[^\\x00-\\u{10FFFF}]"),
  fc.array(fc.constantFrom("(a|b)*", "a", "[ab]", ".?", "(x|xy)*", "\\d+", '[^"]*'), { minLength: 1, maxLength: 150 }).map((parts) => parts.join("")),
  fc.integer({ min: 1, max: 100_000 }).map((n) => "a".repeat(n)),
);

const grammars: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "root ::= [z-a]",
    'root ::= "\\x00"',
    "root ::= root",
    'root ::= root "a" | "b"',
    "root ::= (",
    "root ::= x",
    'root ::= "a"{3000}',
    "root ::= [^\\x00-\\U0010FFFF]",
    "root ::= <[0]>",
    'root ::= ("a" | "aa")*',
  ),
  fc.integer({ min: 2, max: 300 }).map((n) => `root ::= ${"[ab]* ".repeat(n)}`),
  fc.integer({ min: 200, max: 60_000 }).map((n) => `root ::= ${"(".repeat(n)}"a"${")".repeat(n)}`),
);

const bool = fc.boolean().map(String);
const real = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map(String);
const int = (min: number, max: number) => fc.integer({ min, max }).map(String);

/**
 * Fields and their values: valid but extreme ones (weight 2, so that many requests do generate)
 * and hostile ones.
 */
const fields: [string, fc.Arbitrary<Json>][] = (
  [
    ["temperature", real(0, 2), anyValue],
    ["top_p", real(0, 1), anyValue],
    ["top_k", int(-1, 200), anyValue],
    ["min_p", real(0, 1), anyValue],
    ["repetition_penalty", real(0.01, 100), anyValue],
    ["frequency_penalty", real(-2, 2), anyValue],
    ["n", int(1, 8), numbers],
    ["best_of", int(1, 8), numbers],
    ["max_tokens", int(1, 64), numbers],
    ["min_tokens", int(0, 8), numbers],
    ["seed", int(-(2 ** 31), 2 ** 31), anyValue],
    [
      "stop",
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 4 }).map((a) => JSON.stringify(a)),
      fc.oneof(
        strings,
        fc.array(strings, { maxLength: 6 }).map((a) => `[${a.join(",")}]`),
      ),
    ],
    [
      "stop_token_ids",
      fc.array(int(0, 2047), { maxLength: 8 }).map((a) => `[${a.join(",")}]`),
      fc.oneof(
        anyValue,
        fc.array(numbers, { maxLength: 70 }).map((a) => `[${a.join(",")}]`),
      ),
    ],
    [
      "logit_bias",
      fc.dictionary(int(0, 2047), real(-100, 100), { maxKeys: 20 }).map((d) => JSON.stringify(d)),
      fc.oneof(
        anyValue,
        fc.dictionary(fc.oneof(fc.integer({ min: -5, max: 5000 }).map(String), fc.string({ maxLength: 4 })), numbers, { maxKeys: 20 }).map(
          (d) =>
            `{${Object.entries(d)
              .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
              .join(",")}}`,
        ),
      ),
    ],
    ["logprobs", bool, anyValue],
    ["top_logprobs", int(0, 20), numbers],
    ["prompt_logprobs", int(0, 5), numbers],
    ["use_beam_search", bool, anyValue],
    ["length_penalty", real(-10, 10), numbers],
    ["early_stopping", fc.constantFrom("true", "false", '"never"'), anyValue],
    ["stream", bool, anyValue],
    ["stream_options", fc.constant('{"include_usage":true}'), fc.constantFrom('{"continuous_usage_stats":true}', "1")],
    [
      "response_format",
      fc.constantFrom('{"type":"json_object"}', '{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"string","maxLength":3}}}}}'),
      fc.oneof(
        anyValue,
        fc.constantFrom(
          '{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"string","pattern":"(a|b)*(a|b)*(a|b)*(a|b)*(a|b)*"}}}}}',
          `{"type":"json_schema","json_schema":{"name":"x","schema":${deep(3000, '{"items":', "}")}}}`,
        ),
      ),
    ],
    [
      "guided_json",
      fc.constantFrom('{"type":"integer"}', '{"type":"array","items":{"type":"boolean"},"maxItems":3}'),
      fc.oneof(
        anyValue,
        fc.constantFrom('{"type":"string","enum":["\u0000"]}', '{"$ref":"#"}', '{"type":"array","minItems":100000}'),
        fc.integer({ min: 100, max: 12_000 }).map((d) => JSON.stringify(deep(d))),
      ),
    ],
    ["guided_regex", fc.constantFrom('"[a-z]{1,5}"', '"(yes|no)"', '"\\d+"'), regexes.map((r) => JSON.stringify(r))],
    [
      "guided_choice",
      fc.array(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 }).map((a) => JSON.stringify(a)),
      fc.oneof(
        anyValue,
        fc.array(strings, { minLength: 1, maxLength: 30 }).map((a) => `[${a.join(",")}]`),
        fc.integer({ min: 100, max: 5000 }).map((n) => JSON.stringify(Array.from({ length: n }, (_, i) => `option_${i}`))),
      ),
    ],
    ["guided_grammar", fc.constantFrom('"root ::= [a-c]+"', '"root ::= \\"x\\" | \\"y\\""'), grammars.map((g) => JSON.stringify(g))],
    ["guided_whitespace_pattern", fc.constantFrom('" ?"', '"[ \\n]*"'), regexes.map((r) => JSON.stringify(r))],
    [
      "chat_template",
      fc.constant('"{% for m in messages %}{{ m.content }}{% endfor %}"'),
      fc.oneof(strings, fc.constantFrom('"{% for i in range(100000000) %}x{% endfor %}"', '"{{ raise_exception(\\"no\\") }}"')),
    ],
    [
      "chat_template_kwargs",
      fc.constant('{"enable_thinking":false}'),
      fc.oneof(
        anyValue,
        fc.integer({ min: 10, max: 8000 }).map((d) => `{"a":${deep(d)}}`),
      ),
    ],
    [
      "tools",
      fc.constant('[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"integer"}}}}}]'),
      fc.oneof(
        anyValue,
        fc.constantFrom(
          '[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"enum":[1,2]}}}}}]',
          '[{"type":"function","function":{"name":"f"}}]',
          '[{"type":"function","function":{"name":"bad name!"}}]',
        ),
      ),
    ],
    ["tool_choice", fc.constantFrom('"auto"', '"none"'), fc.oneof(anyValue, fc.constantFrom('"required"', '{"type":"function","function":{"name":"nope"}}'))],
    [
      "messages",
      fc.array(fc.record({ role: fc.constantFrom("user", "assistant", "system"), content: fc.string({ maxLength: 30 }) }), { minLength: 1, maxLength: 6 }).map((m) => JSON.stringify(m)),
      fc.oneof(
        anyValue,
        fc.constantFrom(
          '[{"role":"x"}]',
          '[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}]',
          '[{"role":"tool","content":"r"}]',
          '[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{"}}]}]',
        ),
        fc.integer({ min: 1, max: 60_000 }).map((n) => JSON.stringify(Array.from({ length: n }, () => ({ role: "user", content: "" })))),
      ),
    ],
    ["continue_final_message", bool, anyValue],
    ["add_generation_prompt", bool, anyValue],
    ["echo", bool, anyValue],
    ["ignore_eos", bool, anyValue],
    ["skip_special_tokens", bool, anyValue],
    ["peft", fc.constant('"nope"'), anyValue],
  ] as [string, fc.Arbitrary<Json>, fc.Arbitrary<Json>][]
).map(([name, plausible, hostile]) => [name, fc.oneof({ arbitrary: plausible, weight: 2 }, { arbitrary: hostile, weight: 1 })]);

const base: Record<string, Json> = {
  model: JSON.stringify(MODEL),
  messages: JSON.stringify([{ role: "user", content: "hi" }]),
  max_tokens: "6",
};

/** A valid request with one to three fields made hostile, as JSON text. */
export const hostileBody: fc.Arbitrary<string> = fc
  .uniqueArray(fc.integer({ min: 0, max: fields.length - 1 }), { minLength: 1, maxLength: 3 })
  .chain((picked) => fc.tuple(...picked.map((i) => fields[i]![1].map((value) => [fields[i]![0], value] as const))))
  .map((replaced) => {
    const body = { ...base, ...Object.fromEntries(replaced) };
    return `{${Object.entries(body)
      .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
      .join(",")}}`;
  });

/** Bodies that are not quite JSON: truncated, with bytes flipped, or of another type. */
export const brokenBody: fc.Arbitrary<string> = fc.oneof(
  hostileBody.chain((text) => fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((at) => text.slice(0, at))),
  hostileBody.chain((text) =>
    fc.tuple(fc.integer({ min: 0, max: Math.max(0, text.length - 1) }), fc.constantFrom("\u0000", "}", "{", '"', "\\", "\uffff", ",,")).map(([at, c]) => text.slice(0, at) + c + text.slice(at + 1)),
  ),
  fc.constantFrom("", "null", "[]", "1", '"x"', "{", deep(100_000)),
);

/** Either kind, mostly hostile JSON. */
export const fuzzBody: fc.Arbitrary<string> = fc.oneof({ arbitrary: hostileBody, weight: 4 }, { arbitrary: brokenBody, weight: 1 });

export interface BodiesResult {
  readonly sent: number;
  readonly byStatus: ReadonlyMap<number, number>;
  readonly serverErrors: readonly string[];
  readonly hangs: readonly string[];
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Sends `count` fuzz bodies (fast-check `seed`) to `url`, `concurrency` at a time; a body without
 * an answer after `hangMs` is a hang. `progress` hears every thousandth.
 */
export async function sendBodies(url: string, options: { count: number; concurrency: number; seed: number; hangMs: number; progress?: (line: string) => void }): Promise<BodiesResult> {
  const { count, concurrency, seed, hangMs, progress } = options;
  const bodies = fc.sample(fuzzBody, { numRuns: count, seed });
  const byStatus = new Map<number, number>();
  const serverErrors: string[] = [];
  const hangs: string[] = [];
  const times: number[] = [];
  let next = 0;
  const client = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const body = bodies[i]!;
      const start = performance.now();
      try {
        const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(hangMs) });
        const text = await res.text();
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        if (res.status >= 500) serverErrors.push(`#${i} ${res.status} ${text.slice(0, 160)} ← ${body.slice(0, 300)}`);
      } catch (error) {
        hangs.push(`#${i} no answer within ${Math.round(performance.now() - start)} ms (${String(error).slice(0, 80)}) ← ${body.slice(0, 300)}`);
      }
      times.push(performance.now() - start);
      if (times.length % 1000 === 0) progress?.(`  bodies: ${times.length}/${count}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const sorted = [...times].sort((a, b) => a - b);
  return { sent: count, byStatus, serverErrors, hangs, p99Ms: sorted[Math.ceil(0.99 * sorted.length) - 1] ?? NaN, maxMs: sorted.at(-1) ?? NaN };
}
