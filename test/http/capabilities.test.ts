/**
 * Capability refusal per engine kind, over real HTTP on 127.0.0.1: one front Parley serves a
 * local model and two upstream models (fakes answering the dialect probe as vLLM and as llama.cpp's
 * server do, recording the body they receive). Other servers' fields are 400s naming the field
 * for the local model, and reach the upstream that reads them verbatim; what no engine of a kind
 * can do is refused before anything is sent. The local engine's model never loads: the check runs
 * before the engine is asked for anything, so the refusals need no model.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { buildApp } from "../../src/app.ts";
import { LlamaEngine } from "../../src/engines/llama/engine.ts";
import type { ModelHost } from "../../src/engines/llama/model-host.ts";
import { UpstreamEngine } from "../../src/engines/upstream/engine.ts";
import { Router } from "../../src/router/router.ts";
import { postChat } from "../support/server.ts";

const sse = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
const ANSWER =
  sse({ id: "up", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: "ok" }, logprobs: null, finish_reason: "stop" }] }) +
  sse({ id: "up", choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }) +
  "data: [DONE]\n\n";

/** A fake upstream whose `/v1/models` names `owner`, recording each chat body and answering "ok". */
class FakeUpstream {
  readonly bodies: Record<string, unknown>[] = [];
  readonly #server: Server;

  constructor(owner: string) {
    this.#server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "GET") {
        if (req.url === "/v1/models") return void res.end(JSON.stringify({ object: "list", data: [{ id: "up-model", object: "model", created: 1, owned_by: owner }] }));
        return void res.writeHead(404).end();
      }
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString()));
      req.on("end", () => {
        this.bodies.push(JSON.parse(text) as Record<string, unknown>);
        res.writeHead(200, { "content-type": "text/event-stream" }).end(ANSWER);
      });
    });
  }

  async listen(): Promise<string> {
    this.#server.listen(0, "127.0.0.1");
    await once(this.#server, "listening");
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

async function error(res: Response): Promise<{ status: number; param: string | null; message: string }> {
  const body = (await res.json()) as { error: { param: string | null; message: string } };
  return { status: res.status, param: body.error.param, message: body.error.message };
}

describe("capabilities: one request, refused or forwarded by the engine it reaches", () => {
  const vllm = new FakeUpstream("vllm");
  const llamaServer = new FakeUpstream("llamacpp");
  let url = "";
  let close: () => Promise<void> = async () => undefined;

  before(async () => {
    const local = new LlamaEngine({ modelId: "local", host: new Promise<ModelHost>(() => undefined) });
    const engines = [
      local,
      new UpstreamEngine({ id: "vllm", model: "up-model", baseUrls: [await vllm.listen()], healthIntervalMs: 60_000 }),
      new UpstreamEngine({ id: "llama-server", model: "up-model", baseUrls: [await llamaServer.listen()], healthIntervalMs: 60_000 }),
    ];
    await Promise.all(engines.slice(1).map((engine) => engine.load())); // the dialect probes
    const app = buildApp({ router: new Router(engines) });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
    close = async () => {
      await Promise.all(engines.map((engine) => engine.close(0)));
      await app.close();
    };
  });
  after(async () => {
    await close();
    await vllm.close();
    await llamaServer.close();
  });

  const ask = (model: string, extra: object) => postChat(url, { model, messages: [{ role: "user", content: "Hi" }], max_tokens: 4, ...extra });

  it("vLLM's fields: a 400 naming the field for the local model, sent verbatim to the vLLM upstream", async () => {
    const fields = { allowed_token_ids: [5, 6], bad_words: ["never"], truncate_prompt_tokens: 64 };
    const refused = await error(await ask("local", fields));
    assert.equal(refused.status, 400);
    assert.equal(refused.param, "allowed_token_ids");
    assert.match(refused.message, /bad_words.*local llama\.cpp engine/);
    const res = await ask("vllm", fields);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content, "ok");
    assert.deepEqual(Object.fromEntries(Object.keys(fields).map((f) => [f, vllm.bodies.at(-1)?.[f]])), fields);
    // llama.cpp's server reads none of them: refused before anything is sent.
    const sent = llamaServer.bodies.length;
    assert.equal((await error(await ask("llama-server", fields))).param, "allowed_token_ids");
    assert.equal(llamaServer.bodies.length, sent);
  });

  it("llama.cpp's server's fields: refused locally and by vLLM, forwarded to llama-server; no-op values are not fields at all", async () => {
    const fields = { typical_p: 0.8, mirostat: 2, xtc_probability: 0.3 };
    assert.equal((await error(await ask("local", fields))).param, "typical_p");
    assert.equal((await error(await ask("vllm", fields))).param, "typical_p");
    assert.equal((await ask("llama-server", fields)).status, 200);
    assert.deepEqual([llamaServer.bodies.at(-1)?.typical_p, llamaServer.bodies.at(-1)?.mirostat, llamaServer.bodies.at(-1)?.xtc_probability], [0.8, 2, 0.3]);
    const before = vllm.bodies.length;
    assert.equal((await ask("vllm", { typical_p: 1, mirostat: 0 })).status, 200, "the values that change nothing pass everywhere");
    assert.equal(vllm.bodies.length, before + 1);
    assert.equal("typical_p" in (vllm.bodies.at(-1) ?? {}), false);
    assert.equal((await error(await ask("local", { typical_p: "high" }))).status, 400, "their types are checked at the edge");
  });

  it("beam search: what the engine's beams cannot honour is named, for local and upstream models alike", async () => {
    for (const model of ["local", "vllm"]) {
      assert.equal((await error(await ask(model, { use_beam_search: true, n: 2, top_p: 0.5 }))).param, "top_p", model);
      assert.equal((await error(await ask(model, { use_beam_search: true, n: 2, guided_choice: ["a", "b"] }))).param, "guided_choice", model);
    }
    assert.equal((await error(await ask("llama-server", { use_beam_search: true, n: 2 }))).param, "use_beam_search");
  });
});
