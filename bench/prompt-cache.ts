/**
 * `npm run bench:prompt-cache`: the prompt cache beyond the slots, on the workload it is for — more
 * conversations than slots, each coming back with its growing history. Parley runs as a child
 * process twice, with the prompt cache (`--prompt-cache-ram`, default 2GiB) and without it
 * (`--prompt-cache-ram 0`); each run sends, turn after turn, every conversation's next turn (its
 * long opening document, the model's earlier replies and a new question), `concurrency` at a time,
 * streamed. A conversation's slot has been taken by others by the time it returns (`conversations`
 * > `parallel`), so without the cache its whole history is evaluated again.
 *
 * Reported per mode: the hit rate (Σ cached_tokens / Σ prompt_tokens, from the responses' usage,
 * over all requests and over the returning turns), completion tokens per wall second, TTFT p50/p95
 * of the returning turns, and from `/metrics`: states saved and restored, their mean cost and the
 * bytes per saved token.
 *
 * Options: --conversations 8 --turns 4 --parallel 2 --concurrency 2 --words 300 --max-tokens 16
 * --threads 1 --ctx-size 4096 --prompt-cache-ram 2GiB --model <gguf> (default: the built-in 25m test model).
 */
import { availableParallelism, cpus } from "node:os";
import { ensureTestModel } from "../src/testing/test-model.ts";
import { startParleyProcess, type ParleyProcess } from "./parley-process.ts";
import { firstModelId, openTarget, streamChat, type RequestResult, type Target } from "./sse-client.ts";
import { percentile, sum } from "./stats.ts";

interface Options {
  conversations: number;
  turns: number;
  parallel: number;
  concurrency: number;
  words: number;
  maxTokens: number;
  threads: number;
  ctxSize: number;
  promptCacheRam: string;
  model: string | undefined;
}

function parseOptions(args: readonly string[]): Options {
  const options: Options = { conversations: 8, turns: 4, parallel: 2, concurrency: 2, words: 300, maxTokens: 16, threads: 1, ctxSize: 4096, promptCacheRam: "2GiB", model: undefined };
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]?.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = args[i + 1];
    if (value === undefined) throw new Error(`${args[i]} needs a value`);
    if (name === "model" || name === "promptCacheRam") options[name] = value;
    else if (name !== undefined && name in options) (options as unknown as Record<string, number>)[name] = Number(value);
    else throw new Error(`unknown option ${args[i]}`);
  }
  return options;
}

const TOPICS = ["tariffs", "freight", "customs", "warehousing", "insurance", "returns", "pallets", "couriers", "containers", "invoices", "routing", "claims"];

/** Conversation `c`'s opening document: about `words` words, different from the others' from its first word. */
function document(c: number, words: number): string {
  const out = [`Case file ${c}: the ${TOPICS[c % TOPICS.length]} dispute.`];
  for (let i = 0; out.length < words / 8; i++) out.push(`Note ${c}.${i}: ${TOPICS[(c + i) % TOPICS.length]} item ${(c * 7 + i) % 13} was handled in ${(i % 5) + 1} days.`);
  return out.join(" ");
}

type Message = { role: "user" | "assistant"; content: string };

interface ModeResult {
  readonly mode: string;
  readonly results: { readonly turn: number; readonly result: RequestResult }[];
  readonly wallMs: number;
  readonly metrics: Map<string, number>;
}

