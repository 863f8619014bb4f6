import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createProgressReporter, formatBytes } from "../../src/engines/llama/download-progress.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import { DEFAULT_HF_ENDPOINT, defaultCacheDir, ModelSourceError, resolveModelSource, type DownloadProgress, type ResolveModelOptions } from "../../src/engines/llama/model-source.ts";

const MiB = 1024 * 1024;

/**
 * For the interrupted-download tests: 12 MiB of GGUF magic, version 3 and noise. ipull saves progress per 5 MiB
 * chunk, so only a file this large shows a resume starting mid-file (the real test model is < 1 MiB).
 */
function makeFixture(size = 12 * MiB): Buffer {
  const bytes = Buffer.alloc(size);
  bytes.write("GGUF", 0, "latin1");
  bytes.writeUInt32LE(3, 4);
  let x = 0x9e3779b9;
  for (let i = 8; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes.writeUInt32LE(x >>> 0, i);
  }
  return bytes;
}

type Logged = { method: string; path: string; query: string; range: string | undefined; auth: string | undefined; userAgent: string | undefined };

/** A local stand-in for an HTTP file host / Hugging Face endpoint: HEAD, Range (206), 401, 404, JSON routes. */
class FixtureServer {
  readonly files = new Map<string, Buffer>();
  readonly json = new Map<string, unknown>();
  readonly tokens = new Map<string, string>();
  readonly requests: Logged[] = [];
  /** While set, ranged GETs that cover byte `at` send the bytes before it and then drop the connection. */
  cut: { at: number; remaining: number; count: number; onCut?: () => void } | undefined;
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  base = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Start offsets of the ranged requests logged since index `from`. */
  rangeStarts(from = 0): number[] {
    return this.requests.slice(from).flatMap((r) => {
      const m = /^bytes=(\d+)-/.exec(r.range ?? "");
      return m?.[1] === undefined ? [] : [Number(m[1])];
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.base);
    const header = (name: string): string | undefined => [req.headers[name]].flat()[0];
    this.requests.push({ method: req.method ?? "", path: url.pathname, query: url.search, range: header("range"), auth: header("authorization"), userAgent: header("user-agent") });
    const json = this.json.get(url.pathname);
    if (json !== undefined) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(json));
    const token = this.tokens.get(url.pathname);
    if (token !== undefined && header("authorization") !== `Bearer ${token}`) return void res.writeHead(401, "Unauthorized").end();
    const file = this.files.get(url.pathname);
    if (file === undefined) return void res.writeHead(404, "Not Found").end("not found");

    const range = /^bytes=(\d+)-(\d*)$/.exec(header("range") ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), file.length - 1) : file.length - 1;
    if (start > end) return void res.writeHead(416, { "content-range": `bytes */${file.length}` }).end();
    res.writeHead(range ? 206 : 200, {
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      ...(range ? { "content-range": `bytes ${start}-${end}/${file.length}` } : {}),
    });
    if (req.method === "HEAD") return void res.end();
    const cut = this.cut;
    if (range && cut !== undefined && cut.remaining > 0 && start <= cut.at && cut.at <= end) {
      cut.remaining--;
      cut.count++;
      return void res.write(file.subarray(start, cut.at), () => {
        req.socket.destroy();
        cut.onCut?.();
      });
    }
    res.end(file.subarray(start, end + 1));
  }
}

const fixture = makeFixture();
const server = new FixtureServer();
let tmp = "";
/** Parley's real (tiny) test model, served for the plain download cases. */
let model = Buffer.alloc(0);

async function freshCacheDir(): Promise<string> {
  return mkdtemp(path.join(tmp, "cache-"));
}

function options(cacheDir: string, extra: ResolveModelOptions = {}): ResolveModelOptions {
  return { cacheDir, showProgress: false, offline: false, hfEndpoint: DEFAULT_HF_ENDPOINT, ...extra };
}

