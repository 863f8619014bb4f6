import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { analyzeGbnf, GrammarRejected } from "../../src/chat/grammar/gbnf-analysis.ts";
import { tokenCost } from "../../src/chat/grammar/gbnf-cost.ts";
import { accepted } from "../../src/chat/grammar/gbnf-stacks.ts";
import { parseGbnf, type GbnfElement, type GbnfRules } from "../../src/chat/grammar/gbnf-parse.ts";
import { GrammarConversionError } from "../../src/chat/grammar/gbnf.ts";
import { jsonSchemaToGbnf } from "../../src/chat/grammar/json-schema-to-gbnf.ts";
import { JSON_SCHEMA_CORPUS } from "./json-schema-corpus.ts";

/** The example grammars node-llama-cpp ships with llama.cpp (json, c, chess, arithmetic, …). */
const LLAMA_GRAMMARS = join(dirname(fileURLToPath(import.meta.resolve("node-llama-cpp"))), "..", "llama", "grammars");
const shipped = readdirSync(LLAMA_GRAMMARS)
  .filter((f) => f.endsWith(".gbnf"))
  .map((f) => [f, readFileSync(join(LLAMA_GRAMMARS, f), "utf8")] as const);

// ---------------------------------------------------------------------------------------------
// A brute-force model of llama.cpp's candidate masking (llama_grammar_advance_stack and
// llama_grammar_reject_candidates_for_stack), to check the cost bound against.

type Stack = readonly (readonly [number, number, number])[]; // (rule, alternative, index), top last

function element(g: GbnfRules, [r, a, i]: readonly [number, number, number]): GbnfElement | undefined {
  return g.rules[r]?.[a]?.[i];
}

function advance(g: GbnfRules, stack: Stack, out: Stack[] = []): Stack[] {
  const top = stack[stack.length - 1];
  const e = top === undefined ? undefined : element(g, top);
  if (top === undefined || e === undefined || e.kind !== "ref") {
    if (top !== undefined && e === undefined) throw new Error("stack left at an end");
    if (!out.some((s) => JSON.stringify(s) === JSON.stringify(stack))) out.push(stack);
    return out;
  }
  const below = stack.slice(0, -1);
  const next: [number, number, number] = [top[0], top[1], top[2] + 1];
  const rest = element(g, next) === undefined ? below : [...below, next];
  g.rules[e.rule]!.forEach((alt, b) => advance(g, alt.length === 0 ? rest : [...rest, [e.rule, b, 0]], out));
  return out;
}

function acceptsChar(g: GbnfRules, stack: Stack, c: number): boolean {
  const top = stack[stack.length - 1];
  const e = top === undefined ? undefined : element(g, top);
  if (e === undefined || e.kind !== "chars") return false;
  const ranges = accepted(e);
  return ranges !== "token" && ranges.some(([lo, hi]) => lo <= c && c <= hi);
}

/** Stacks visited masking one candidate `text` from `stacks`, summed over every stack (no early exit). */
function visits(g: GbnfRules, stacks: readonly Stack[], text: readonly number[]): number {
  const [c, ...rest] = text;
  if (c === undefined) return 0;
  let total = 0;
  for (const stack of stacks) {
    if (!acceptsChar(g, stack, c)) continue;
    const top = stack[stack.length - 1]!;
    const after: [number, number, number] = [top[0], top[1], top[2] + 1];
    const popped = element(g, after) === undefined ? stack.slice(0, -1) : [...stack.slice(0, -1), after];
    total += 1 + visits(g, advance(g, popped), rest);
  }
  return total;
}

function initialStacks(g: GbnfRules): Stack[] {
  const out: Stack[] = [];
  g.rules[g.root]!.forEach((alt, a) => advance(g, alt.length === 0 ? [] : [[g.root, a, 0]], out));
  return out;
}

/** Every stack set reachable by accepting up to `depth` characters of `alphabet`. */
function reachable(g: GbnfRules, alphabet: readonly number[], depth: number): Stack[][] {
  let frontier = [initialStacks(g)];
  const all = [...frontier];
  for (let d = 0; d < depth; d++) {
    frontier = frontier.flatMap((stacks) =>
      alphabet
        .map((c) => {
          const next: Stack[] = [];
          for (const stack of stacks) {
            if (!acceptsChar(g, stack, c)) continue;
            const top = stack[stack.length - 1]!;
            const after: [number, number, number] = [top[0], top[1], top[2] + 1];
            advance(g, element(g, after) === undefined ? stack.slice(0, -1) : [...stack.slice(0, -1), after], next);
          }
          return next;
        })
        .filter((next) => next.length > 0),
    );
    all.push(...frontier);
  }
  return all;
}

function strings(alphabet: readonly number[], length: number): number[][] {
  let out: number[][] = [[]];
  for (let i = 0; i < length; i++) out = out.flatMap((s) => alphabet.map((c) => [...s, c]));
  return out;
}

// ---------------------------------------------------------------------------------------------

