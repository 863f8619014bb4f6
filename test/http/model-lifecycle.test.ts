/**
 * Many models on one server (router/managed-model.ts, model-pool.ts): models from `--models-dir`
 * load on the first request naming them, concurrent first requests share one load, the least
 * recently used idle model is evicted to make room, a busy or pinned one never is, idle models
 * unload after their TTL or the request's `keep_alive`, a request arriving during an unload loads
 * the model again, and a model that cannot fit is a 400 naming the budget. Driven over HTTP with
 * the openai client, `/v1/models`, the control routes and their event stream, and `/metrics`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { parseExposition } from "../support/metrics.ts";
import { NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

interface ListedModel {
  readonly id: string;
  readonly status?: { readonly value: string; readonly failed?: boolean; readonly error?: string };
  readonly memory_estimate?: { readonly ram_bytes: number; readonly vram_bytes: number };
  readonly pinned?: boolean;
  readonly context_length?: number;
}

let dir: string;

before(async () => {
  const model = await ensureTestModel();
  dir = mkdtempSync(join(tmpdir(), "parley-models-"));
  for (const name of ["alpha", "beta", "gamma"]) symlinkSync(model, join(dir, `${name}.gguf`));
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function statuses(url: string): Promise<Record<string, string>> {
  const list = (await (await fetch(`${url}/v1/models`)).json()) as { data: ListedModel[] };
  return Object.fromEntries(list.data.map((m) => [m.id, m.status?.value ?? "none"]));
}

/** Polls until `check` holds (at most `ms`). */
async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function metric(url: string, key: string): Promise<number> {
  return parseExposition(await (await fetch(`${url}/metrics`)).text()).get(key) ?? 0;
}

const ask = (client: OpenAI, model: string, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 2, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming);

const control = (url: string, action: "load" | "unload", model: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/models/${action}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ model }) });