async function runMode(o: Options, model: string, ram: string): Promise<ModeResult> {
  const flags = ["--parallel", String(o.parallel), "--threads", String(o.threads), "--ctx-size", String(o.ctxSize), "--queue-size", "1000", "--prompt-cache-ram", ram];
  let parley: ParleyProcess | undefined;
  let target: Target | undefined;
  try {
    parley = await startParleyProcess({ model, flags });
    const probe = openTarget("parley", parley.url, "", { connections: o.concurrency + 2 });
    target = { ...probe, model: (await firstModelId(probe)) ?? "" };
    const histories: Message[][] = Array.from({ length: o.conversations }, (_, c) => [{ role: "user", content: `${document(c, o.words)}\nQuestion 0: summarise it.` }]);
    const results: ModeResult["results"][number][] = [];
    const started = performance.now();
    for (let turn = 0; turn < o.turns; turn++) {
      let next = 0;
      const worker = async () => {
        for (let c = next++; c < o.conversations; c = next++) {
          const history = histories[c] as Message[];
          const result = await streamChat(target as Target, { messages: history, max_tokens: o.maxTokens, temperature: 0, ignore_eos: true });
          if (!result.ok) throw new Error(`conversation ${c}, turn ${turn}: ${result.error ?? "failed"}`);
          results.push({ turn, result });
          history.push({ role: "assistant", content: result.content ?? "" }, { role: "user", content: `Question ${turn + 1}: and what about ${TOPICS[(c + turn) % TOPICS.length]}?` });
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, worker));
    }
    const wallMs = performance.now() - started;
    const metrics = await scrape(parley.url);
    return { mode: ram === "0" ? "without (--prompt-cache-ram 0)" : `with (--prompt-cache-ram ${ram})`, results, wallMs, metrics };
  } finally {
    await target?.pool.close();
    await parley?.stop();
  }
}

/** The `parley_prompt_cache_*` samples of `/metrics`. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [name, value] = line.split(" ");
    if (name?.startsWith("parley_prompt_cache_") === true && value !== undefined) samples.set(name.slice("parley_prompt_cache_".length), Number(value));
  }
  return samples;
}

function row(r: ModeResult): string {
  const all = r.results.map((x) => x.result);
  const returning = r.results.filter((x) => x.turn > 0).map((x) => x.result);
  const share = (rs: RequestResult[]) => (100 * sum(rs.map((x) => x.cachedTokens ?? 0))) / Math.max(1, sum(rs.map((x) => x.promptTokens ?? 0)));
  const ttft = returning.flatMap((x) => (x.ttftMs === undefined ? [] : [x.ttftMs]));
  const m = r.metrics;
  const per = (total: string, count: string) => ((m.get(count) ?? 0) > 0 ? ((m.get(total) ?? 0) * 1000) / (m.get(count) ?? 1) : NaN);
  const bytesPerToken = (m.get("saved_tokens_total") ?? 0) > 0 ? (m.get("saved_bytes_total") ?? 0) / (m.get("saved_tokens_total") ?? 1) : NaN;
  return [
    r.mode,
    `${share(all).toFixed(1)}%`,
    `${share(returning).toFixed(1)}%`,
    (sum(all.map((x) => x.completionTokens)) / (r.wallMs / 1000)).toFixed(1),
    percentile(ttft, 50).toFixed(0),
    percentile(ttft, 95).toFixed(0),
    `${m.get("saves_total") ?? 0} / ${m.get("hits_total") ?? 0}`,
    `${per("save_seconds_total", "saves_total").toFixed(1)} / ${per("restore_seconds_total", "hits_total").toFixed(1)}`,
    Number.isNaN(bytesPerToken) ? "–" : bytesPerToken.toFixed(0),
    `${(r.wallMs / 1000).toFixed(1)} s`,
  ].join(" | ");
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const model = o.model ?? (await ensureTestModel({ model: { size: "25m" } }));
  console.log(`Prompt cache benchmark — ${o.model ?? "built-in 25m test model"}; ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}`);
  console.log(
    `--parallel ${o.parallel} --threads ${o.threads} --ctx-size ${o.ctxSize}; ${o.conversations} conversations × ${o.turns} turns, opening documents of ~${o.words} words, concurrency ${o.concurrency}, max_tokens ${o.maxTokens}`,
  );
  const results: ModeResult[] = [];
  for (const ram of ["0", o.promptCacheRam]) results.push(await runMode(o, model, ram));
  console.log(
    "\n| prompt cache | hit rate (all) | hit rate (turns ≥ 2) | completion tok/s | TTFT p50 ms (turns ≥ 2) | TTFT p95 ms | saves / restores | ms per save / restore | bytes per saved token | wall |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) console.log(`| ${row(r)} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
