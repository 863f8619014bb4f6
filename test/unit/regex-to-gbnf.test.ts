import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaGrammarEvaluationState, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { GrammarBuilder, GrammarConversionError, gbnfCharClassChar, gbnfLiteral } from "../../src/chat/grammar/gbnf.ts";
import { regexGrammar, regexToGbnf } from "../../src/chat/grammar/regex-to-gbnf.ts";
import { Vocabulary } from "../../src/engines/llama/vocabulary.ts";
import { ensureTestModel, testModelVocabulary } from "../../src/testing/test-model.ts";

/**
 * Decodes bytes the way llama.cpp's grammar does (lead byte's high nibble gives the length, no
 * validation), so outputs are checked in the grammar's own code points. `valid`: whether the
 * bytes are also valid UTF-8 (llama.cpp accepts overlong encodings, which no grammar can exclude).
 */
function decodeLikeLlama(bytes: Uint8Array): { codePoints: number[]; valid: boolean } {
  const codePoints: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const first = bytes[i]!;
    const length = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4][first >> 4]!;
    if (length === 0) return { codePoints: [...codePoints, -1], valid: false };
    let value = first & ((1 << (8 - length)) - 1);
    for (let k = 1; k < length; k++) value = (value << 6) + ((bytes[i + k] ?? 0) & 0x3f);
    codePoints.push(value);
    i += length;
  }
  let valid = true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    valid = false;
  }
  return { codePoints, valid };
}

describe("gbnf helpers", () => {
  test("gbnfLiteral escapes quotes, backslashes, controls and invisible code points", () => {
    assert.equal(gbnfLiteral('a"b\\c\n\t\r\x00\x7f'), '"a\\"b\\\\c\\n\\t\\r\\x00\\x7F"');
    assert.equal(gbnfLiteral("café 😀"), '"café 😀"');
    assert.equal(gbnfLiteral("\u00a0\u200b\u{e0001}"), '"\\xA0\\u200B\\U000E0001"');
  });

  test("gbnfCharClassChar escapes class syntax", () => {
    assert.deepEqual(
      [...'[]-^\\"a'].map((ch) => gbnfCharClassChar(ch.codePointAt(0)!)),
      ["\\[", "\\]", "\\-", "\\x5E", "\\\\", '"', "a"],
    );
  });

  test("GrammarBuilder names, de-duplicates and orders rules", () => {
    const builder = new GrammarBuilder();
    assert.equal(builder.addRule("My Rule!", '"a"'), "my-rule");
    assert.equal(builder.addRule("my rule", '"b"'), "my-rule-2");
    assert.equal(builder.addRule("other", '"a"'), "my-rule");
    assert.equal(builder.addRule("root", '"c"'), "root-2");
    const name = builder.reserve("rec");
    builder.define(name, `"(" ${name}? ")"`);
    assert.equal(builder.toString("my-rule rec"), 'root ::= my-rule rec\nmy-rule ::= "a"\nmy-rule-2 ::= "b"\nroot-2 ::= "c"\nrec ::= "(" rec? ")"\n');
  });
});

