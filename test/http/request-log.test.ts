import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { RequestLogRecord } from "../../src/http/request-log.ts";
import { MODEL, NO_EOS, parseSse, postChat, startTestServer, type TestServer } from "../support/server.ts";

const base = { model: MODEL, max_tokens: 12, logit_bias: NO_EOS };

/** Text as it would appear in the file: raw, and JSON-escaped (as inside a JSON string). */
function assertAbsent(raw: string, text: string, what: string): void {
  assert.ok(text.length >= 4, `${what} is too short to search for: ${JSON.stringify(text)}`);
  assert.equal(raw.includes(text), false, `${what} appears in the request log`);
  assert.equal(raw.includes(JSON.stringify(text).slice(1, -1)), false, `${what} appears (escaped) in the request log`);
}

interface Streamed {
  id: string;
  contents: string[];
  finishReasons: (string | null)[];
  usage: ChatCompletionChunk["usage"];
}

async function streamChat(url: string, body: object): Promise<Streamed> {
  const res = await postChat(url, { ...body, stream: true, stream_options: { include_usage: true } });
  assert.equal(res.status, 200);
  const frames = parseSse(await res.text());
  assert.equal(frames.at(-1), "[DONE]");
  const out: Streamed = { id: "", contents: [], finishReasons: [], usage: null };
  for (const frame of frames.slice(0, -1)) {
    const chunk = JSON.parse(frame) as ChatCompletionChunk;
    out.id = chunk.id;
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      out.contents[choice.index] = (out.contents[choice.index] ?? "") + (choice.delta.content ?? "");
      if (choice.finish_reason !== null) out.finishReasons[choice.index] = choice.finish_reason;
    }
  }
  return out;
}