/** A stream kept running (no end-of-generation token) until `stop()`. */
function longStream(t: TestServer, model: string): { readonly first: Promise<void>; stop(): Promise<void> } {
  const controller = new AbortController();
  let firstChunk!: () => void;
  const first = new Promise<void>((resolve) => {
    firstChunk = resolve;
  });
  const done = (async () => {
    const stream = await t.client.chat.completions.create({ model, messages: [{ role: "user", content: "go" }], max_tokens: 4000, stream: true, logit_bias: NO_EOS }, { signal: controller.signal });
    for await (const _ of stream) firstChunk();
  })().catch(() => undefined);
  return {
    first,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

describe("models from --models-dir, at most 2 loaded", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--models-dir", dir, "--max-loaded-models", "2", "--parallel", "2", "--ctx-size", "4096"]);
  });
  after(() => t.close());

  it("lists every model unloaded, and the server is ready without loading any", async () => {
    assert.deepEqual(await statuses(t.url), { alpha: "unloaded", beta: "unloaded", gamma: "unloaded" });
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  });

  it("concurrent first requests share one load", async () => {
    const answers = await Promise.all([ask(t.client, "alpha"), ask(t.client, "alpha"), ask(t.client, "alpha")]);
    for (const answer of answers) assert.equal(answer.model, "alpha");
    assert.equal(await metric(t.url, 'parley_model_loads_total{model="alpha"}'), 1);
    const listed = (await (await fetch(`${t.url}/v1/models/alpha`)).json()) as ListedModel;
    assert.equal(listed.status?.value, "loaded");
    assert.equal(listed.context_length, 4096);
    assert.ok((listed.memory_estimate?.ram_bytes ?? 0) > 0, "a loaded model carries its memory estimate");
  });

  it("evicts the least recently used idle model to load a third", async () => {
    await ask(t.client, "beta");
    await ask(t.client, "alpha"); // alpha is now the more recently used
    await ask(t.client, "gamma");
    assert.deepEqual(await statuses(t.url), { alpha: "loaded", beta: "unloaded", gamma: "loaded" });
    assert.equal(await metric(t.url, 'parley_model_evictions_total{model="beta"}'), 1);
    assert.equal(await metric(t.url, 'parley_model_unloads_total{model="beta",reason="evicted"}'), 1);
  });

  it("never evicts a model with a running request, even the least recently used", async () => {
    // alpha, gamma loaded; gamma most recent. Keep alpha busy, then ask for beta: gamma must go.
    const stream = longStream(t, "alpha");
    await stream.first;
    await ask(t.client, "gamma");
    await ask(t.client, "beta");
    assert.deepEqual(await statuses(t.url), { alpha: "loaded", beta: "loaded", gamma: "unloaded" });
    await stream.stop();
  });

  it("a request arriving while its model unloads waits, then loads it again", async () => {
    const events: string[] = [];
    const watcher = await fetch(`${t.url}/models/events`);
    const reader = watcher.body?.getReader();
    assert.ok(reader !== undefined);
    const decoder = new TextDecoder();
    const reading = (async () => {
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value);
        for (const [, name, data] of text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)) events.push(`${name} ${data}`);
        text = text.slice(text.lastIndexOf("\n\n") + 2);
      }
    })().catch(() => undefined);
    const unloading = control(t.url, "unload", "alpha");
    const answer = await ask(t.client, "alpha");
    assert.equal((await unloading).status, 200);
    assert.ok(answer.choices.length === 1);
    assert.equal((await statuses(t.url)).alpha, "loaded");
    await new Promise((resolve) => setTimeout(resolve, 50));
    await reader.cancel();
    await reading;
    const alpha = events.filter((e) => e.includes('"model":"alpha"')).map((e) => e.split(" ")[0] + (/"value":"(\w+)"/.exec(e)?.[1] ?? ""));
    // The snapshot first, then the unload and the load the request caused, in order.
    assert.deepEqual(alpha, ["statusloaded", "statusunloading", "statusunloaded", "unloaded", "statusloading", "statusloaded", "loaded"]);
  });

  it("load and unload on request, with their answers", async () => {
    const loaded = await control(t.url, "load", "gamma");
    assert.equal(loaded.status, 200);
    const body = (await loaded.json()) as { success: boolean; model: ListedModel };
    assert.equal(body.success, true);
    assert.equal(body.model.status?.value, "loaded");
    const unloaded = (await (await control(t.url, "unload", "gamma")).json()) as { model: ListedModel };
    assert.equal(unloaded.model.status?.value, "unloaded");
    assert.equal((await control(t.url, "load", "nope")).status, 404);
    const bad = await fetch(`${t.url}/models/load`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ modle: "gamma" }) });
    assert.equal(bad.status, 400);
  });

  it("keep_alive 0 unloads the model once its request has ended; a bad keep_alive is a 400", async () => {
    await ask(t.client, "beta", { keep_alive: 0 });
    await until(async () => (await statuses(t.url)).beta === "unloaded");
    assert.equal(await metric(t.url, 'parley_model_unloads_total{model="beta",reason="idle"}'), 1);
    await assert.rejects(ask(t.client, "beta", { keep_alive: "soon" }), (error: { status?: number; param?: string }) => error.status === 400 && error.param === "keep_alive");
  });
});

describe("ttl, pinning and the memory budget (config file)", () => {
  let t: TestServer;
  let config: string;
  before(async () => {
    const model = await ensureTestModel();
    config = join(dir, "parley.yaml");
    writeFileSync(
      config,
      [
        "models:",
        `  - { id: pinned, local: { path: ${JSON.stringify(model)}, pin: true } }`,
        `  - { id: brief, local: { path: ${JSON.stringify(model)}, ttl: 0.5 } }`,
        `  - { id: other, local: { path: ${JSON.stringify(model)} } }`,
      ].join("\n"),
    );
    t = await startTestServer(["--config", config, "--max-loaded-models", "2", "--parallel", "1", "--ctx-size", "128"]);
  });
  after(() => t.close());

  it("unloads a model after its ttl without requests; keep_alive -1 keeps it", async () => {
    await ask(t.client, "brief");
    assert.equal((await statuses(t.url)).brief, "loaded");
    await until(async () => (await statuses(t.url)).brief === "unloaded", 3_000);
    await ask(t.client, "brief", { keep_alive: -1 });
    await new Promise((resolve) => setTimeout(resolve, 900));
    assert.equal((await statuses(t.url)).brief, "loaded");
    await control(t.url, "unload", "brief");
  });

  it("never evicts a pinned model, even the least recently used", async () => {
    await ask(t.client, "pinned");
    await ask(t.client, "brief", { keep_alive: -1 });
    await ask(t.client, "other");
    const now = await statuses(t.url);
    assert.equal(now.pinned, "loaded");
    assert.equal(now.brief, "unloaded");
    assert.equal(now.other, "loaded");
  });
});

