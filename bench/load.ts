/**
 * The load benchmark (`npm run bench`; flags: `npm run bench -- --help`, README "Benchmark").
 * Starts Parley as a child process on a model (default: the built-in test model), measures it with
 * the streaming load generator in ./workloads.ts, optionally measures a peer server (e.g. llama.cpp's
 * llama-server on the same GGUF) with the identical workloads, alternating per concurrency level,
 * then runs the raw node-llama-cpp baseline (./raw-engine.ts) with Parley stopped, and prints the
 * tables (./report.ts). A script, not a test.
 */
import { cpuDescription, llamaBuildDescription, parleyPlacement, peerBuild } from "./machine.ts";
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { statSync } from "node:fs";
import { resolveModelSource } from "../src/engines/llama/model-source.ts";
import { defaultModelId } from "../src/server.ts";
import { ensureTestModel } from "../src/testing/test-model.ts";
import { parseBenchOptions, requestsAt, shortRequestsAt, USAGE, type BenchOptions } from "./options.ts";
import { startParleyProcess, type ParleyProcess } from "./parley-process.ts";
import { renderReport, type BenchResults, type RawRow } from "./report.ts";
import { num } from "./table.ts";
import { firstModelId, openTarget, type Target } from "./sse-client.ts";
import { readModelInfo } from "./utf8-bias.ts";
import { runPrefix, runShort, runThroughput, warmUp, type ExtraBody, type PrefixSummary, type RunLength, type ShortSummary, type ThroughputSummary } from "./workloads.ts";

/** Tokens each shared-prefix request generates: TTFT is the point there. */
const PREFIX_MAX_TOKENS = 16;

const progress = (line: string) => process.stderr.write(`${line}\n`);

function parleyFlags(options: BenchOptions): string[] {
  return [
    "--threads",
    String(options.threads),
    "--parallel",
    String(options.parallel),
    "--gpu",
    options.gpu,
    "--flash-attn",
    options.flashAttn,
    ...(options.ctxSize === undefined ? [] : ["--ctx-size", String(options.ctxSize)]),
    ...(options.batchSize === undefined ? [] : ["--batch-size", String(options.batchSize)]),
    // requests beyond the slots wait in Parley's queue; never let the load generator hit its limit
    "--queue-size",
    String(Math.max(64, ...options.concurrency, options.prefixConcurrency)),
  ];
}

/** Each level's order alternates (parley, peer), (peer, parley), … so drift hits both alike. */
function ordered(targets: readonly Target[], level: number): Target[] {
  return level % 2 === 0 ? [...targets] : [...targets].reverse();
}

async function measureServers(options: BenchOptions, targets: readonly Target[], extra: ExtraBody) {
  const throughput: ThroughputSummary[] = [];
  const short: ShortSummary[] = [];
  const prefix: PrefixSummary[] = [];
  for (const target of targets) {
    const first = await warmUp(target, options.maxTokens, extra);
    if (!first.ok) throw new Error(`${target.name} (${target.baseUrl}, model ${target.model}): warm-up request failed: ${first.error ?? "?"}`);
  }
  for (const [level, c] of options.concurrency.entries()) {
    for (const target of ordered(targets, level)) {
      await warmUp(target, options.maxTokens, extra);
      const length: RunLength = { requests: requestsAt(options, c), ...(options.durationSeconds === undefined ? {} : { durationSeconds: options.durationSeconds }) };
      const t = await runThroughput(target, { concurrency: c, maxTokens: options.maxTokens, length, extra });
      throughput.push(t);
      let line = `${target.name} c=${c}: ${t.requests} reqs, ${num(t.tokensPerSecond)} tok/s, TTFT p50 ${num(t.ttftP50)} ms, ITL p50 ${num(t.itlP50, 2)} ms, ${t.errors} errors`;
      const shortCount = shortRequestsAt(options, c);
      if (shortCount > 0) {
        const s = await runShort(target, c, { requests: shortCount, ...(options.durationSeconds === undefined ? {} : { durationSeconds: options.durationSeconds }) }, extra);
        short.push(s);
        line += `; max_tokens=1: ${num(s.requestsPerSecond)} req/s`;
      }
      progress(line);
    }
  }
  if (options.prefixRequests > 0) {
    for (const target of ordered(targets, options.concurrency.length)) {
      const rows = await runPrefix(target, { concurrency: options.prefixConcurrency, requests: options.prefixRequests, words: options.prefixWords, maxTokens: PREFIX_MAX_TOKENS, extra });
      prefix.push(...rows);
      progress(`${target.name} shared prefix: ${rows.map((r) => `${r.workload} TTFT p50 ${num(r.ttftP50)} ms, cached ${num(r.cachedMean, 0)}/${num(r.promptTokens, 0)} tokens`).join("; ")}`);
    }
  }
  return { throughput, short, prefix };
}