describe("gbnf-parse", () => {
  it("parses every grammar llama.cpp ships", () => {
    for (const [name, text] of shipped) assert.doesNotThrow(() => parseGbnf(text), name);
  });

  it("rewrites repetitions into rules as llama.cpp does", () => {
    assert.equal(parseGbnf('root ::= "a"{2,5}').rules.length, 1 + 3);
    assert.equal(parseGbnf('root ::= "a"*').rules.length, 2);
    assert.equal(parseGbnf('root ::= "a"+ "b"?').rules.length, 3);
    assert.deepEqual(parseGbnf('root ::= [a-c] "x"').rules[0], [
      [
        { kind: "chars", ranges: [[97, 99]], negated: false },
        { kind: "chars", ranges: [[120, 120]], negated: false },
      ],
    ]);
  });

  it("rejects what llama.cpp's parser rejects, naming it", () => {
    for (const text of ["root ::= (", 'root ::= "a', "root ::= x", 'x ::= "a"', 'root ::= "\\q"', "root ::= [a", 'root ::= "a"{3000}', 'root = "a"']) {
      assert.throws(() => parseGbnf(text), GrammarConversionError, text);
    }
  });
});

describe("gbnf-analysis", () => {
  it("refuses grammars that reach text no model can write", () => {
    for (const text of ["root ::= [z-a]", 'root ::= "\\x00"', 'root ::= "b" x | "c"\nx ::= [z-a]', "root ::= [^\\x00-\\U0010FFFF]"]) {
      assert.throws(
        () => analyzeGbnf(parseGbnf(text)),
        (e: unknown) => e instanceof GrammarRejected && /no text/.test(e.message),
        text,
      );
    }
    // Unreachable junk, or U+0000 beside other characters, is harmless.
    assert.doesNotThrow(() => analyzeGbnf(parseGbnf('root ::= "a"\nx ::= [z-a]')));
    assert.doesNotThrow(() => analyzeGbnf(parseGbnf("root ::= [\\x00-\\x7F]+")));
  });

  it("refuses left recursion, too many rules and too many alternatives", () => {
    assert.throws(() => analyzeGbnf(parseGbnf('root ::= root "a" | "b"')), /left-recursive/);
    assert.throws(() => analyzeGbnf(parseGbnf('root ::= "a"{0,100}'), { maxRules: 50 }), /rules/);
    assert.throws(() => analyzeGbnf(parseGbnf(`root ::= ${Array.from({ length: 30 }, (_, i) => `"${i}"`).join(" | ")}`), { maxAlternatives: 20 }), /alternatives/);
  });

  it("accepts realistic grammars: llama.cpp's examples, JSON schemas, whitespace patterns", () => {
    for (const [name, text] of shipped) assert.doesNotThrow(() => analyzeGbnf(parseGbnf(text)), name);
    for (const [name, schema] of Object.entries(JSON_SCHEMA_CORPUS)) {
      let grammar: string;
      try {
        grammar = jsonSchemaToGbnf(schema).grammar;
      } catch {
        continue; // schemas the converter refuses are another test's business
      }
      assert.doesNotThrow(() => analyzeGbnf(parseGbnf(grammar)), name);
      assert.doesNotThrow(() => analyzeGbnf(parseGbnf(jsonSchemaToGbnf(schema, { whitespace: "[ \\t\\n]*" }).grammar)), `${name} with whitespace`);
    }
  });

  it("refuses grammars whose ambiguity multiplies parse states", () => {
    for (const text of [`root ::= ${"[ab]* ".repeat(5)}`, 'root ::= ("a" | "aa")*', 'root ::= ("a" | "a")* "b"', `root ::= ${"[ab]* ".repeat(100)}`]) {
      assert.throws(() => analyzeGbnf(parseGbnf(text)), /ambiguous/, text);
    }
  });

  it("bounds what llama.cpp really visits (brute force over short strings)", () => {
    const grammars = [
      'root ::= "{" ws ws "}"\nws ::= [ ]*',
      "root ::= [ab]* [ab]* [ab]*",
      'root ::= ("a" | "aa")* "b"',
      'root ::= item+\nitem ::= "a" [ab]? ","',
      'root ::= array\nvalue ::= array | number\narray ::= "[" ( value ("," value)* )? "]"\nnumber ::= [0-9] | [1-9] [0-9]*',
      'root ::= x "b" | "a" y\nx ::= "a"*\ny ::= "b"+ | "bb"',
    ];
    for (const text of grammars) {
      const g = parseGbnf(text);
      // The characters the grammar names (range ends stand for their ranges), and one it does not.
      const named = g.rules.flat(2).flatMap((e) => (e.kind === "chars" ? e.ranges.flat() : []));
      const alphabet = [...new Set([...named, "x".codePointAt(0)!])];
      const length = 4;
      let actual = 0;
      for (const stacks of reachable(g, alphabet, 2)) for (const s of strings(alphabet, length)) actual = Math.max(actual, visits(g, stacks, s));
      const bound = tokenCost(g, { anyChars: length, runChars: 1 });
      assert.ok(bound >= actual, `${JSON.stringify(text)}: bound ${bound} < actual ${actual}`);
    }
  });
});
