/**
 * Benchmark: structured-output grammar cost for a 50-property JSON Schema — conversion to GBNF,
 * llama.cpp grammar compilation, and what a repeated request pays (the server's per-constraint
 * LRU cache). Run with `npm run bench:grammar` (prints a table; not a test).
 */
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { jsonSchemaToGbnf } from "../src/chat/grammar/json-schema-to-gbnf.ts";
import { analyzeGbnf } from "../src/chat/grammar/gbnf-analysis.ts";
import { parseGbnf } from "../src/chat/grammar/gbnf-parse.ts";
import { GrammarCache } from "../src/engines/llama/grammar-cache.ts";

const TYPES = [
  { type: "string", maxLength: 40 },
  { type: "integer", minimum: 0, maximum: 10_000 },
  { type: "number", minimum: -1000, maximum: 1000 },
  { type: "boolean" },
  { enum: ["red", "green", "blue"] },
  { type: "string", format: "date-time" },
  { type: "array", items: { type: "string", maxLength: 10 }, maxItems: 5 },
  { anyOf: [{ type: "string", maxLength: 20 }, { type: "null" }] },
];
const properties = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`field_${i}`, TYPES[i % TYPES.length]]));
const schema = { type: "object", properties, required: Object.keys(properties).filter((_, i) => i % 2 === 0) };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const runs = 10;
  const convert: number[] = [];
  let gbnf = "";
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    gbnf = jsonSchemaToGbnf(schema).grammar;
    convert.push(performance.now() - start);
  }
  const analyse: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    analyzeGbnf(parseGbnf(gbnf));
    analyse.push(performance.now() - start);
  }
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  const compile: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await llama.createGrammar({ grammar: gbnf });
    compile.push(performance.now() - start);
  }
  const cache = new GrammarCache(llama);
  const constraint = { kind: "json", schema, strict: false, field: "response_format" } as const;
  // As a request does it: the key is built from the constraint each time.
  const request = () => ({ key: JSON.stringify(["constraint", constraint.schema]), spec: { kind: "constraint", constraint, whitespacePattern: undefined } as const });
  const first = performance.now();
  await cache.get(request());
  const firstMs = performance.now() - first;
  const cached: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await cache.get(request());
    cached.push(performance.now() - start);
  }
  console.log(`50-property JSON Schema → GBNF (${gbnf.split("\n").length - 1} rules, ${gbnf.length} chars), median of ${runs}:`);
  console.table({
    "convert schema → GBNF": { ms: +median(convert).toFixed(2) },
    "size and ambiguity checks": { ms: +median(analyse).toFixed(2) },
    "llama.cpp grammar compile": { ms: +median(compile).toFixed(2) },
    "first request (worker: convert + check; compile)": { ms: +firstMs.toFixed(2) },
    "repeated request (cache hit)": { ms: +median(cached).toFixed(3) },
  });
  await cache.close();
  await llama.dispose();
}

await main();