describe("request log (--request-log)", () => {
  let dir: string;
  let path: string;
  let t: TestServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-request-log-"));
    path = join(dir, "requests.jsonl");
    t = await startTestServer(["--request-log", path, "--ctx-size", "2048"]);
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function readLog(): Promise<{ raw: string; records: RequestLogRecord[] }> {
    await t.server.requestLog?.flush();
    const raw = await readFile(path, "utf8");
    assert.ok(raw.endsWith("\n"));
    return {
      raw,
      records: raw
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as RequestLogRecord),
    };
  }

  async function recordFor(id: string): Promise<{ raw: string; record: RequestLogRecord }> {
    const { raw, records } = await readLog();
    const matching = records.filter((r) => r.id === id);
    assert.equal(matching.length, 1, `one record for ${id}`);
    return { raw, record: matching[0] as RequestLogRecord };
  }

  it("without log_prompt: one metadata-only line, no prompt or completion text anywhere", async () => {
    const prompt = "Secret-prompt 7f3a: the purple lighthouse";
    const res = await postChat(t.url, { ...base, messages: [{ role: "user", content: prompt }], user: "alice", metadata: { team: "qa" }, log_prompt: false });
    assert.equal(res.status, 200);
    const completion = (await res.json()) as ChatCompletion;
    const content = completion.choices[0]?.message.content ?? "";

    const { raw, record } = await recordFor(completion.id);
    assert.equal(record.status, 200);
    assert.equal(record.model, MODEL);
    assert.equal(record.user, "alice");
    assert.deepEqual(record.metadata, { team: "qa" });
    assert.equal(record.stream, false);
    assert.equal(record.n, 1);
    assert.equal(record.prompt_tokens, completion.usage?.prompt_tokens);
    assert.equal(record.completion_tokens, completion.usage?.completion_tokens);
    assert.deepEqual(record.finish_reasons, ["length"]);
    assert.ok(typeof record.latency_ms === "number" && record.latency_ms >= 0);
    assert.ok(!Number.isNaN(Date.parse(record.time)));
    assert.equal("messages" in record, false);
    assert.equal("choices" in record, false);
    assert.equal("error" in record, false);
    assertAbsent(raw, prompt, "the prompt");
    assertAbsent(raw, content, "the completion");
  });

  it("with log_prompt: the messages as sent and each choice's content, exactly", async () => {
    const messages = [
      { role: "system", content: "You are terse." },
      {
        role: "user",
        content: [
          { type: "text", text: "Logged prompt: " },
          { type: "text", text: "green door" },
        ],
      },
    ];
    const res = await postChat(t.url, { ...base, messages, n: 2, log_prompt: true });
    assert.equal(res.status, 200);
    const completion = (await res.json()) as ChatCompletion;

    const { record } = await recordFor(completion.id);
    assert.deepEqual(record.messages, messages);
    assert.deepEqual(
      record.choices,
      completion.choices.map((c) => ({ content: c.message.content, tool_calls: [] })),
    );
    assert.equal(record.n, 2);
    assert.deepEqual(record.finish_reasons, ["length", "length"]);
    assert.equal(record.prompt_tokens, completion.usage?.prompt_tokens);
    assert.equal(record.completion_tokens, completion.usage?.completion_tokens);
  });

  it("streamed requests: logged with the full streamed content (log_prompt) or metadata only", async () => {
    const logged = await streamChat(t.url, { ...base, n: 2, messages: [{ role: "user", content: "Stream me, log me" }], log_prompt: true });
    const { record } = await recordFor(logged.id);
    assert.equal(record.status, 200);
    assert.equal(record.stream, true);
    assert.deepEqual(
      record.choices,
      logged.contents.map((content) => ({ content, tool_calls: [] })),
    );
    assert.deepEqual(record.finish_reasons, logged.finishReasons);
    assert.equal(record.prompt_tokens, logged.usage?.prompt_tokens);
    assert.equal(record.completion_tokens, logged.usage?.completion_tokens);

    const prompt = "Secret-stream 91c2: under the bridge";
    const quiet = await streamChat(t.url, { ...base, messages: [{ role: "user", content: prompt }] });
    const { raw, record: quietRecord } = await recordFor(quiet.id);
    assert.equal(quietRecord.stream, true);
    assert.equal(quietRecord.completion_tokens, quiet.usage?.completion_tokens);
    assert.equal("choices" in quietRecord, false);
    assertAbsent(raw, prompt, "the streamed prompt");
    assertAbsent(raw, quiet.contents[0] ?? "", "the streamed completion");
  });

  it("failed requests are logged with metadata and the error; an invalid request's text never is", async () => {
    const before = (await readLog()).records.length;
    const prompt = "Secret-invalid 55d0: do not keep";
    const invalid = await postChat(t.url, { ...base, messages: [{ role: "user", content: prompt }], temperature: 7, user: "bob", log_prompt: true });
    assert.equal(invalid.status, 400);
    const unknown = await postChat(t.url, { ...base, model: "no-such-model", messages: [{ role: "user", content: "x" }] });
    assert.equal(unknown.status, 404);

    const { raw, records } = await readLog();
    const [first, second] = records.slice(before);
    assert.equal(records.length, before + 2);
    assert.equal(first?.status, 400);
    assert.equal(first?.id, null);
    assert.equal(first?.user, "bob");
    assert.deepEqual(first?.error, { type: "invalid_request_error", code: null, param: "temperature" });
    assert.equal(first !== undefined && "messages" in first, false);
    assertAbsent(raw, prompt, "the invalid request's prompt");
    assert.equal(second?.status, 404);
    assert.equal(second?.model, "no-such-model");
    assert.equal(second?.error?.code, "model_not_found");
  });

  it("a client that disconnects mid-stream is logged with status 499 and the text so far", async () => {
    const controller = new AbortController();
    const body = { ...base, max_tokens: 2000, stream: true, messages: [{ role: "user", content: "Go on and on" }], log_prompt: true };
    const res = await postChat(t.url, body, {}, controller.signal);
    const reader = res.body?.getReader();
    assert.ok(reader);
    let seen = "";
    while (seen.split('"content":"').length < 4) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      seen += new TextDecoder().decode(value);
    }
    const id = /"id":"(chatcmpl-[^"]+)"/.exec(seen)?.[1];
    assert.ok(id);
    controller.abort();

    let record: RequestLogRecord | undefined;
    for (let i = 0; i < 100 && record === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      record = (await readLog()).records.find((r) => r.id === id);
    }
    assert.ok(record, "the aborted request was logged");
    assert.equal(record.status, 499);
    assert.deepEqual(record.finish_reasons, [null]);
    assert.ok((record.choices?.[0]?.content.length ?? 0) > 0);
  });
});

describe("log_prompt without --request-log", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it("log_prompt: true is a 400 naming log_prompt (nothing would be logged)", async () => {
    const res = await postChat(t.url, { ...base, max_tokens: 1, messages: [{ role: "user", content: "Hi" }], log_prompt: true });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string | null; message: string; type: string } };
    assert.equal(body.error.param, "log_prompt");
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /log_prompt/);
    assert.match(body.error.message, /--request-log/);
  });

  it("log_prompt: false (or null) is accepted", async () => {
    for (const value of [false, null]) {
      const res = await postChat(t.url, { ...base, max_tokens: 1, messages: [{ role: "user", content: "Hi" }], log_prompt: value });
      assert.equal(res.status, 200);
    }
  });

  it("log_prompt must be a boolean", async () => {
    const res = await postChat(t.url, { ...base, max_tokens: 1, messages: [{ role: "user", content: "Hi" }], log_prompt: "yes" });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, "log_prompt");
  });
});