describe("regexGrammar text", () => {
  const cases: [string, string][] = [
    ["abc", 'root ::= "abc"\n'],
    ["^[A-Z]{3}-\\d{4}$", 'root ::= [A-Z]{3} "-" [0-9]{4}\n'],
    ["(yes|no|maybe)", 'root ::= "yes" | "no" | "maybe"\n'],
    ["a|b|[c-e]", "root ::= [a-e]\n"],
    [".{3,8}", "root ::= [^\\n\\r\\u2028\\u2029\\uD800-\\uDFFF\\U00110000-\\U003FFFFF]{3,8}\n"],
    ["[\\w-]+@x\\.(?:com|org)", 'root ::= [\\-0-9A-Z_a-z]+ "@x." ("com" | "org")\n'],
    ["(ab)+?c*?d??", 'root ::= "ab"+ "c"* "d"?\n'],
    ["(a|bc)*", 'root ::= regex-part*\nregex-part ::= "a" | "bc"\n'],
    ["(a*)*b", 'root ::= regex-part* "b"\nregex-part ::= "a"+\n'],
    ["[^\\d]", "root ::= [^0-9\\uD800-\\uDFFF\\U00110000-\\U003FFFFF]\n"],
    ["[^]|\\u{1F600}", "root ::= [^\\uD800-\\uDFFF\\U00110000-\\U003FFFFF]\n"],
    ["x{1,1000}", 'root ::= "x"{1,1000}\n'],
    ["x{4500}", 'root ::= regex-part{2} "x"{500}\nregex-part ::= "x"{2000}\n'],
    ["", 'root ::= ""\n'],
  ];
  for (const [pattern, grammar] of cases) {
    test(JSON.stringify(pattern), () => assert.equal(regexGrammar(pattern), grammar));
  }

  test("regexToGbnf adds a named rule to a shared builder", () => {
    const builder = new GrammarBuilder();
    const name = regexToGbnf("(ab|c)+", builder, "code");
    assert.equal(name, "code");
    assert.equal(builder.toString(`"[" ${name} "]"`), 'root ::= "[" code "]"\ncode ::= code-part+\ncode-part ::= "ab" | "c"\n');
  });
});

describe("unsupported regex constructs", () => {
  const cases: [string, string][] = [
    ["(a)\\1", "backreference"],
    ["(?<x>a)\\k<x>", "backreference"],
    ["a(?=b)", "lookahead"],
    ["a(?!b)", "lookahead"],
    ["(?<=a)b", "lookbehind"],
    ["(?<!a)b", "lookbehind"],
    ["\\bword\\b", "word boundary"],
    ["a\\Bb", "word boundary"],
    ["(?i:abc)", "inline modifiers"],
    ["a^b", "^ anchor"],
    ["a$b", "$ anchor"],
    ["(^a)+", "^ anchor"],
    ["[]", "empty character class"],
    ["\\ud800", "lone surrogate"],
    ["a{1,99999999}", "repetition count"],
    ["(", "invalid regex"],
    ["a**", "invalid regex"],
    ["\\q", "invalid regex"],
    ["[z-a]", "invalid regex"],
  ];
  for (const [pattern, construct] of cases) {
    test(`${JSON.stringify(pattern)} → ${construct}`, () => {
      assert.throws(
        () => regexGrammar(pattern),
        (error: unknown) => error instanceof GrammarConversionError && error.construct === construct,
      );
    });
  }

  test("an invalid regex reports JavaScript's message", () => {
    assert.throws(() => regexGrammar("a)"), /invalid regex \/a\)\/: Invalid regular expression/);
  });
});