describe("a model that cannot fit", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--models-dir", dir, "--memory-budget", "64KiB"]);
  });
  after(() => t.close());

  it("is a 400 naming the budget, and its status says why", async () => {
    await assert.rejects(ask(t.client, "alpha"), (error: { status?: number; code?: string; param?: string; message?: string }) => {
      assert.equal(error.status, 400);
      assert.equal(error.code, "model_exceeds_memory_budget");
      assert.equal(error.param, "model");
      assert.match(error.message ?? "", /memory budget/);
      return true;
    });
    const listed = (await (await fetch(`${t.url}/v1/models/alpha`)).json()) as ListedModel;
    assert.equal(listed.status?.value, "failed");
    assert.match(listed.status?.error ?? "", /the budget is 64 KiB/);
  });
});

describe("a busy model and the control routes' keys", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--models-dir", dir, "--max-loaded-models", "1", "--queue-timeout", "0.3", "--ctx-size", "4096", "--api-key", "user-key-1", "--admin-key", "admin-key-1"]);
  });
  after(() => t.close());

  it("a load that needs a busy model's place waits, then gets a 503 (model_busy)", async () => {
    const auth = { authorization: "Bearer user-key-1" };
    const client = t.client.withOptions({ apiKey: "user-key-1" });
    const stream = longStream({ ...t, client }, "alpha");
    await stream.first;
    await assert.rejects(ask(client, "beta"), (error: { status?: number }) => error.status === 503);
    await stream.stop();
    assert.equal((await ask(client, "beta")).choices.length, 1);
    assert.equal((await control(t.url, "load", "gamma", auth)).status, 403, "an API key is not the admin key");
    assert.equal((await control(t.url, "load", "gamma")).status, 401);
    assert.equal((await control(t.url, "load", "gamma", { authorization: "Bearer admin-key-1" })).status, 200);
  });
});

describe("a remote model downloads on first use", () => {
  let t: TestServer;
  let host: Server;
  let cache: string;
  before(async () => {
    const bytes = readFileSync(await ensureTestModel());
    // A slow file host: the file in 16 pieces, 40 ms apart (Range requests honoured).
    host = createServer((req, res) => {
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
      const start = range === null ? 0 : Number(range[1]);
      const end = range?.[2] ? Number(range[2]) : bytes.length - 1;
      const body = bytes.subarray(start, end + 1);
      res.writeHead(range === null ? 200 : 206, { "content-length": body.length, "accept-ranges": "bytes", ...(range === null ? {} : { "content-range": `bytes ${start}-${end}/${bytes.length}` }) });
      if (req.method === "HEAD") return void res.end();
      const piece = Math.ceil(body.length / 16);
      let at = 0;
      const next = () => {
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, at + piece));
        at += piece;
        setTimeout(next, 40);
      };
      next();
    });
    await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
    cache = mkdtempSync(join(tmpdir(), "parley-cache-"));
    const config = join(cache, "parley.yaml");
    writeFileSync(config, `models:\n  - { id: remote, local: { url: "http://127.0.0.1:${(host.address() as AddressInfo).port}/remote.gguf" } }\n`);
    t = await startTestServer(["--config", config, "--log-level", "error", "--cache-dir", cache]);
  });
  after(async () => {
    await t.close();
    host.closeAllConnections();
    await new Promise((resolve) => host.close(resolve));
    rmSync(cache, { recursive: true, force: true });
  });

  it("shows the download in the model's status and events, then serves it", async () => {
    const watcher = await fetch(`${t.url}/models/events`);
    const reader = watcher.body?.getReader();
    assert.ok(reader !== undefined);
    let text = "";
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);
    const answering = ask(t.client, "remote");
    let seen: ListedModel | undefined;
    await until(async () => {
      const listed = (await (await fetch(`${t.url}/v1/models/remote`)).json()) as ListedModel & { status?: { download?: { received_bytes: number; total_bytes?: number } } };
      if (listed.status?.download !== undefined) seen = listed;
      return listed.status?.value === "loaded";
    }, 20_000);
    assert.equal((await answering).model, "remote");
    await reader.cancel();
    await reading;
    const download = (seen as { status?: { download?: { received_bytes: number; total_bytes?: number } } } | undefined)?.status?.download;
    assert.ok(download !== undefined, "the status showed the download while it ran");
    assert.ok(download.received_bytes > 0 && download.received_bytes <= (download.total_bytes ?? Number.POSITIVE_INFINITY));
    assert.match(text, /event: download\ndata: \{"model":"remote","received_bytes":\d+/);
    assert.match(text, /event: loaded\ndata: \{"model":"remote"/);
  });
});
