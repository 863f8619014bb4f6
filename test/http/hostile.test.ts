import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engineLoad } from "../support/metrics.ts";
import { rawRequest } from "../support/raw-http.ts";
import { MODEL, NO_EOS, postChat, startTestServer, type TestServer } from "../support/server.ts";

/**
 * The findings of the reliability run (issue 12), one case each: no request, however hostile, may
 * hold a slot, stall the server or answer 500. Every case ends with every slot free.
 */

const base = { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 4 };

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Polls /health while `work` runs: the slowest answer, in ms. */
async function healthDuring<T>(url: string, work: () => Promise<T>): Promise<{ result: T; slowestHealthMs: number }> {
  let done = false;
  let slowest = 0;
  const probe = (async () => {
    while (!done) {
      const start = performance.now();
      await fetch(`${url}/health`);
      slowest = Math.max(slowest, performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return { result: await work(), slowestHealthMs: slowest };
  } finally {
    done = true;
    await probe;
  }
}

async function expect400(res: Response, param: string, message?: RegExp): Promise<ErrorBody> {
  const text = await res.text();
  assert.equal(res.status, 400, text.slice(0, 300));
  const body = JSON.parse(text) as ErrorBody;
  assert.equal(body.error.param, param, text.slice(0, 300));
  if (message !== undefined) assert.match(body.error.message, message);
  return body;
}

/** JSON text of `depth` nested arrays (built as text: JSON.stringify itself overflows the stack on such input). */
function nested(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

/** The base request with `fields` (JSON texts) added, as raw JSON. */
function withRaw(fields: Record<string, string>): string {
  const head = JSON.stringify(base).slice(0, -1);
  return `${head},${Object.entries(fields)
    .map(([name, json]) => `${JSON.stringify(name)}:${json}`)
    .join(",")}}`;
}

describe("hostile requests", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "4", "--limit", "headersSeconds=1", "--limit", "bodySeconds=2"]);
  });
  after(() => t.close());

  it("beam search gives every slot back (finding 1)", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await postChat(t.url, { ...base, max_tokens: 1, use_beam_search: true });
      assert.equal(res.status, 200);
    }
    assert.deepEqual(await engineLoad(t.url), { active: 0, queued: 0, held: 0 });
    // All four slots serve at once again.
    const all = await Promise.all(Array.from({ length: 4 }, () => postChat(t.url, { ...base, max_tokens: 8, logit_bias: NO_EOS })));
    assert.deepEqual(
      all.map((r) => r.status),
      [200, 200, 200, 200],
    );
  });

  it("constraints the sampler could never satisfy are 400s before admission (finding 2)", async () => {
    await expect400(await postChat(t.url, { ...base, guided_choice: ["\u0000"] }), "guided_choice", /U\+0000/);
    await expect400(await postChat(t.url, { ...base, guided_regex: "\\x00" }), "guided_regex", /U\+0000/);
    await expect400(await postChat(t.url, { ...base, guided_grammar: "root ::= [z-a]" }), "guided_grammar", /matches no text/);
    await expect400(await postChat(t.url, { ...base, guided_grammar: 'root ::= "b" x | "c"\nx ::= [z-a]' }), "guided_grammar", /rule `x`/);
    await expect400(await postChat(t.url, { ...base, repetition_penalty: 1e-300, response_format: { type: "json_object" } }), "repetition_penalty");
    assert.deepEqual(await engineLoad(t.url), { active: 0, queued: 0, held: 0 });
  });

  it("multiplicative parameters at the ends of their ranges still sample under a grammar", async () => {
    for (const extra of [{ repetition_penalty: 0.01 }, { repetition_penalty: 100 }, { temperature: 1e-30 }]) {
      const res = await postChat(t.url, { ...base, ...extra, max_tokens: 12, response_format: { type: "json_object" } });
      const text = await res.text();
      assert.equal(res.status, 200, `${JSON.stringify(extra)}: ${text.slice(0, 200)}`);
      assert.match((JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "", /^\{/);
    }
  });

  it("an ambiguous regex is refused at once, and nobody waits for it (finding 3)", async () => {
    const { result, slowestHealthMs } = await healthDuring(t.url, async () => {
      const start = performance.now();
      const [refused, plain] = await Promise.all([postChat(t.url, { ...base, guided_regex: "(a|b)*".repeat(100) }), postChat(t.url, { ...base, max_tokens: 4 })]);
      return { refused, plain, ms: performance.now() - start };
    });
    await expect400(result.refused, "guided_regex", /ambiguous/);
    assert.equal(result.plain.status, 200);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
    assert.ok(slowestHealthMs < 1000, `/health took ${slowestHealthMs} ms`);
  });

  it("long regexes cost the event loop nothing (finding 4)", async () => {
    const { result, slowestHealthMs } = await healthDuring(t.url, async () => [
      await postChat(t.url, { ...base, guided_regex: "a".repeat(60_000) }),
      await postChat(t.url, { ...base, guided_regex: "a".repeat(10_000_000) }),
    ]);
    assert.ok([200, 400].includes(result[0]!.status), String(result[0]!.status));
    await result[0]!.text();
    await expect400(result[1]!, "guided_regex", /grammarChars/);
    assert.ok(slowestHealthMs < 1000, `/health took ${slowestHealthMs} ms`);
  });

  it("deep nesting is a 400, never a 500 (finding 5)", async () => {
    await expect400(await postChat(t.url, withRaw({ chat_template_kwargs: `{"a":${nested(5000)}}` })), "chat_template_kwargs", /nested too deeply/);
    await expect400(await postChat(t.url, withRaw({ guided_json: nested(10_000) })), "guided_json", /nested too deeply/);
    await expect400(await postChat(t.url, { ...base, guided_json: nested(10_000) }), "guided_json", /nested too deeply/);
    const tool = `[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":${nested(3000)}}}}}]`;
    await expect400(await postChat(t.url, withRaw({ tools: tool })), "tools[0]", /nested too deeply/);
    await expect400(await postChat(t.url, withRaw({ logit_bias: `{"1":${nested(100)}}` })), "logit_bias", /nested too deeply/);
  });

  it("error responses stay small (finding 6)", async () => {
    const start = performance.now();
    const res = await postChat(t.url, { model: MODEL, messages: Array.from({ length: 200_000 }, () => ({ role: "x" })) });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.ok(text.length < 20_000, `${text.length} bytes`);
    assert.ok(performance.now() - start < 3000);
    const invalid = await postChat(t.url, { model: MODEL, messages: Array.from({ length: 5000 }, () => ({ role: "x" })) });
    const body = (await invalid.json()) as ErrorBody & { detail: unknown[] };
    assert.equal(invalid.status, 400);
    assert.match(body.error.message, /and \d+ more/);
    assert.ok(body.detail.length <= 51);
  });

  it("10 MB fields are refused quickly while the event loop stays free (finding 7)", async () => {
    const big = "a".repeat(10_000_000);
    const cases: [Record<string, unknown>, string][] = [
      [{ tools: [{ type: "function", function: { name: "f", description: big } }] }, "tools[0]"],
      [{ chat_template: big }, "chat_template"],
      [{ messages: [{ role: "user", content: "\u0000".repeat(1_500_000) }] }, "messages"],
      [{ stop: [big] }, "stop[0]"],
      [{ messages: [{ role: "user", content: big }] }, "messages"],
    ];
    const { result, slowestHealthMs } = await healthDuring(t.url, async () => {
      const statuses: [number, string | null][] = [];
      for (const [extra] of cases) {
        const res = await postChat(t.url, { ...base, ...extra });
        statuses.push([res.status, ((await res.json()) as ErrorBody).error.param]);
      }
      return statuses;
    });
    assert.deepEqual(
      result,
      cases.map(([, param]) => [400, param]),
    );
    assert.ok(slowestHealthMs < 1000, `/health took ${slowestHealthMs} ms`);
  });

  it("slow clients are dropped with a 408 (finding 8)", async () => {
    const slowHeaders = await rawRequest(t.url, [..."GET /health HTTP/1.1\r\nHost: x\r\n"], { gapMs: 300, timeoutMs: 8000 });
    assert.equal(slowHeaders.status, 408);
    assert.ok(slowHeaders.closedAfterMs < 4000, `closed after ${slowHeaders.closedAfterMs} ms`);
    assert.equal((JSON.parse(slowHeaders.body) as ErrorBody).error.code, "request_timeout");
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
    const slowBody = await rawRequest(t.url, [head, ...Array.from({ length: 40 }, () => " ")], { gapMs: 250, timeoutMs: 8000 });
    assert.equal(slowBody.status, 408);
    assert.ok(slowBody.closedAfterMs < 5000, `closed after ${slowBody.closedAfterMs} ms`);
  });

  it("HTTP parser errors answer in the OpenAI envelope; compressed bodies are a 415 (finding 9)", async () => {
    const post = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    const cases: [string, string, number][] = [
      ["bad chunking", `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 400],
      ["duplicate Content-Length", `${post}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 400],
      ["Content-Length with Transfer-Encoding", `${post}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400],
      ["bare LF", "GET /health HTTP/1.1\nHost: x\n\n", 400],
      ["unknown method", "FROB /health HTTP/1.1\r\nHost: x\r\n\r\n", 400],
      ["huge headers", `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
    ];
    for (const [name, request, status] of cases) {
      const res = await rawRequest(t.url, [request], { timeoutMs: 5000 });
      assert.equal(res.status, status, `${name}: ${res.headers}`);
      const body = JSON.parse(res.body) as ErrorBody;
      assert.equal(body.error.type, "invalid_request_error", name);
      assert.equal(typeof body.error.message, "string", name);
    }
    const gzip = await postChat(t.url, base, { "content-encoding": "gzip" });
    assert.equal(gzip.status, 415);
    assert.equal(((await gzip.json()) as ErrorBody).error.code, "unsupported_media_type");
    assert.equal((await postChat(t.url, base, { "content-encoding": "identity" })).status, 200);
  });

  it("leaves every slot free", async () => {
    assert.deepEqual(await engineLoad(t.url), { active: 0, queued: 0, held: 0 });
  });
});

describe("the request time limit", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--parallel", "1", "--ctx-size", "4096", "--request-timeout", "1"]);
  });
  after(() => t.close());
  const long = { model: MODEL, messages: [{ role: "user", content: "Go on forever" }], max_tokens: 4000, logit_bias: NO_EOS };

  it("ends a long generation with finish_reason length, and frees its slot", async () => {
    const start = performance.now();
    const res = await postChat(t.url, long);
    const body = (await res.json()) as { choices: { finish_reason: string; message: { content: string } }[]; usage: { completion_tokens: number } };
    assert.equal(res.status, 200);
    assert.equal(body.choices[0]?.finish_reason, "length");
    assert.ok(body.usage.completion_tokens > 0 && body.usage.completion_tokens < 4000);
    assert.ok(performance.now() - start < 3000, `took ${performance.now() - start} ms`);
    assert.deepEqual(await engineLoad(t.url), { active: 0, queued: 0, held: 0 });
  });

  it("streamed: the stream ends cleanly with finish_reason length", async () => {
    const res = await postChat(t.url, { ...long, stream: true });
    const text = await res.text();
    assert.match(text, /"finish_reason":"length"/);
    assert.ok(text.endsWith("data: [DONE]\n\n"));
  });
});
