/**
 * Tool calling across a directory of real chat templates: serves the test model with each
 * `*.jinja` as its template (`--chat-template-file`), reads which tool-call format Parley chose
 * (`/v1/models`: hand-written, derived or generic, and why), and asks for `tool_choice:
 * "required"` (one call: `parallel_tool_calls: false`) streamed and not: a template passes when
 * the call ends (`finish_reason: "tool_calls"`) with arguments valid against the tool's schema,
 * and the stream folds to the non-streamed call.
 *
 *   npm run bench:tools -- <dir> [--seeds 2] [--only substring]
 *
 * The random-weight test model writes nonsense, but the grammar makes it write the format, so this
 * measures what Parley itself does with each template. Thoughts get a budget of 32 tokens (the
 * random model would never end them itself); the context is 4096 tokens. The corpus (e.g. llama.cpp's
 * models/templates/) is read, never copied.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ChatCompletion } from "openai/resources/chat/completions";
import { loadConfig } from "../src/config/config.ts";
import { startServer } from "../src/server.ts";
import { foldStream, TEST_TOOLS } from "../test/support/tools.ts";
import { parseSse } from "../test/support/server.ts";
import { validatorFor } from "../test/support/validate-json.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { seeds: { type: "string", default: "2" }, only: { type: "string" } } });
const dir = resolve(positionals[0] ?? "");
const seeds = Number(values.seeds);
const validators = new Map(TEST_TOOLS.map((t) => [t.function.name, validatorFor(t.function.parameters ?? {})]));

interface Row {
  readonly name: string;
  readonly source: string;
  readonly format: string;
  readonly reason: string;
  readonly passed: number;
  readonly tried: number;
  readonly note: string;
}

async function measure(file: string): Promise<Row> {
  const name = file.replace(/\.jinja$/, "");
  const config = loadConfig(["--port", "0", "--threads", "1", "--ctx-size", "4096", "--log-level", "silent", "--chat-template-file", join(dir, file)], {});
  let server;
  try {
    server = await startServer(config);
    await server.ready;
  } catch (error) {
    return { name, source: "-", format: "-", reason: "", passed: 0, tried: 0, note: `did not start: ${String(error).slice(0, 80)}` };
  }
  try {
    const entry = (await (await fetch(`${server.url}/v1/models/parley-test-model`)).json()) as { parley?: { tool_calls: { format: string; source: string; reason: string } } };
    const tools = entry.parley?.tool_calls ?? { format: "?", source: "?", reason: "" };
    let passed = 0;
    let note = "";
    for (let seed = 1; seed <= seeds; seed++) {
      const body = {
        model: "parley-test-model",
        messages: [{ role: "user", content: "What is the weather in Oslo?" }],
        tools: TEST_TOOLS,
        tool_choice: "required",
        parallel_tool_calls: false,
        max_tokens: 600,
        temperature: 1,
        seed,
        thinking_token_budget: 32,
      };
      const post = (extra: object) => fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, ...extra }) });
      const res = await post({});
      if (res.status !== 200) {
        note = `HTTP ${res.status}: ${(await res.text()).slice(0, 100)}`;
        continue;
      }
      const completion = (await res.json()) as ChatCompletion;
      const calls = (completion.choices[0]?.message.tool_calls ?? []).flatMap((c) => (c.type === "function" ? [c.function] : []));
      const valid = completion.choices[0]?.finish_reason === "tool_calls" && calls.length > 0 && calls.every((c) => validators.get(c.name)?.(parsed(c.arguments)) === true);
      const streamed = foldStream(parseSse(await (await post({ stream: true })).text()));
      const same = JSON.stringify(streamed.calls.map((c) => [c.name, c.arguments])) === JSON.stringify(calls.map((c) => [c.name, c.arguments]));
      if (valid && same) passed++;
      else note = valid ? "stream differs" : `no valid call (${completion.choices[0]?.finish_reason})`;
    }
    return { name, source: tools.source, format: tools.format, reason: tools.reason, passed, tried: seeds, note };
  } catch (error) {
    return { name, source: "?", format: "?", reason: "", passed: 0, tried: seeds, note: String(error).slice(0, 100) };
  } finally {
    await server.close();
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith(".jinja") && (values.only === undefined || f.includes(values.only)))
  .sort();
const rows: Row[] = [];
for (const file of files) {
  const row = await measure(file);
  rows.push(row);
  console.log(`${row.passed === row.tried ? "ok " : "!! "} ${row.name.padEnd(52)} ${row.source.padEnd(12)} ${row.format.padEnd(12)} ${row.passed}/${row.tried} ${row.note}`);
}
const by = (source: string) => rows.filter((r) => r.source === source).length;
console.log(
  `\n${rows.length} templates: ${by("hand-written")} hand-written family, ${by("derived")} derived, ${by("generic")} generic envelope; required calls parsed, schema-valid and stream = non-stream for ${rows.filter((r) => r.tried > 0 && r.passed === r.tried).length} (every seed).`,
);
