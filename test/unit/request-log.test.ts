import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RequestLog, type RequestLogRecord } from "../../src/http/request-log.ts";

function record(i: number): RequestLogRecord {
  return {
    time: new Date(0).toISOString(),
    id: `chatcmpl-${i}`,
    model: "m",
    user: null,
    metadata: null,
    status: 200,
    stream: false,
    n: 1,
    prompt_tokens: 3,
    completion_tokens: 4,
    latency_ms: 5,
    finish_reasons: ["stop"],
    // Large enough that unserialised writes could interleave.
    metadata_padding: "x".repeat(64 * 1024),
  } as RequestLogRecord;
}

describe("RequestLog", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-request-log-unit-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const quiet = { warn: () => undefined };

  it("appends one whole line per record, in order, to a file it creates lazily", async () => {
    const path = join(dir, "ordered.jsonl");
    const log = new RequestLog({ path });
    await assert.rejects(readFile(path), { code: "ENOENT" });
    for (let i = 0; i < 50; i++) log.append(record(i), quiet);
    await log.close();
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as RequestLogRecord).id),
      Array.from({ length: 50 }, (_, i) => `chatcmpl-${i}`),
    );
  });

  it("appends to an existing file", async () => {
    const path = join(dir, "ordered.jsonl");
    const log = new RequestLog({ path });
    log.append(record(50), quiet);
    await log.close();
    assert.equal((await readFile(path, "utf8")).trimEnd().split("\n").length, 51);
  });

  it("a write failure never throws and is reported once", async () => {
    const warnings: unknown[] = [];
    const log = new RequestLog({ path: join(dir, "missing-dir", "x.jsonl") });
    log.append(record(0), { warn: (obj) => warnings.push(obj) });
    log.append(record(1), { warn: (obj) => warnings.push(obj) });
    await log.flush();
    await log.close();
    assert.equal(warnings.length, 1);
  });
});
