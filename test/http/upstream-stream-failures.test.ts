/**
 * An upstream that fails mid-stream, over real HTTP on 127.0.0.1: a fake upstream sends a few chat
 * chunks, then breaks the connection or sends an error frame. The front has already answered 200,
 * so each API ends its stream with its own error: chat completions an error data frame then
 * `[DONE]`; the Responses API an `error` event then `response.failed`; Anthropic Messages an `error`
 * event. Both SDKs' stream helpers raise it as an exception; the request log records status 200
 * with the error, and the metrics count the request under 200.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ServerResponse } from "node:http";
import type { ResponseErrorEvent, ResponseFailedEvent } from "openai/resources/responses/responses";
import { RequestLog, type RequestLogRecord } from "../../src/http/request-log.ts";
import { parseSse } from "../support/server.ts";
import { chunk, FakeUpstream, FRONT, type Front, startFront } from "../support/upstream-fakes.ts";

/** Two chunks of text, then the connection is cut. */
const cut = (res: ServerResponse) => {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(chunk({ role: "assistant", content: "Hel" }) + chunk({ content: "lo" }));
  setTimeout(() => res.destroy(), 20);
};
/** Two chunks of text, then an OpenAI-style error frame. */
const errorFrame = (res: ServerResponse) =>
  res
    .writeHead(200, { "content-type": "text/event-stream" })
    .end(chunk({ role: "assistant", content: "Hel" }) + chunk({ content: "lo" }) + `data: ${JSON.stringify({ error: { message: "engine died", type: "internal_error", code: 500 } })}\n\n`);

const FAILURES: [string, (res: ServerResponse) => void][] = [
  ["a cut connection", cut],
  ["an error frame", errorFrame],
];

interface Event {
  event: string | null;
  data: Record<string, unknown>;
}

/** Raw SSE body into events (`event:` name and parsed `data:`), `[DONE]` kept as data `{done: true}`. */
function events(body: string): Event[] {
  assert.ok(body.endsWith("\n\n"), "the stream ends with a blank line");
  return body
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? null;
      const data = lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "";
      return { event, data: data === "[DONE]" ? { done: true } : (JSON.parse(data) as Record<string, unknown>) };
    });
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

describe("an upstream failing mid-stream", () => {
  let fake: FakeUpstream;
  let front: Front;
  let dir: string;
  let log: RequestLog;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-upstream-failures-"));
    log = new RequestLog({ path: join(dir, "requests.jsonl") });
    fake = new FakeUpstream();
    front = await startFront({ baseUrls: [await fake.listen()], dialect: "vllm" }, { requestLog: log });
  });
  after(async () => {
    await front?.close();
    await fake?.close();
    await log?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function records(): Promise<RequestLogRecord[]> {
    await log.flush();
    const raw = await readFile(log.path, "utf8").catch(() => "");
    return raw
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as RequestLogRecord);
  }

  /** Runs `request`, then checks it was logged and counted as a 200 that failed. */
  async function counted(request: () => Promise<void>): Promise<void> {
    const metricsBefore = metric(await (await fetch(`${front.url}/metrics`)).text(), 'parley_requests_total{status="200"}');
    const logged = (await records()).length;
    await request();
    const recs = (await records()).slice(logged);
    assert.equal(recs.length, 1, "one record");
    assert.equal(recs[0]?.status, 200);
    assert.ok(recs[0]?.error !== undefined, "the record carries the error");
    assert.equal(metric(await (await fetch(`${front.url}/metrics`)).text(), 'parley_requests_total{status="200"}'), metricsBefore + 1);
  }

  for (const [name, behaviour] of FAILURES) {
    it(`chat completions, ${name}: the text so far, an error data frame, then [DONE]`, async () => {
      fake.behaviour = behaviour;
      await counted(async () => {
        const { status, text } = await post(front.url, "/v1/chat/completions", { model: FRONT, messages: [{ role: "user", content: "Hi" }], stream: true });
        assert.equal(status, 200);
        const frames = parseSse(text);
        assert.equal(frames.at(-1), "[DONE]");
        const last = JSON.parse(frames.at(-2) as string) as { error?: { message: string; type: string } };
        assert.equal(typeof last.error?.message, "string");
        assert.equal(typeof last.error?.type, "string");
        const content = frames
          .slice(0, -2)
          .map((f) => (JSON.parse(f) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "")
          .join("");
        assert.equal(content, "Hello");
      });
      await assert.rejects(async () => {
        for await (const _ of await front.openai.chat.completions.create({ model: FRONT, messages: [{ role: "user", content: "Hi" }], stream: true })) {
          // drain
        }
      });
    });

    it(`responses, ${name}: an error event then response.failed; the SDK's stream helper throws`, async () => {
      fake.behaviour = behaviour;
      await counted(async () => {
        const { status, text } = await post(front.url, "/v1/responses", { model: FRONT, input: "Hi", stream: true });
        assert.equal(status, 200);
        const all = events(text);
        const [error, failed] = all.slice(-2) as [Event, Event];
        assert.equal(error.event, "error");
        const e = error.data as unknown as ResponseErrorEvent;
        assert.equal(e.type, "error");
        assert.equal(typeof e.message, "string");
        assert.equal(typeof e.sequence_number, "number");
        assert.equal(failed.event, "response.failed");
        const f = failed.data as unknown as ResponseFailedEvent;
        assert.equal(f.type, "response.failed");
        assert.equal(f.response.status, "failed");
        assert.equal(typeof f.response.error?.message, "string");
        assert.equal(typeof f.response.error?.code, "string");
        assert.equal(f.sequence_number, e.sequence_number + 1);
        const deltas = all.filter((ev) => ev.event === "response.output_text.delta").map((ev) => ev.data.delta as string);
        assert.equal(deltas.join(""), "Hello");
      });
      await assert.rejects(front.openai.responses.stream({ model: FRONT, input: "Hi" }).finalResponse());
    });

    it(`messages, ${name}: an error event of Anthropic's shape; the SDK's stream helper throws`, async () => {
      fake.behaviour = behaviour;
      await counted(async () => {
        const { status, text } = await post(front.url, "/v1/messages", { model: FRONT, max_tokens: 16, messages: [{ role: "user", content: "Hi" }], stream: true });
        assert.equal(status, 200);
        const all = events(text);
        const last = all.at(-1) as Event;
        assert.equal(last.event, "error");
        const error = last.data as { type: string; error: { type: string; message: string } };
        assert.equal(error.type, "error");
        assert.equal(typeof error.error.type, "string");
        assert.equal(typeof error.error.message, "string");
        assert.equal(all.filter((ev) => ev.event === "message_stop").length, 0, "no message_stop after a failure");
      });
      await assert.rejects(front.anthropic.messages.stream({ model: FRONT, max_tokens: 16, messages: [{ role: "user", content: "Hi" }] }).finalMessage());
    });
  }
});
