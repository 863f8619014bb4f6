/**
 * Dialect probing (`probe.ts`): what each server's answers look like (bodies written here after
 * each server's documented shapes), the order of the probes, the fallback to `openai`, and the
 * re-probe after an unreachable start. Also the upstream queue (`upstream-queue.ts`) and the usage
 * estimate for abandoned answers (`usage-estimate.ts`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParleyError } from "../../src/domain/errors.ts";
import { UpstreamQueue } from "../../src/engines/upstream/upstream-queue.ts";
import {
  DialectResolver,
  dialectFromModels,
  isLlamaServerProps,
  isSglangServerInfo,
  probeDialect,
  serverRoot,
  vllmReadsStructuredOutputs,
  vllmVersion,
  type ProbeResponse,
} from "../../src/engines/upstream/probe.ts";
import { UsageTracker } from "../../src/engines/upstream/usage-estimate.ts";

const list = (...entries: object[]) => ({ object: "list", data: entries });

describe("dialect probe: parsing", () => {
  it("owned_by in /models names vLLM, SGLang, llama.cpp's server and Parley; the configured model's entry wins", () => {
    assert.equal(dialectFromModels(list({ id: "Qwen/Qwen3-8B", object: "model", owned_by: "vllm", max_model_len: 32768, root: "Qwen/Qwen3-8B" }), "Qwen/Qwen3-8B")?.dialect, "vllm");
    assert.equal(dialectFromModels(list({ id: "default", object: "model", owned_by: "sglang" }), "x")?.dialect, "sglang");
    assert.equal(dialectFromModels(list({ id: "model.gguf", object: "model", owned_by: "llamacpp", meta: { n_ctx_train: 4096 } }), "model.gguf")?.dialect, "llama-server");
    assert.equal(dialectFromModels(list({ id: "m", object: "model", owned_by: "parley" }), "m")?.dialect, "parley");
    assert.equal(dialectFromModels(list({ id: "m", object: "model", owned_by: "someone", parley: { tool_calls: {} } }), "m")?.dialect, "parley");
    assert.equal(dialectFromModels(list({ id: "other", owned_by: "vllm" }, { id: "mine", owned_by: "openai" }), "mine"), undefined);
    assert.equal(dialectFromModels(list({ id: "gpt-4o", object: "model", owned_by: "system" }), "gpt-4o"), undefined);
    assert.equal(dialectFromModels(list(), "m"), undefined);
    assert.equal(dialectFromModels("not json", "m"), undefined);
  });

  it("/props, /get_server_info and /version", () => {
    assert.ok(isLlamaServerProps({ default_generation_settings: { n_ctx: 4096 }, total_slots: 4, chat_template: "…" }));
    assert.ok(!isLlamaServerProps({ version: "0.12.0" }));
    assert.ok(isSglangServerInfo({ model_path: "Qwen/Qwen3-8B", tp_size: 1, version: "0.5.4" }));
    assert.ok(!isSglangServerInfo({ detail: "Not Found" }));
    assert.equal(vllmVersion({ version: "0.12.0" }), "0.12.0");
    assert.equal(vllmVersion({ version: "0.12.0", other: 1 }), undefined);
    assert.equal(vllmVersion({ version: "dev" }), undefined);
    assert.ok(vllmReadsStructuredOutputs("0.12.0"));
    assert.ok(vllmReadsStructuredOutputs("0.10.2"));
    assert.ok(vllmReadsStructuredOutputs("1.0.0rc1"));
    assert.ok(!vllmReadsStructuredOutputs("0.10.1.1"));
    assert.ok(!vllmReadsStructuredOutputs("0.9.2"));
    assert.equal(serverRoot("http://h:8000/v1/"), "http://h:8000");
    assert.equal(serverRoot("http://h:8000/api/v1"), "http://h:8000/api");
  });
});

/** A fake `get` answering from a table of URL → body (404 for the rest); `down`: every request throws. */
function server(routes: Record<string, unknown>, down = false) {
  const asked: string[] = [];
  const get = async (url: string): Promise<ProbeResponse> => {
    asked.push(url);
    if (down) throw new Error("ECONNREFUSED");
    return url in routes ? { status: 200, json: routes[url] } : { status: 404, json: { detail: "Not Found" } };
  };
  return { get, asked };
}