before(async () => {
  model = await readFile(await ensureTestModel());
  tmp = await mkdtemp(path.join(os.tmpdir(), "parley-model-source-"));
  await server.start();
});

after(async () => {
  await server.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("resolveModelSource: local paths", () => {
  it("returns an existing file with its display name", async () => {
    const file = path.join(tmp, "My-Model.Q4_K_M.gguf");
    await writeFile(file, fixture.subarray(0, 64));
    const resolved = await resolveModelSource(path.relative(process.cwd(), file), {});
    assert.deepEqual(resolved, { path: file, displayName: "My-Model.Q4_K_M", source: "local" });
  });

  it("throws a clear error for a missing file or a directory", async () => {
    const missing = path.join(tmp, "nope", "missing.gguf");
    await assert.rejects(resolveModelSource(missing, {}), (err: unknown) => {
      assert.ok(err instanceof ModelSourceError);
      assert.match(err.message, /Model file not found: .*missing\.gguf/);
      return true;
    });
    await assert.rejects(resolveModelSource(tmp, {}), /not a file/);
  });
});

describe("resolveModelSource: URLs", () => {
  it("downloads into <cacheDir>/models with progress, then serves the cache with no request at all", async () => {
    server.files.set("/files/a/Tiny-Model-Q8_0.gguf", model);
    const cacheDir = await freshCacheDir();
    const url = `${server.base}/files/a/Tiny-Model-Q8_0.gguf`;
    const lines: string[] = [];
    const events: DownloadProgress[] = [];
    const first = await resolveModelSource(url, {
      ...options(cacheDir, { showProgress: true }),
      progressOutput: { write: (s: string) => lines.push(s), isTTY: false },
      onProgress: (p) => events.push(p),
    });
    assert.equal(path.dirname(first.path), path.join(cacheDir, "models"));
    assert.equal(first.displayName, "Tiny-Model-Q8_0");
    assert.equal(first.source, "download");
    assert.ok((await readFile(first.path)).equals(model), "downloaded bytes differ");
    assert.deepEqual(await readdir(path.join(cacheDir, "models")), [path.basename(first.path)], "no temp file left behind");
    assert.equal(events.at(-1)?.downloadedBytes, model.length);
    assert.equal(events.at(-1)?.totalBytes, model.length);
    const text = lines.join("");
    const size = formatBytes(model.length);
    assert.ok(text.includes(`Downloading Tiny-Model-Q8_0: 100% (${size}/${size})\n`), text);
    assert.ok(text.includes(`Downloaded Tiny-Model-Q8_0 (${size}) in `), text);
    assert.ok(text.split("\n").length <= 14, `expected about one line per 10%:\n${text}`);

    const before = server.requests.length;
    const second = await resolveModelSource(url, options(cacheDir));
    assert.deepEqual(second, { ...first, source: "cache" });
    assert.equal(server.requests.length, before, "a cache hit must not touch the network");

    const offline = await resolveModelSource(url, options(cacheDir, { offline: true }));
    assert.equal(offline.path, first.path);
  });

  it("throws a clear error on 404 and leaves no model file behind", async () => {
    const cacheDir = await freshCacheDir();
    await assert.rejects(resolveModelSource(`${server.base}/files/missing/model.gguf`, options(cacheDir)), (err: unknown) => {
      assert.ok(err instanceof ModelSourceError);
      assert.equal(err.statusCode, 404);
      assert.match(err.message, /HTTP 404/);
      return true;
    });
    const left = await readdir(path.join(cacheDir, "models")).catch(() => []);
    assert.deepEqual(
      left.filter((f) => f.endsWith(".gguf")),
      [],
    );
  });

  it("rejects a file that is not GGUF (e.g. an HTML page) and deletes it", async () => {
    server.files.set("/files/html/model.gguf", Buffer.from("<!doctype html><p>login</p>"));
    const cacheDir = await freshCacheDir();
    await assert.rejects(resolveModelSource(`${server.base}/files/html/model.gguf`, options(cacheDir)), /not a valid GGUF model/);
    assert.deepEqual(await readdir(path.join(cacheDir, "models")), []);
  });

  it("in offline mode fails without a request when the file is not cached", async () => {
    const before = server.requests.length;
    await assert.rejects(resolveModelSource(`${server.base}/files/a/Tiny-Model-Q8_0.gguf`, options(await freshCacheDir(), { offline: true })), /Offline mode/);
    assert.equal(server.requests.length, before);
  });
});

describe("resolveModelSource: interrupted downloads", () => {
  it("retries a dropped connection within the call using a Range request", async () => {
    server.files.set("/files/cut-once/model.gguf", fixture);
    server.cut = { at: 7 * MiB, remaining: 1, count: 0 };
    try {
      const from = server.requests.length;
      const resolved = await resolveModelSource(`${server.base}/files/cut-once/model.gguf`, options(await freshCacheDir()));
      assert.equal(server.cut.count, 1);
      assert.ok((await readFile(resolved.path)).equals(fixture));
      assert.ok(server.rangeStarts(from).filter((s) => s === 5 * MiB).length >= 2, "the cut chunk is fetched again by range");
    } finally {
      server.cut = undefined;
    }
  });

  it("resumes a download interrupted in an earlier call from where it stopped", async () => {
    server.files.set("/files/resume/model.gguf", fixture);
    const cacheDir = await freshCacheDir();
    const url = `${server.base}/files/resume/model.gguf`;
    const controller = new AbortController();
    // The last chunk keeps failing; once ipull has saved progress for the others (JSON metadata is appended
    // after the data in `<name>.ipull`), the "process" is stopped.
    const models = path.join(cacheDir, "models");
    const savedProgress = (): boolean => readdirSync(models, { withFileTypes: true }).some((f) => f.name.endsWith(".ipull") && statSync(path.join(models, f.name)).size > fixture.length);
    server.cut = { at: 11 * MiB, remaining: Infinity, count: 0, onCut: () => void (savedProgress() && controller.abort(new Error("stopped"))) };
    try {
      await assert.rejects(resolveModelSource(url, options(cacheDir, { signal: controller.signal })), /stopped/);
    } finally {
      server.cut = undefined;
    }
    const partial = await readdir(models);
    assert.ok(partial.length === 1 && partial[0]?.endsWith(".gguf.ipull"), `expected one partial file: ${partial.join(", ")}`);

    const from = server.requests.length;
    const resolved = await resolveModelSource(url, options(cacheDir));
    assert.equal(resolved.source, "download");
    assert.ok((await readFile(resolved.path)).equals(fixture), "resumed file differs");
    const starts = server.rangeStarts(from);
    assert.ok(starts.length > 0 && starts.every((s) => s >= 5 * MiB), `resume must skip saved chunks, got ranges from ${starts.join(", ")}`);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("cancelled"));
    await assert.rejects(resolveModelSource(`${server.base}/files/a/x.gguf`, options(await freshCacheDir(), { signal: controller.signal })), /cancelled/);
  });
});

describe("resolveModelSource: hf: URIs against a local endpoint", () => {
  it("downloads hf:owner/repo/file.gguf from /owner/repo/resolve/main/file.gguf and caches it", async () => {
    server.files.set("/owner/repo/resolve/main/tiny-model.gguf", model);
    const cacheDir = await freshCacheDir();
    const opts = options(cacheDir, { hfEndpoint: server.base });
    const from = server.requests.length;
    const resolved = await resolveModelSource("hf:owner/repo/tiny-model.gguf", opts);
    assert.equal(resolved.displayName, "tiny-model");
    assert.equal(path.basename(resolved.path), "hf_owner_repo_tiny-model.gguf");
    assert.ok((await readFile(resolved.path)).equals(model));
    assert.ok(server.requests.slice(from).every((r) => r.path === "/owner/repo/resolve/main/tiny-model.gguf" && r.query === "?download=true"));

    const before = server.requests.length;
    assert.equal((await resolveModelSource("hf:owner/repo/tiny-model.gguf", opts)).path, resolved.path);
    assert.equal(server.requests.length, before);
  });

  it("resolves hf:owner/repo:QUANT through the /v2/.../manifests/QUANT API", async () => {
    server.json.set("/v2/owner/Tiny-GGUF/manifests/Q8_0", { ggufFile: { rfilename: "Tiny-Q8_0.gguf" } });
    server.files.set("/owner/Tiny-GGUF/resolve/main/Tiny-Q8_0.gguf", model);
    const cacheDir = await freshCacheDir();
    const opts = options(cacheDir, { hfEndpoint: `${server.base}/` });
    const from = server.requests.length;
    const resolved = await resolveModelSource("hf:owner/Tiny-GGUF:Q8_0", opts);
    assert.equal(path.basename(resolved.path), "hf_owner_Tiny.Q8_0.gguf");
    assert.equal(resolved.displayName, "Tiny.Q8_0");
    assert.ok((await readFile(resolved.path)).equals(model));
    assert.equal(server.requests[from]?.path, "/v2/owner/Tiny-GGUF/manifests/Q8_0");
    assert.equal(server.requests[from]?.userAgent, "llama-cpp");

    const before = server.requests.length;
    assert.deepEqual(await resolveModelSource("hf:owner/Tiny-GGUF:Q8_0", opts), { ...resolved, source: "cache" });
    assert.equal(server.requests.length, before);
  });

  it("sends the token after an anonymous 401 and explains an unknown quantization", async () => {
    server.files.set("/owner/gated/resolve/main/g.gguf", model);
    server.tokens.set("/owner/gated/resolve/main/g.gguf", "s3cret");
    const opts = options(await freshCacheDir(), { hfEndpoint: server.base, hfToken: "s3cret" });
    const resolved = await resolveModelSource("hf:owner/gated/g.gguf", opts);
    assert.ok((await readFile(resolved.path)).equals(model));
    const auths = server.requests.filter((r) => r.path === "/owner/gated/resolve/main/g.gguf").map((r) => r.auth);
    assert.equal(auths[0], undefined, "first attempt is anonymous");
    assert.ok(auths.slice(1).every((a) => a === "Bearer s3cret") && auths.length > 1);
    await assert.rejects(resolveModelSource("hf:owner/nothing:Q2_K", opts), /Cannot get quantization "Q2_K"/);
  });
});

describe("defaultCacheDir and progress output", () => {
  it("prefers PARLEY_CACHE_DIR, then XDG_CACHE_HOME/parley, then ~/.cache/parley", () => {
    assert.equal(defaultCacheDir({ PARLEY_CACHE_DIR: "/c/p", XDG_CACHE_HOME: "/x" }), "/c/p");
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/parley");
    assert.equal(defaultCacheDir({}), path.join(os.homedir(), ".cache", "parley"));
  });

  it("prints one line per 10% when not a TTY", () => {
    const lines: string[] = [];
    let t = 0;
    const reporter = createProgressReporter("m", { write: (s) => lines.push(s) }, () => t);
    for (let done = 0; done <= 1000; done += 7) reporter.update({ downloadedBytes: done, totalBytes: 1000 });
    reporter.update({ downloadedBytes: 1000, totalBytes: 1000 });
    t = 2000;
    reporter.finish("done");
    assert.equal(lines.length, 12);
    assert.match(lines[0] ?? "", /^Downloading m: 0% /);
    assert.match(lines[10] ?? "", /^Downloading m: 100% /);
    assert.match(lines[11] ?? "", /^Downloaded m \(1000 B\) in 2\.0s/);
  });
});
