/**
 * The `openai` SDK in a real browser: headless Chromium (Debian's `chromium`) opens a page served
 * from another origin (a static server on another port), which loads the SDK's browser build
 * (bundled here with esbuild) and, with `dangerouslyAllowBrowser: true`, makes a chat completion,
 * plain and streamed, against a real Parley started with `--cors-origins <that page's origin>` and
 * an API key. The browser itself enforces CORS: preflights, the allowed origin, and which response
 * headers a script may read (the SDK reads `x-request-id` into `_request_id` / `requestID`). A
 * page from an origin not on the list must fail. Skipped, with the reason, where no Chromium is
 * installed (`apt-get install chromium`, or point PARLEY_CHROMIUM at one).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { build } from "esbuild";
import { findChromium, HeadlessChromium } from "../support/headless-chromium.ts";
import { MODEL, NO_EOS, startTestServer, type TestServer } from "../support/server.ts";

const KEY = "sk-browser-test";
const chromium = findChromium();

/** The SDK as one browser ES module exporting `OpenAI`. */
async function bundleOpenAI(): Promise<string> {
  const result = await build({
    stdin: { contents: 'export { default as OpenAI } from "openai";', resolveDir: process.cwd(), loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error("esbuild produced nothing");
  return file.text;
}

/**
 * The page's script: one plain and one streamed completion, and one request with a wrong key,
 * each reporting what a browser script could see of the response. `window.__result` is the promise
 * of its JSON report. Parley's address comes in the page URL's `api` parameter.
 */
function pageScript(): string {
  return `
import { OpenAI } from "/openai.js";
const apiBase = new URLSearchParams(location.search).get("api");
const base = { model: ${JSON.stringify(MODEL)}, messages: [{ role: "user", content: "Say hi" }], max_tokens: 6, logit_bias: ${JSON.stringify(NO_EOS)} };
const options = { baseURL: apiBase + "/v1", dangerouslyAllowBrowser: true, maxRetries: 0, timeout: 60000 };
window.__result = (async () => {
  const report = { userAgent: navigator.userAgent, origin: location.origin };
  const client = new OpenAI({ ...options, apiKey: ${JSON.stringify(KEY)} });
  try {
    const { data, response } = await client.chat.completions.create(base).withResponse();
    report.plain = { id: data.id, object: data.object, content: data.choices[0].message.content, finish: data.choices[0].finish_reason,
      requestId: response.headers.get("x-request-id"), sdkRequestId: data._request_id, processingMs: response.headers.get("openai-processing-ms") };
  } catch (error) { report.plain = { error: String(error) }; }
  try {
    const { data: stream, response } = await client.chat.completions.create({ ...base, stream: true, stream_options: { include_usage: true } }).withResponse();
    const ids = new Set(); let content = ""; let chunks = 0; let usage = null; let finish = null;
    for await (const chunk of stream) {
      chunks++; ids.add(chunk.id);
      const choice = chunk.choices[0];
      if (choice) { content += choice.delta.content ?? ""; finish = choice.finish_reason ?? finish; }
      if (chunk.usage) usage = chunk.usage;
    }
    report.stream = { ids: [...ids], content, chunks, usage, finish, contentType: response.headers.get("content-type"),
      requestId: response.headers.get("x-request-id"), processingMs: response.headers.get("openai-processing-ms") };
  } catch (error) { report.stream = { error: String(error) }; }
  try {
    await new OpenAI({ ...options, apiKey: "sk-wrong" }).chat.completions.create(base);
    report.denied = { error: "no error" };
  } catch (error) { report.denied = { name: error.constructor.name, status: error.status ?? null, requestId: error.requestID ?? null, code: error.code ?? null }; }
  return JSON.stringify(report);
})();
`;
}

/** A static server for the page: `/` (HTML) and `/openai.js` (the bundle). */
async function pageServer(bundle: string): Promise<{ server: Server; origin: string }> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>parley cors</title></head><body><script type="module">${pageScript()}</script></body></html>`;
  const server = createServer((req, res) => {
    if (req.url === "/openai.js") res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(bundle);
    else if (req.url?.startsWith("/?") === true) res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface Report {
  userAgent: string;
  origin: string;
  plain: { error?: string; id: string; object: string; content: string; finish: string; requestId: string | null; sdkRequestId: string | null; processingMs: string | null };
  stream: {
    error?: string;
    ids: string[];
    content: string;
    chunks: number;
    usage: { completion_tokens: number } | null;
    finish: string | null;
    contentType: string | null;
    requestId: string | null;
    processingMs: string | null;
  };
  denied: { error?: string; name: string; status: number | null; requestId: string | null; code: string | null };
}

describe("the openai SDK in headless Chromium, from another origin", {
  skip: chromium === undefined ? "no chromium binary found (apt-get install chromium, or set PARLEY_CHROMIUM)" : false,
  timeout: 180_000,
}, () => {
  let parley: TestServer;
  let browser: HeadlessChromium;
  let allowed: { server: Server; origin: string };
  let refused: { server: Server; origin: string };

  before(async () => {
    const bundle = await bundleOpenAI();
    allowed = await pageServer(bundle);
    refused = await pageServer(bundle);
    parley = await startTestServer(["--cors-origins", allowed.origin, "--api-key", `browser=${KEY}`, "--parallel", "1"]);
    browser = await HeadlessChromium.launch(chromium ?? "");
  });
  after(async () => {
    await browser?.close();
    allowed?.server.close();
    refused?.server.close();
    await parley?.close();
  });

  it("makes plain and streamed completions, and reads the exposed headers and a 401's request id", async () => {
    const { value, console } = await browser.evaluate(pageUrl(allowed.origin, parley.url), "window.__result");
    const report = JSON.parse(String(value)) as Report;
    const context = `\nreport: ${JSON.stringify(report, null, 1)}\nconsole: ${console.join("\n")}`;
    assert.match(report.userAgent, /Chrom/, context);
    assert.equal(report.origin, allowed.origin);
    assert.notEqual(new URL(parley.url).origin, allowed.origin, "a cross-origin call");

    assert.equal(report.plain.error, undefined, context);
    assert.equal(report.plain.object, "chat.completion");
    assert.ok(report.plain.content.length > 0, context);
    assert.equal(report.plain.finish, "length");
    assert.equal(report.plain.id, `chatcmpl-${report.plain.requestId}`, `the exposed x-request-id is the completion id's suffix${context}`);
    assert.equal(report.plain.sdkRequestId, report.plain.requestId, "the SDK read it too");
    assert.match(report.plain.processingMs ?? "", /^\d+$/, context);

    assert.equal(report.stream.error, undefined, context);
    assert.match(report.stream.contentType ?? "", /^text\/event-stream/);
    assert.equal(report.stream.ids.length, 1);
    assert.equal(report.stream.ids[0], `chatcmpl-${report.stream.requestId}`, context);
    assert.ok(report.stream.chunks >= 3 && report.stream.content.length > 0, context);
    assert.equal(report.stream.finish, "length");
    assert.equal(report.stream.usage?.completion_tokens, 6);
    assert.match(report.stream.processingMs ?? "", /^\d+$/, context);

    assert.equal(report.denied.name, "AuthenticationError", context);
    assert.equal(report.denied.status, 401);
    assert.equal(report.denied.code, "invalid_api_key");
    assert.match(report.denied.requestId ?? "", /^[A-Za-z0-9_-]{16}$/, `a 401 still carries readable CORS headers${context}`);
  });

  it("fails from a page whose origin is not listed (the browser blocks the response)", async () => {
    const { value } = await browser.evaluate(pageUrl(refused.origin, parley.url), "window.__result");
    const report = JSON.parse(String(value)) as Report;
    for (const error of [report.plain.error, report.stream.error, report.denied.error ?? report.denied.name]) {
      assert.match(error ?? "", /Connection error|APIConnectionError/, JSON.stringify(report));
    }
  });
});

/** The page on `origin`, told to call Parley at `api`. */
function pageUrl(origin: string, api: string): string {
  return `${origin}/?api=${encodeURIComponent(api)}`;
}
