/**
 * `npm run fuzz`: the long reliability run (a script, not a test; the bounded one is
 * test/http/fuzz.test.ts). Starts Parley on the test model with its default limits (or measures
 * one at --parley-url) and runs, watching /health and the event loop's lag per phase: hostile
 * bodies, HTTP-level abuse, mid-stream disconnects, a burst beyond the slots, and a soak of mixed
 * traffic with the lag read per window. Prints Markdown tables; exits 1 on any 5xx, hang, slot
 * left in use, or event-loop stall over 1 s.
 */
import { parseArgs } from "node:util";
import { ensureTestModel } from "../src/testing/test-model.ts";
import { scrapeMetrics } from "../test/support/metrics.ts";
import { sendBodies } from "../test/support/hostile-bodies.ts";
import { burst, disconnects, httpAbuse, serverWatch, soak } from "./fuzz-phases.ts";
import { startParleyProcess, type ParleyProcess } from "./parley-process.ts";
import { num, renderTable } from "./table.ts";

const USAGE = `Usage: npm run fuzz -- [options]
  --bodies <n>        hostile bodies (default 10000)
  --concurrency <n>   bodies in flight (default 8)
  --seed <n>          fast-check seed (default 20261204)
  --disconnects <n>   abandoned requests (default 1000)
  --burst <n>         requests sent at once (default 500)
  --soak <s>          seconds of mixed traffic (default 600; 0 skips)
  --window <s>        seconds per soak window (default 10)
  --parley-url <url>  measure a running Parley instead of starting one (test model, --parallel 4)
`;

const progress = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      bodies: { type: "string", default: "10000" },
      concurrency: { type: "string", default: "8" },
      seed: { type: "string", default: "20261204" },
      disconnects: { type: "string", default: "1000" },
      burst: { type: "string", default: "500" },
      soak: { type: "string", default: "600" },
      window: { type: "string", default: "10" },
      "parley-url": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  let server: ParleyProcess | undefined;
  let url = values["parley-url"];
  if (url === undefined) {
    progress("starting parley (test model, default limits, --parallel 4) …");
    server = await startParleyProcess({ model: await ensureTestModel(), flags: ["--parallel", "4", "--model-alias", "parley-test-model"] });
    url = server.url;
  }
  const watch = serverWatch(url);
  await watch.lap();
  try {
    progress(`hostile bodies: ${values.bodies} …`);
    const bodies = await sendBodies(url, { count: Number(values.bodies), concurrency: Number(values.concurrency), seed: Number(values.seed), hangMs: 120_000, progress });
    const bodiesLap = await watch.lap();
    progress("HTTP-level abuse …");
    const abuse = await httpAbuse(url);
    const abuseLap = await watch.lap();
    progress(`disconnects: ${values.disconnects} …`);
    const dropped = await disconnects(url, Number(values.disconnects));
    const droppedLap = await watch.lap();
    progress(`burst: ${values.burst} at once …`);
    const crowd = await burst(url, Number(values.burst));
    const crowdLap = await watch.lap();
    const soakSeconds = Number(values.soak);
    if (soakSeconds > 0) progress(`soak: ${soakSeconds} s …`);
    const windows = soakSeconds > 0 ? await soak(url, soakSeconds, 6, Number(values.window)) : [];
    const soakLap = await watch.lap();
    const final = await scrapeMetrics(url);
    const laps = [bodiesLap, abuseLap, droppedLap, crowdLap, soakLap];
    const stalls = Math.max(...laps.map((l) => l.stallMs), ...windows.map((w) => w.lagMaxMs));

    const statuses = (m: ReadonlyMap<number, number>) =>
      [...m]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(" ");
    const held = final.get("parley_held_sequences") ?? NaN;
    const active = final.get("parley_active_sequences") ?? NaN;
    const queued = final.get("parley_queue_length") ?? NaN;
    const lagP99 = windows.map((w) => w.lagP99Ms).sort((a, b) => a - b);
    const medianP99 = lagP99[Math.floor(lagP99.length / 2)] ?? NaN;
    const lapCell = (lap: { healthMs: number; stallMs: number }) => `/health ≤ ${num(lap.healthMs, 0)} ms, stall ≤ ${num(lap.stallMs, 0)} ms`;
    console.log(`## Reliability run (${new Date().toISOString().slice(0, 10)})\n`);
    console.log(
      renderTable(
        [
          { header: "check", align: "left" },
          { header: "result", align: "left" },
        ],
        [
          ["hostile bodies", `${bodies.sent}: ${statuses(bodies.byStatus)}; ${lapCell(bodiesLap)}`],
          ["5xx answers", String(bodies.serverErrors.length)],
          ["hangs (no answer in 120 s)", String(bodies.hangs.length)],
          ["body latency p99 / max", `${num(bodies.p99Ms, 0)} / ${num(bodies.maxMs, 0)} ms`],
          ["HTTP abuse answered in the envelope", `${abuse.filter((a) => a.envelope).length}/${abuse.length}; ${lapCell(abuseLap)}`],
          ["disconnects: slots free again after", `${dropped.abandoned} abandoned, ${num(dropped.activeAfterMs, 0)} ms; ${lapCell(droppedLap)}`],
          [`burst of ${values.burst}`, `${statuses(crowd.byStatus)}; idle after ${num(crowd.activeAfterMs, 0)} ms; ${lapCell(crowdLap)}`],
          ["soak event-loop lag p99 per window: median / max", windows.length === 0 ? "–" : `${num(medianP99, 1)} / ${num(lagP99.at(-1), 1)} ms; ${lapCell(soakLap)}`],
          ["longest event-loop stall (whole run)", `${num(stalls, 0)} ms`],
          ["after: active / queued / held slots", `${active} / ${queued} / ${held}`],
        ],
      ),
    );
    console.log(`\n### HTTP-level abuse\n`);
    console.log(
      renderTable(
        [{ header: "case", align: "left" }, { header: "status" }, { header: "OpenAI envelope", align: "left" }, { header: "closed after ms" }],
        abuse.map((a) => [a.name, String(a.status), a.envelope ? "yes" : "no", num(a.closedAfterMs, 0)]),
      ),
    );
    if (windows.length > 0) {
      console.log(`\n### Soak windows\n`);
      console.log(
        renderTable(
          [{ header: "s" }, { header: "requests" }, { header: "lag p99 ms" }, { header: "lag max ms" }, { header: "RSS MiB" }],
          windows.map((w, i) => [String(w.second), String(w.requests - (windows[i - 1]?.requests ?? 0)), num(w.lagP99Ms, 1), num(w.lagMaxMs, 0), num(w.rssMb, 0)]),
        ),
      );
    }
    for (const line of [...bodies.serverErrors, ...bodies.hangs].slice(0, 20)) console.log(`- ${line}`);
    // /health may wait behind a burst's queue of requests; a stall is the event loop itself blocked.
    const failed = bodies.serverErrors.length > 0 || bodies.hangs.length > 0 || held > 0 || active > 0 || queued > 0 || stalls > 1000 || abuse.some((a) => !a.envelope);
    return failed ? 1 : 0;
  } finally {
    await watch.stop();
    await server?.stop();
  }
}

process.exitCode = await main();