describe("dialect probe: order and fallbacks", () => {
  const base = "http://h:1/v1";

  it("stops at /models when owned_by decides", async () => {
    const s = server({ [`${base}/models`]: list({ id: "m", owned_by: "sglang" }) });
    assert.equal((await probeDialect(base, "m", s.get))?.dialect, "sglang");
    assert.deepEqual(s.asked, [`${base}/models`]);
  });

  it("owned_by vllm is checked against /version: too old for structured_outputs → openai, with a warning", async () => {
    const s = server({ [`${base}/models`]: list({ id: "m", owned_by: "vllm" }), "http://h:1/version": { version: "0.9.2" } });
    const result = await probeDialect(base, "m", s.get);
    assert.equal(result?.dialect, "openai");
    assert.match(result?.warning ?? "", /0\.9\.2/);
  });

  it("a proxy's generic owned_by: /props (llama.cpp), then /get_server_info (SGLang), then /version (vLLM)", async () => {
    const generic = { [`${base}/models`]: list({ id: "m", owned_by: "openai" }) };
    assert.equal((await probeDialect(base, "m", server({ ...generic, "http://h:1/props": { default_generation_settings: {}, total_slots: 1 } }).get))?.dialect, "llama-server");
    assert.equal((await probeDialect(base, "m", server({ ...generic, "http://h:1/get_server_info": { model_path: "m", tp_size: 2 } }).get))?.dialect, "sglang");
    assert.equal((await probeDialect(base, "m", server({ ...generic, "http://h:1/version": { version: "0.13.1" } }).get))?.dialect, "vllm");
    const none = server(generic);
    assert.equal((await probeDialect(base, "m", none.get))?.dialect, "openai");
    assert.deepEqual(none.asked, [`${base}/models`, "http://h:1/props", "http://h:1/get_server_info", "http://h:1/version"]);
  });

  it("an unreachable upstream is undefined (not openai): the caller tries another replica", async () => {
    assert.equal(await probeDialect(base, "m", server({}, true).get), undefined);
  });

  it("DialectResolver: replicas in order; none reachable → openai, logged, then probed again after reprobeMs", async () => {
    let up = false;
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = { debug() {}, info: (_o: object | string, m?: string) => infos.push(m ?? ""), warn: (_o: object | string, m?: string) => warnings.push(m ?? ""), error() {} };
    const get = async (url: string): Promise<ProbeResponse> => {
      if (!up || url.startsWith("http://dead")) throw new Error("ECONNREFUSED");
      return url.endsWith("/models") ? { status: 200, json: list({ id: "m", owned_by: "vllm" }) } : { status: 200, json: { version: "0.12.0" } };
    };
    const resolver = new DialectResolver({ modelId: "front", model: "m", baseUrls: ["http://dead/v1", "http://live/v1"], get, logger: () => logger, reprobeMs: 50 });
    assert.equal(await resolver.current(), "openai");
    assert.match(warnings[0] ?? "", /no replica .* answered the dialect probe/);
    up = true;
    assert.equal(await resolver.current(), "openai", "not before reprobeMs");
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(await resolver.current(), "vllm");
    assert.match(infos[0] ?? "", /speaks the vllm dialect/);
    const configured = new DialectResolver({ modelId: "front", model: "m", baseUrls: ["http://x/v1"], get: async () => assert.fail("probed"), configured: "sglang" });
    assert.equal(await configured.current(), "sglang");
  });
});

describe("upstream queue", () => {
  it("at most maxQueue wait (then 429 with Retry-After); a wait longer than queueTimeoutMs is a 429 too", async () => {
    const limiter = new UpstreamQueue({ limit: 1, maxQueue: 1, queueTimeoutMs: 100 });
    const signal = new AbortController().signal;
    const release = await limiter.acquire(signal);
    const waiting = limiter.acquire(signal);
    await assert.rejects(limiter.acquire(signal), (e: unknown) => e instanceof ParleyError && e.kind === "server_busy" && e.retryAfter === 1);
    const started = Date.now();
    await assert.rejects(waiting, (e: unknown) => e instanceof ParleyError && e.kind === "server_busy" && /waited 0\.1 s/.test(e.message));
    assert.ok(Date.now() - started >= 90);
    assert.equal(limiter.waiting, 0);
    const next = limiter.acquire(signal);
    release();
    (await next)();
    assert.equal(limiter.active, 0);
  });

  it("service_tier orders the waiters: priority first, flex last, first come first served within a tier", async () => {
    const limiter = new UpstreamQueue({ limit: 1 });
    const signal = new AbortController().signal;
    const order: string[] = [];
    const release = await limiter.acquire(signal);
    // Each waiter, once granted, notes its name and gives its place to the next one.
    const wait = (name: string, tier: "priority" | "default" | "flex") =>
      limiter.acquire(signal, tier).then((done) => {
        order.push(name);
        setImmediate(done);
      });
    const waiting = [wait("flex", "flex"), wait("default-1", "default"), wait("priority", "priority"), wait("default-2", "default")];
    release();
    await Promise.all(waiting);
    assert.deepEqual(order, ["priority", "default-1", "default-2", "flex"]);
  });
});

describe("usage estimate for abandoned upstream answers", () => {
  it("counts logprobs entries where there are some, else one token per delta, raised to bytes / 4", () => {
    const tracker = new UsageTracker("x".repeat(400));
    assert.ok(!tracker.started);
    tracker.observe({ type: "delta", choice: 0, text: "Hello", logprobs: [] });
    tracker.observe({ type: "delta", choice: 0, text: " there", logprobs: [] });
    const top = { token: "a", logprob: -1, bytes: [97], topLogprobs: [] };
    tracker.observe({ type: "reasoning", choice: 0, text: "ab", logprobs: [top, top] });
    assert.deepEqual(tracker.estimate().usage, { promptTokens: 100, completionTokens: 4, cachedTokens: 0 });
    tracker.observe({ type: "delta", choice: 0, text: "y".repeat(80), logprobs: [] });
    assert.equal(tracker.estimate().usage.completionTokens, Math.ceil((5 + 6 + 2 + 80) / 4));
    assert.ok(!tracker.reported);
    tracker.observe({ type: "usage", usage: { promptTokens: 3, completionTokens: 2, cachedTokens: 0 } });
    assert.ok(tracker.reported);
  });
});
