/**
 * Reading a server's `/metrics` in tests: the Prometheus text format parsed (every line's syntax
 * checked), and the engine gauges that say whether every slot is free.
 */
import assert from "node:assert/strict";

/** Samples of a Prometheus text exposition, keyed `name{labels}` as written; checks every line's syntax. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment !== null) {
      if (comment[1] === "TYPE") {
        assert.match(comment[3] ?? "", /^(counter|gauge|histogram|summary|untyped)$/);
        typed.add(comment[2] ?? "");
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(sample !== null, `not a sample line: ${line}`);
    const name = sample[1] ?? "";
    assert.ok(typed.has(name) || typed.has(name.replace(/_(bucket|sum|count)$/, "")), `${name} has no TYPE line`);
    const raw = sample[3] ?? "";
    // Prometheus parses values as Go floats: NaN and ±Inf in any case (prom-client writes "Nan").
    const special = /^([+-]?)(inf|nan)$/i.exec(raw);
    const value = special === null ? Number(raw) : special[2]?.toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
    assert.ok(special !== null || !Number.isNaN(value), line);
    samples.set(`${name}${sample[2] ?? ""}`, value);
  }
  return samples;
}

/** The samples of `GET /metrics`. */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

/** Slots in use and requests waiting: both 0 on an idle server whose requests all gave their slots back. */
export async function engineLoad(url: string): Promise<{ active: number; queued: number; held: number }> {
  const samples = await scrapeMetrics(url);
  return { active: samples.get("parley_active_sequences") ?? NaN, queued: samples.get("parley_queue_length") ?? NaN, held: samples.get("parley_held_sequences") ?? NaN };
}
