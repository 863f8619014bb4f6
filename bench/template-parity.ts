/**
 * Template parity: renders every `*.jinja` in a directory with a fixed set of conversations
 * (template-parity-conversations.ts) in Python's Jinja2, set up as Hugging Face's
 * `apply_chat_template` sets it up (bench/jinja2-render.py), and in a JavaScript engine, and counts
 * the cases whose output is byte for byte identical. A case where Python raises counts as
 * identical only if the engine raises too.
 *
 *   npm run bench:templates -- <dir> [--engine parley|hf] [--engine-module file.js] [--show N] [--only substring]
 *
 * --engine: parley (default: src/chat/jinja) or hf (@huggingface/jinja, the engine Parley used
 * before); --engine-module: any module exporting `render(source, context): string` (to measure
 * other engines without depending on them); --show: print the first N differences (default 40).
 * Also prints the engine's mean render time per case.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Template as HfTemplate } from "@huggingface/jinja";
import { JinjaTemplate } from "../src/chat/jinja/index.ts";
import { PARITY_CONTEXTS } from "./template-parity-conversations.ts";

type Render = (source: string, context: Record<string, unknown>) => string;
type Outcome = { readonly ok: true; readonly output: string } | { readonly ok: false; readonly error: string };

function cached<T>(make: (source: string) => T, render: (compiled: T, context: Record<string, unknown>) => string): Render {
  const cache = new Map<string, T>();
  return (source, context) => {
    let compiled = cache.get(source);
    if (compiled === undefined) {
      compiled = make(source);
      cache.set(source, compiled);
    }
    return render(compiled, context);
  };
}

async function engine(name: string, modulePath: string | undefined): Promise<Render> {
  if (modulePath !== undefined) {
    const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as { render: Render };
    return mod.render;
  }
  if (name === "hf")
    return cached(
      (s) => new HfTemplate(s),
      (t, c) => t.render(c),
    );
  if (name === "parley")
    return cached(
      (s) => new JinjaTemplate(s),
      (t, c) => t.render(c),
    );
  throw new Error(`unknown engine ${name}`);
}

function python(templates: { name: string; source: string }[]): Record<string, Record<string, Outcome>> {
  const script = fileURLToPath(new URL("./jinja2-render.py", import.meta.url));
  const input = JSON.stringify({ templates, contexts: PARITY_CONTEXTS });
  const run = spawnSync("python3", [script], { input, maxBuffer: 1 << 28, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`jinja2-render.py failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { results: Record<string, Record<string, Outcome>> }).results;
}

/** Where two outputs first differ, with a little context either side. */
function firstDifference(expected: string, actual: string): string {
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
  const from = Math.max(0, i - 40);
  return `at ${i}: python ${JSON.stringify(expected.slice(from, i + 40))}\n          ours   ${JSON.stringify(actual.slice(from, i + 40))}`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      engine: { type: "string", default: "parley" },
      "engine-module": { type: "string" },
      show: { type: "string", default: "40" },
      only: { type: "string" },
    },
  });
  const dir = positionals[0];
  if (dir === undefined) throw new Error("usage: npm run bench:templates -- <dir-with-.jinja-files> [--engine parley|hf]");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".jinja") && (values.only === undefined || f.includes(values.only)))
    .sort();
  const templates = files.map((f) => ({ name: basename(f, ".jinja"), source: readFileSync(join(dir, f), "utf8") }));
  const expected = python(templates);
  const render = await engine(values.engine, values["engine-module"]);

  let identical = 0;
  let total = 0;
  let renderMs = 0;
  let renders = 0;
  const differences: string[] = [];
  const perTemplate: string[] = [];
  for (const template of templates) {
    let same = 0;
    for (const { name, context } of PARITY_CONTEXTS) {
      total++;
      const want = expected[template.name]?.[name];
      if (want === undefined) throw new Error(`no Python result for ${template.name}/${name}`);
      let got: Outcome;
      const started = performance.now();
      try {
        got = { ok: true, output: render(template.source, structuredClone(context)) };
      } catch (error) {
        got = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      renderMs += performance.now() - started;
      renders++;
      const match = want.ok ? got.ok && got.output === want.output : !got.ok;
      if (match) {
        same++;
        identical++;
        continue;
      }
      const detail = !want.ok ? `python raised (${want.error.slice(0, 120)}), ours rendered` : !got.ok ? `ours raised: ${got.error.slice(0, 200)}` : firstDifference(want.output, got.output);
      differences.push(`${template.name} × ${name}: ${detail}`);
    }
    perTemplate.push(`${same === PARITY_CONTEXTS.length ? "  ok " : "DIFF "} ${same}/${PARITY_CONTEXTS.length}  ${template.name}`);
  }
  console.log(perTemplate.join("\n"));
  const show = Number(values.show);
  if (differences.length > 0 && show > 0) {
    console.log(`\nDifferences (${Math.min(show, differences.length)} of ${differences.length}):`);
    for (const d of differences.slice(0, show)) console.log(`- ${d}`);
  }
  const fullTemplates = perTemplate.filter((l) => l.startsWith("  ok")).length;
  console.log(
    `\nengine ${values["engine-module"] ?? values.engine}: ${identical}/${total} cases identical (${((100 * identical) / total).toFixed(1)}%), ` +
      `${fullTemplates}/${templates.length} templates identical on every conversation; ` +
      `mean render ${(renderMs / renders).toFixed(3)} ms (first render of a template includes parsing)`,
  );
}

await main();
