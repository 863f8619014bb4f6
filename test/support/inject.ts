/**
 * Route tests without a socket or a model: an app built around fake engines (fake-engine.ts),
 * driven with Fastify's `app.inject()`, and the helpers that read its answers (SSE frames parsed
 * with the framing checked, the OpenAI error envelope checked). Only the app's public entry points
 * are used (`buildApp`, `Router`), so these tests hold whatever the HTTP layer looks like inside.
 */
import assert from "node:assert/strict";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { buildApp, type AppOptions } from "../../src/app.ts";
import { Router, type RouterOptions } from "../../src/router/router.ts";
import { FAKE_MODEL, FakeEngine, type FakeEngineOptions } from "./fake-engine.ts";

export interface FakeApp {
  readonly app: FastifyInstance;
  /** The first engine (the one `fakeApp` made when none were given). */
  readonly engine: FakeEngine;
  close(): Promise<void>;
}

/** `fakeApp` options: the app's own (its router aside), the engine's, and the router's aliases. */
export interface FakeAppOptions extends Omit<AppOptions, "router"> {
  /** The engines (default: one `FakeEngine` made from `engine`). */
  readonly engines?: readonly FakeEngine[];
  /** Options of the default engine (default: `FakeEngine`'s). */
  readonly engine?: FakeEngineOptions;
  readonly aliases?: RouterOptions["aliases"];
}

/** An app serving fake engines; `close` closes it (and so its engines). */
export async function fakeApp(options: FakeAppOptions = {}): Promise<FakeApp> {
  const { engines, engine: engineOptions, aliases, ...appOptions } = options;
  const all = engines ?? [new FakeEngine(engineOptions)];
  const first = all[0];
  assert.ok(first !== undefined, "fakeApp needs an engine");
  const app = buildApp({ ...appOptions, router: new Router(all, aliases === undefined ? {} : { aliases }) });
  await app.ready();
  return { app, engine: first, close: () => app.close() };
}

/** A minimal valid chat request for `model` (default the fake model), with `extra` on top. */
export function chatBody(extra: Record<string, unknown> = {}, model = FAKE_MODEL): Record<string, unknown> {
  return { model, messages: [{ role: "user", content: "Hi" }], ...extra };
}

/** POSTs `body` as JSON to `/v1/chat/completions`. */
export function injectChat(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    headers: { "content-type": "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A parsed SSE body: each `data:` payload as JSON, and whether it ended with `data: [DONE]`. */
export interface SseBody {
  readonly frames: unknown[];
  readonly done: boolean;
}

/**
 * Parses an SSE body strictly: every frame one `data: …` line followed by a blank line, JSON
 * payloads, and `[DONE]` only as the last frame.
 */
export function parseSseBody(body: string): SseBody {
  assert.ok(body.endsWith("\n\n"), `SSE body does not end with a blank line: ${JSON.stringify(body.slice(-60))}`);
  const payloads = body
    .slice(0, -2)
    .split("\n\n")
    .map((frame) => {
      assert.ok(frame.startsWith("data: ") && !frame.includes("\n"), `bad SSE frame: ${JSON.stringify(frame)}`);
      return frame.slice("data: ".length);
    });
  const doneAt = payloads.indexOf("[DONE]");
  assert.ok(doneAt === -1 || doneAt === payloads.length - 1, "[DONE] is not the last frame");
  return { frames: payloads.filter((p) => p !== "[DONE]").map((p) => JSON.parse(p) as unknown), done: doneAt !== -1 };
}

/** OpenAI's error envelope. */
export interface ErrorEnvelope {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | number | null };
}

/** Asserts `value` is OpenAI's error envelope (exactly its four fields, typed) and returns it. */
export function assertErrorEnvelope(value: unknown, what = "error body"): ErrorEnvelope["error"] {
  assert.ok(typeof value === "object" && value !== null && "error" in value, `${what}: ${JSON.stringify(value)}`);
  const error = (value as { error: unknown }).error as Record<string, unknown>;
  assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"], what);
  assert.equal(typeof error.message, "string", what);
  assert.ok(String(error.message).length > 0, `${what}: empty message`);
  assert.equal(typeof error.type, "string", what);
  assert.ok(error.param === null || typeof error.param === "string", what);
  assert.ok(error.code === null || typeof error.code === "string" || typeof error.code === "number", what);
  return error as unknown as ErrorEnvelope["error"];
}
