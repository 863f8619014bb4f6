/**
 * A front Parley whose only model is an upstream engine, and a fake upstream that records each chat
 * body it receives and answers with a scripted behaviour (a canned OpenAI stream by default): shared
 * by the tests of the Responses and Messages APIs through upstreams and of mid-stream failures.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { buildApp, type AppOptions } from "../../src/app.ts";
import { UpstreamEngine } from "../../src/engines/upstream/engine.ts";
import type { UpstreamModelOptions } from "../../src/engines/upstream/options.ts";
import { Router } from "../../src/router/router.ts";
import { MODEL } from "./server.ts";

export const FRONT = "front-model";

export interface Front {
  readonly url: string;
  readonly openai: OpenAI;
  readonly anthropic: Anthropic;
  close(): Promise<void>;
}

/** A front Parley whose only model, `front-model`, is an upstream engine serving `MODEL`. */
export async function startFront(options: Omit<UpstreamModelOptions, "id" | "model">, app: Omit<AppOptions, "router"> = {}): Promise<Front> {
  const engine = new UpstreamEngine({ id: FRONT, model: MODEL, healthIntervalMs: 60_000, ...options });
  const server = buildApp({ router: new Router([engine]), ...app });
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  await engine.load();
  return {
    url,
    openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60_000 }),
    anthropic: new Anthropic({ baseURL: url, apiKey: "unused", maxRetries: 0, timeout: 60_000 }),
    close: async () => {
      await engine.close(0);
      await server.close();
    },
  };
}

export const sse = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
export const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  sse({ id: "up", object: "chat.completion.chunk", created: 1, model: MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }] });
export const usage = (prompt: number, completion: number) =>
  sse({ id: "up", object: "chat.completion.chunk", created: 1, model: MODEL, choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });

/** A fake upstream of one configured dialect: records each POST body, answers it with `behaviour`. */
export class FakeUpstream {
  readonly server: Server;
  readonly bodies: Record<string, unknown>[] = [];
  behaviour: (res: ServerResponse) => void = (res) =>
    res.writeHead(200, { "content-type": "text/event-stream" }).end(chunk({ role: "assistant", content: "Hel" }) + chunk({ content: "lo" }) + chunk({}, "stop") + usage(7, 2) + "data: [DONE]\n\n");

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "GET") return void res.end(JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created: 1, owned_by: "vllm" }] }));
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        this.bodies.push(JSON.parse(text) as Record<string, unknown>);
        this.behaviour(res);
      });
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
