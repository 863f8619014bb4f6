/**
 * Turns the load benchmark's results into the printed report: one Markdown table per workload,
 * the Parley/peer ratios, the raw-engine comparison, and notes on anything that makes a number
 * less comparable (errors, outputs of the wrong length, tokens counted from chunks).
 */
import { ratio } from "./stats.ts";
import { num, renderTable, times } from "./table.ts";
import type { PrefixSummary, ShortSummary, ThroughputSummary } from "./workloads.ts";

export interface RawRow {
  /** Sequences decoded together (min(concurrency, parallel)). */
  readonly sequences: number;
  readonly tokensPerSecond: number;
}

export interface BenchResults {
  readonly header: string;
  readonly maxTokens: number;
  readonly throughput: readonly ThroughputSummary[];
  readonly short: readonly ShortSummary[];
  readonly prefix: readonly PrefixSummary[];
  readonly raw: readonly RawRow[];
  /** Parley's slots: the raw baseline of concurrency c decodes min(c, parallel) sequences. */
  readonly parallel: number;
  readonly prefixWords: number;
}

const PARLEY = "parley";
const PEER = "peer";

function find<T extends { target: string; concurrency: number }>(rows: readonly T[], target: string, c: number): T | undefined {
  return rows.find((r) => r.target === target && r.concurrency === c);
}

export function renderReport(results: BenchResults): string {
  const out: string[] = [results.header, ""];
  const levels = [...new Set(results.throughput.map((r) => r.concurrency))];
  const hasPeer = results.throughput.some((r) => r.target === PEER);

  out.push(`Throughput — streamed, temperature 0, ignore_eos, max_tokens ${results.maxTokens} (latencies in ms; req/s@1: max_tokens 1, not streamed)`);
  out.push(
    renderTable(
      [
        { header: "server", align: "left" },
        { header: "conc" },
        { header: "reqs" },
        { header: "tok/s" },
        { header: "TTFT p50" },
        { header: "TTFT p95" },
        { header: "ITL p50" },
        { header: "ITL p95" },
        { header: "E2E p50" },
        { header: "req/s@1" },
        { header: "errors" },
      ],
      results.throughput.map((t) => {
        const s = find(results.short, t.target, t.concurrency);
        return [
          t.target,
          String(t.concurrency),
          String(t.requests),
          num(t.tokensPerSecond),
          num(t.ttftP50),
          num(t.ttftP95),
          num(t.itlP50, 2),
          num(t.itlP95, 2),
          num(t.e2eP50),
          num(s?.requestsPerSecond),
          String(t.errors + (s?.errors ?? 0)),
        ];
      }),
    ),
  );

  if (hasPeer) {
    out.push("", "Parley / peer (tok/s and req/s: higher is better for Parley; latencies: lower is better for Parley)");
    out.push(
      renderTable(
        [{ header: "conc" }, { header: "tok/s" }, { header: "req/s@1" }, { header: "TTFT p50" }, { header: "TTFT p95" }, { header: "ITL p50" }, { header: "ITL p95" }, { header: "E2E p50" }],
        levels.map((c) => {
          const p = find(results.throughput, PARLEY, c);
          const q = find(results.throughput, PEER, c);
          const ps = find(results.short, PARLEY, c);
          const qs = find(results.short, PEER, c);
          const r = (f: (x: ThroughputSummary) => number) => times(p && q ? ratio(f(p), f(q)) : undefined);
          return [
            String(c),
            r((x) => x.tokensPerSecond),
            times(ps && qs ? ratio(ps.requestsPerSecond, qs.requestsPerSecond) : undefined),
            r((x) => x.ttftP50),
            r((x) => x.ttftP95),
            r((x) => x.itlP50),
            r((x) => x.itlP95),
            r((x) => x.e2eP50),
          ];
        }),
      ),
    );
  }

  if (results.raw.length > 0) {
    out.push("", `Raw engine — node-llama-cpp without HTTP, min(conc, parallel ${results.parallel}) sequences × ${results.maxTokens} tokens, generation phase only`);
    out.push(
      renderTable(
        [
          { header: "conc" },
          { header: "raw seqs" },
          { header: "raw tok/s" },
          { header: "parley tok/s" },
          { header: "parley/raw" },
          ...(hasPeer ? [{ header: "peer tok/s" }, { header: "peer/raw" }] : []),
        ],
        levels.flatMap((c) => {
          const raw = results.raw.find((r) => r.sequences === Math.min(c, results.parallel));
          if (raw === undefined) return [];
          const p = find(results.throughput, PARLEY, c);
          const q = find(results.throughput, PEER, c);
          return [
            [
              String(c),
              String(raw.sequences),
              num(raw.tokensPerSecond),
              num(p?.tokensPerSecond),
              times(p ? ratio(p.tokensPerSecond, raw.tokensPerSecond) : undefined),
              ...(hasPeer ? [num(q?.tokensPerSecond), times(q ? ratio(q.tokensPerSecond, raw.tokensPerSecond) : undefined)] : []),
            ],
          ];
        }),
      ),
    );
  }

  if (results.prefix.length > 0) {
    out.push("", `Shared prefix — one ${results.prefixWords}-word system prompt + different short questions ("unique": each system prompt made distinct); ms`);
    out.push(
      renderTable(
        [
          { header: "server", align: "left" },
          { header: "prompts", align: "left" },
          { header: "reqs" },
          { header: "prompt tok" },
          { header: "cold TTFT" },
          { header: "TTFT p50" },
          { header: "TTFT p95" },
          { header: "cached tok" },
          { header: "cached" },
          { header: "errors" },
        ],
        results.prefix.map((p) => [
          p.target,
          p.workload,
          String(p.requests),
          num(p.promptTokens, 0),
          num(p.coldTtft),
          num(p.ttftP50),
          num(p.ttftP95),
          num(p.cachedMean, 0),
          Number.isFinite(p.cachedShare) ? `${(p.cachedShare * 100).toFixed(0)}%` : "–",
          String(p.errors),
        ]),
      ),
    );
  }

  const notes = [
    ...results.throughput.flatMap((t) => [
      ...(t.errors > 0 ? [`${t.target} c=${t.concurrency}: ${t.errors} failed request(s), first: ${t.firstError ?? "?"}`] : []),
      ...(t.offLength > 0 ? [`${t.target} c=${t.concurrency}: ${t.offLength} response(s) not exactly ${results.maxTokens} tokens (ignore_eos not honoured?)`] : []),
      ...(!t.tokensFromUsage ? [`${t.target} c=${t.concurrency}: no usage in the stream; tokens counted as content chunks`] : []),
      ...(Number.isFinite(t.tokensPerChunk) && t.tokensPerChunk > 1.1 ? [`${t.target} c=${t.concurrency}: ${t.tokensPerChunk.toFixed(2)} tokens per content chunk; ITL is per chunk`] : []),
    ]),
    ...results.short.flatMap((s) => (s.errors > 0 ? [`${s.target} c=${s.concurrency} max_tokens=1: ${s.errors} failed, first: ${s.firstError ?? "?"}`] : [])),
    ...results.prefix.flatMap((p) => (p.errors > 0 ? [`${p.target} ${p.workload} prefix: ${p.errors} failed, first: ${p.firstError ?? "?"}`] : [])),
  ];
  if (notes.length > 0) out.push("", "Notes:", ...notes.map((n) => `- ${n}`));
  return out.join("\n");
}