/** Realistic patterns: every complete generation under the grammar must match the regex. */
const CORPUS = [
  "\\d{3}-\\d{3}-\\d{4}",
  "\\+?1?[ -]?\\(?\\d{3}\\)?[ -]?\\d{3}-\\d{4}",
  "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])",
  "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?(Z|[+-]\\d{2}:\\d{2})",
  "[a-z0-9._%+-]{1,10}@[a-z0-9-]{1,8}\\.[a-z]{2,4}",
  "#[0-9a-fA-F]{6}",
  "#([0-9a-f]{3}){1,2}",
  "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
  "(0|[1-9]\\d{0,3})\\.(0|[1-9]\\d{0,3})\\.(0|[1-9]\\d{0,3})(-[0-9A-Za-z-]{1,8})?",
  "(yes|no|maybe)",
  "[A-Z]{3}-\\d{4}",
  "-?(0|[1-9]\\d{0,5})(\\.\\d{1,4})?",
  "[A-Za-z]{1,8}( [A-Za-z]{1,8}){0,4}",
  "café|naïve|über|日本語",
  "((ab|cd){1,3}-){2}x",
  "[^,\\n]{1,10}(,[^,\\n]{1,10}){0,3}",
  ".{3,8}",
  "\\w{2,12}",
  "[^\\d\\s]{1,6}",
  "(?<year>\\d{4})/(?:\\d{2})",
  "^(true|false|null)$",
  "\\$\\d{1,5}\\.\\d{2}",
  "[\\u0400-\\u04FF]{2,6}",
  "\\u{1F600}{1,3}|\\p{Lu}{2}",
  "(\\d{1,3}\\.){3}\\d{1,3}",
  "https?://[a-z]{1,10}(\\.[a-z]{2,3}){1,2}(/[a-z0-9]{0,6})?",
  "[A-Z][a-z]{0,9}(-[A-Z][a-z]{0,9})?",
  "(a*b*)*c",
  "\\t?\\[[\\-\\]x]{1,4}\\]",
  "\\S{1,5}\\s\\S{1,5}",
  "[^a-z]{4}",
  "(on|off)(,(on|off)){0,3}",
  "\\p{L}{1,5}\\p{Nd}?",
  "x{0,2500}y",
  "(a{0,100}b){0,100}",
  "[^]{1,5}",
];

describe("generation under regex grammars", () => {
  let llama: Llama;
  let model: LlamaModel;
  let context: LlamaContext;

  before(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => {} });
    model = await llama.loadModel({ modelPath: await ensureTestModel() });
    context = await model.createContext({ contextSize: 512, threads: 1 });
  });

  after(async () => {
    await context?.dispose();
    await model?.dispose();
    await llama?.dispose();
  });

  test(`every complete output of ${CORPUS.length} patterns x 3 seeds matches the regex`, { timeout: 120_000 }, async () => {
    const sequence = context.getSequence();
    const prompt = model.tokenize("x");
    const maxTokens = 60;
    let complete = 0;
    let capped = 0;
    let overlong = 0;
    const vocab = testModelVocabulary();
    const vocabulary = new Vocabulary({
      model: "gpt2",
      tokens: vocab.tokens,
      tokenTypes: vocab.tokenTypes,
      detokenize: () => "",
      specialTokenIds: [vocab.bos, vocab.eos, vocab.eot, vocab.imStart],
    });
    const failures: string[] = [];
    for (const pattern of CORPUS) {
      const regex = new RegExp(`^(?:${pattern})$`, "u");
      const grammar = await llama.createGrammar({ grammar: regexGrammar(pattern) });
      for (const seed of [1, 2, 3]) {
        await sequence.clearHistory();
        const state = new LlamaGrammarEvaluationState({ model, grammar });
        const tokens: Token[] = [];
        for await (const token of sequence.evaluate(prompt, {
          temperature: 1,
          seed,
          topK: 0,
          topP: 1,
          grammarEvaluationState: state,
        })) {
          tokens.push(token);
          if (tokens.length >= maxTokens) break;
        }
        if (tokens.length >= maxTokens) {
          capped++;
          continue;
        }
        complete++;
        const bytes = Buffer.concat(tokens.filter((token) => !vocabulary.isControl(token)).map((token) => vocabulary.bytes(token)));
        const { codePoints, valid } = decodeLikeLlama(bytes);
        if (!valid) overlong++;
        const bad = codePoints.find((cp) => cp < 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff);
        const text = bad === undefined ? String.fromCodePoint(...codePoints) : undefined;
        if (text === undefined || !regex.test(text)) {
          failures.push(`${pattern} (seed ${seed}): ${text === undefined ? bytes.toString("hex") : JSON.stringify(text)}`);
        }
      }
    }
    console.log(`regex corpus: ${complete} complete outputs checked (${overlong} with overlong UTF-8), ${capped} hit the ${maxTokens}-token cap`);
    assert.deepEqual(failures, []);
    assert.ok(complete >= CORPUS.length * 2, `too few complete outputs: ${complete}`);
  });
});
