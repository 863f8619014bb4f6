/**
 * `npm run bench:affinity`: how much of the prompt two upstream replicas serve from their prefix
 * caches, with prefix affinity on vs off (least outstanding only).
 *
 * Two Parley replicas run as child processes (each `--parallel` slots, whose KV cache is its
 * prefix cache); a front runs in this process with an upstream engine over both (dialect
 * `parley`). The workload: `groups` long system prompts (distinct documents), each asked
 * `questions` different short questions, sent in a fixed shuffled order by `concurrency` workers.
 * Each mode gets fresh replicas. Reported per mode: Σ cached_tokens / Σ prompt_tokens (the share
 * of prompt tokens not evaluated again), requests per replica, and wall time.
 *
 * Options: --groups 8 --questions 12 --concurrency 8 --parallel 4 --words 300 --model <gguf>
 * (default: the built-in 25m test model) --threads 1.
 */
import { availableParallelism, cpus } from "node:os";
import { buildApp } from "../src/app.ts";
import { UpstreamEngine } from "../src/engines/upstream/engine.ts";
import { Router } from "../src/router/router.ts";
import { ensureTestModel } from "../src/testing/test-model.ts";
import { startParleyProcess, type ParleyProcess } from "./parley-process.ts";

interface Options {
  groups: number;
  questions: number;
  concurrency: number;
  parallel: number;
  words: number;
  threads: number;
  model: string | undefined;
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = { groups: 8, questions: 12, concurrency: 8, parallel: 4, words: 300, threads: 1, model: undefined };
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]?.replace(/^--/, "");
    const value = args[i + 1];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (name === "model") options.model = value;
    else if (name !== undefined && name in options) (options as unknown as Record<string, number>)[name] = Number(value);
    else throw new Error(`unknown option --${name}`);
  }
  return options;
}

const TOPICS = ["tariffs", "freight", "customs", "warehousing", "insurance", "returns", "pallets", "couriers", "containers", "invoices", "routing", "claims"];

/** Group `g`'s document: about `words` words, different from every other group's from its first word. */
function document(g: number, words: number): string {
  const out = [`Manual ${g}: how the ${TOPICS[g % TOPICS.length]} desk works.`];
  for (let i = 0; out.length < words / 8; i++) out.push(`Rule ${g}.${i}: ${TOPICS[(g + i) % TOPICS.length]} cases go to team ${(g * 7 + i) % 13} within ${(i % 5) + 1} days.`);
  return out.join(" ");
}

/** Every request of the workload, in a fixed shuffled order (so groups interleave). */
function workload(o: Options): { system: string; question: string }[] {
  const requests = Array.from({ length: o.groups * o.questions }, (_, i) => ({ g: i % o.groups, q: Math.floor(i / o.groups) }));
  let state = 12345;
  for (let i = requests.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [requests[i], requests[j]] = [requests[j] as (typeof requests)[number], requests[i] as (typeof requests)[number]];
  }
  return requests.map(({ g, q }) => ({ system: document(g, o.words), question: `Question ${q}: what about ${TOPICS[q % TOPICS.length]}?` }));
}

interface ModeResult {
  mode: string;
  promptTokens: number;
  cachedTokens: number;
  perReplica: number[];
  wallMs: number;
}

async function runMode(affinity: boolean, o: Options, model: string): Promise<ModeResult> {
  const flags = ["--parallel", String(o.parallel), "--threads", String(o.threads), "--ctx-size", "2048", "--queue-size", "1000"];
  const replicas: ParleyProcess[] = [];
  try {
    for (let i = 0; i < 2; i++) replicas.push(await startParleyProcess({ model, flags }));
    // The replicas' model id is their file's base name: ask them.
    const listed = (await (await fetch(`${replicas[0]?.url}/v1/models`)).json()) as { data: { id: string }[] };
    const upstream = new UpstreamEngine({
      id: "front",
      model: listed.data[0]?.id ?? "",
      baseUrls: replicas.map((r) => `${r.url}/v1`),
      dialect: "parley",
      healthIntervalMs: 60_000,
      ...(affinity ? {} : { affinity: false }),
    });
    const app = buildApp({ router: new Router([upstream]) });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const requests = workload(o);
    let next = 0;
    let promptTokens = 0;
    let cachedTokens = 0;
    const started = performance.now();
    const worker = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        if (r === undefined) break;
        const pending = fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "front",
            messages: [
              { role: "system", content: r.system },
              { role: "user", content: r.question },
            ],
            max_tokens: 8,
            temperature: 0,
          }),
        });
        const res = await pending;
        const body = (await res.json()) as { usage?: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens?: number } }; error?: { message: string } };
        if (body.usage === undefined) throw new Error(`request failed: ${res.status} ${body.error?.message ?? ""}`);
        promptTokens += body.usage.prompt_tokens;
        cachedTokens += body.usage.prompt_tokens_details?.cached_tokens ?? 0;
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const wallMs = performance.now() - started;
    const perReplica = await Promise.all(replicas.map((r) => answered(r.url)));
    await upstream.close(0);
    await app.close();
    return { mode: affinity ? "affinity on" : "affinity off (least outstanding)", promptTokens, cachedTokens, perReplica, wallMs };
  } finally {
    for (const r of replicas) await r.stop();
  }
}

/** Requests a replica answered with 200 (its `parley_requests_total{status="200"}`). */
async function answered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('parley_requests_total{status="200"}'));
  return Number(line?.split(" ").at(-1) ?? 0);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const model = o.model ?? (await ensureTestModel({ model: { size: "25m" } }));
  console.log(`Prefix affinity benchmark — ${o.model ?? "built-in 25m test model"}; ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}`);
  console.log(`2 replicas × --parallel ${o.parallel} --threads ${o.threads}; ${o.groups} documents of ~${o.words} words × ${o.questions} questions, concurrency ${o.concurrency}, max_tokens 8`);
  const results: ModeResult[] = [];
  for (const affinity of [false, true]) results.push(await runMode(affinity, o, model));
  console.log("\n| mode | prompt tokens | cached tokens | cached share | requests per replica | wall |");
  console.log("|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${r.promptTokens} | ${r.cachedTokens} | ${((100 * r.cachedTokens) / Math.max(1, r.promptTokens)).toFixed(1)}% | ${r.perReplica.join(" / ")} | ${(r.wallMs / 1000).toFixed(1)} s |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