async function measureRaw(options: BenchOptions, modelPath: string): Promise<RawRow[]> {
  const { runRawEngine } = await import("./raw-engine.ts"); // loaded only when the baseline runs
  const rows: RawRow[] = [];
  for (const sequences of [...new Set(options.concurrency.map((c) => Math.min(c, options.parallel)))]) {
    const result = await runRawEngine({
      modelPath,
      sequences,
      tokens: options.maxTokens,
      threads: options.threads,
      gpu: options.gpu,
      flashAttention: options.flashAttn,
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.ctxSize === undefined ? {} : { contextSize: options.ctxSize }),
    });
    rows.push({ sequences, tokensPerSecond: result.aggregateTokensPerSecond });
    progress(`raw engine, ${sequences} sequence(s): ${result.aggregateTokensPerSecond.toFixed(1)} tok/s`);
  }
  return rows;
}

function header(options: BenchOptions, modelPath: string, targets: readonly Target[], biased: number, machine: readonly string[]): string {
  let size = "";
  try {
    size = ` (${(statSync(modelPath).size / 1e6).toFixed(1)} MB)`;
  } catch {
    // a split or remote model: no size shown
  }
  const lines = [
    `Parley load benchmark — model ${options.model === undefined ? "built-in test model" : options.model}${size}; ${availableParallelism()} cores, Node ${process.version}`,
    `${options.parleyUrl === undefined ? "parley: started here with" : `parley: ${options.parleyUrl} (already running; these flags went to the raw engine only):`} --threads ${options.threads} --parallel ${options.parallel}` +
      `${options.ctxSize === undefined ? "" : ` --ctx-size ${options.ctxSize}`}${options.batchSize === undefined ? "" : ` --batch-size ${options.batchSize}`}`,
    ...targets.filter((t) => t.name !== "parley").map((t) => `${t.name}: ${t.baseUrl}, model "${t.model}" (its threads/slots/context are whatever it was started with)`),
    `per level: ${options.durationSeconds === undefined ? `${options.requests ?? "4 × conc (≥ 8)"} streamed requests` : `${options.durationSeconds} s`} after one warm-up request`,
    ...machine,
    ...(biased > 0 ? [`every request carries a logit_bias banning the model's ${biased} tokens that are not UTF-8 alone (--utf8-bias)`] : []),
  ];
  return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const modelPath = options.model === undefined ? await ensureTestModel() : (await resolveModelSource(options.model)).path;
  const info = await readModelInfo(modelPath);
  const biasOn = options.utf8Bias === "on" || (options.utf8Bias === "auto" && /^parley test model/i.test(info.name ?? ""));
  const extra: ExtraBody = biasOn && Object.keys(info.partialUtf8Bias).length > 0 ? { logit_bias: info.partialUtf8Bias } : {};
  const connections = Math.max(...options.concurrency, options.prefixConcurrency) + 4;

  let parley: ParleyProcess | undefined;
  const targets: Target[] = [];
  const machine = [`machine: ${cpuDescription()}`];
  let measured: Awaited<ReturnType<typeof measureServers>>;
  try {
    if (options.parleyUrl === undefined) {
      progress(`starting parley on ${modelPath} …`);
      parley = await startParleyProcess({ model: modelPath, flags: parleyFlags(options) });
    }
    const parleyUrl = options.parleyUrl ?? parley?.url ?? "";
    const probe = openTarget("parley", parleyUrl, "", { connections });
    targets.push({ ...probe, model: (await firstModelId(probe)) ?? defaultModelId(modelPath) });
    if (options.peerUrl !== undefined) {
      const peer = openTarget("peer", options.peerUrl, "", { connections });
      targets.push({ ...peer, model: options.peerModel ?? (await firstModelId(peer)) ?? "default" });
    }
    machine.push(`parley placement: ${await parleyPlacement(parleyUrl)}`);
    const peerInfo = options.peerUrl === undefined ? "" : await peerBuild(options.peerUrl);
    if (peerInfo !== "") machine.push(`peer: ${peerInfo}`);
    measured = await measureServers(options, targets, extra);
  } finally {
    await Promise.all(targets.map((t) => t.pool.close()));
    await parley?.stop();
  }

  // Parley is stopped (a peer stays up, idle): the raw engine runs in this process.
  const raw = options.raw ? await measureRaw(options, modelPath) : [];
  machine.push(`raw engine and this process: ${await llamaBuildDescription(options.gpu)}`);
  const results: BenchResults = {
    header: header(options, modelPath, targets, biasOn ? Object.keys(info.partialUtf8Bias).length : 0, machine),
    maxTokens: options.maxTokens,
    ...measured,
    raw,
    parallel: options.parallel,
    prefixWords: options.prefixWords,
  };
  process.stdout.write(`\n${renderReport(results)}\n`);
  if (options.json !== undefined) {
    await writeFile(options.json, `${JSON.stringify({ options, modelPath, ...results }, null, 2)}\n`);
    progress(`wrote ${options.json}`);
  }
  return 0;
}

// Ctrl-C or a kill: exit through process.exit, so the Parley child is killed on the way out.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
