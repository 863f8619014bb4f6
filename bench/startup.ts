/**
 * Benchmark: start-up time. Starts `parley serve --model <file>` as a child process, as a user
 * would, and measures the time until `GET /health` answers 200, with a breakdown read from the
 * server's own log: when it listened, and the load phases model-host.ts logs at debug level
 * (binding, model, vocabulary, context, templates). `npm run bench:startup -- --help`.
 *
 * Default model: the Qwen3-vocabulary test model (real-tokenizer-model.ts; 151,936 tokens), where
 * start-up work that grows with the vocabulary shows. `--parley <bin/parley.js>` measures another
 * checkout (e.g. the last commit, unpacked elsewhere) the same way.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureRealTokenizerTestModel } from "../src/testing/real-tokenizer-model.ts";
import { percentile } from "./stats.ts";

const HELP = `Usage: npm run bench:startup -- [--model <gguf>] [--runs N] [--parley <bin/parley.js>] [-- <serve flags>]
  --model   GGUF to serve (default: the Qwen3-tokenizer test model, written on first use)
  --runs    starts to measure (default 5); the table shows each and the median
  --parley  the parley entry point to start (default: this checkout's bin/parley.js)
  after --   further \`parley serve\` flags, e.g. -- --parallel 1 --ctx-size 512
`;

interface Run {
  /** Milliseconds from spawn to each event; undefined when the log did not show it. */
  readonly listening: number | undefined;
  readonly loaded: number | undefined;
  readonly healthy: number;
  readonly phases: Readonly<Record<string, number>>;
}

const POLL_MS = 10;

async function startOnce(bin: string, model: string, flags: readonly string[]): Promise<Run> {
  const args = [bin, "serve", "--host", "127.0.0.1", "--port", "0", "--model", model, "--log-level", "debug", ...flags];
  const spawned = Date.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let url: string | undefined;
  let listening: number | undefined;
  let loaded: number | undefined;
  let phases: Record<string, number> = {};
  const tail: string[] = [];
  const read = (line: string) => {
    tail.push(line);
    tail.splice(0, Math.max(0, tail.length - 30));
    let entry: { time?: number; msg?: string; phasesMs?: Record<string, number> };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    const listen = /^Server listening at (http:\/\/\S+)/.exec(entry.msg ?? "");
    if (listen?.[1] !== undefined && url === undefined) {
      url = listen[1];
      listening = (entry.time ?? Date.now()) - spawned;
    }
    if (entry.phasesMs !== undefined) {
      phases = entry.phasesMs;
      loaded = (entry.time ?? Date.now()) - spawned;
    }
  };
  createInterface({ input: child.stdout }).on("line", read);
  createInterface({ input: child.stderr }).on("line", read);
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`parley exited before it was healthy:\n${tail.join("\n")}`);
      if (Date.now() - spawned > 120_000) throw new Error(`parley was not healthy after 120 s:\n${tail.join("\n")}`);
      if (url !== undefined) {
        const status = await fetch(`${url}/health`).then(
          async (response) => (await response.arrayBuffer(), response.status),
          () => 0,
        );
        if (status === 200) return { listening, loaded, healthy: Date.now() - spawned, phases };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    if (child.pid !== undefined && child.exitCode === null) child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

const ms = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? "—" : `${Math.round(value)}`);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { model: { type: "string" }, runs: { type: "string", default: "5" }, parley: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
  const bin = values.parley ?? fileURLToPath(new URL("../bin/parley.js", import.meta.url));
  const model = values.model ?? (await ensureRealTokenizerTestModel("qwen3"));
  process.stdout.write(`parley serve --model ${model}\n  (${bin}, ${runs} runs)\n\n`);

  const results: Run[] = [];
  const phaseNames: string[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await startOnce(bin, model, positionals);
    results.push(run);
    for (const name of Object.keys(run.phases)) if (!phaseNames.includes(name)) phaseNames.push(name);
  }
  const header = ["run", "listening", ...phaseNames, "loaded", "healthy (ms)"];
  const rows = results.map((r, i) => [`${i + 1}`, ms(r.listening), ...phaseNames.map((p) => ms(r.phases[p])), ms(r.loaded), ms(r.healthy)]);
  const med = (pick: (r: Run) => number | undefined) =>
    ms(
      percentile(
        results.map(pick).filter((v): v is number => v !== undefined),
        50,
      ),
    );
  rows.push(["median", med((r) => r.listening), ...phaseNames.map((p) => med((r) => r.phases[p])), med((r) => r.loaded), med((r) => r.healthy)]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]?.length ?? 0)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join("  ")}\n`);
  process.stdout.write("\nlistening: the HTTP server is up (health says 503 until the model is ready); phases: model-host.ts's load log.\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
