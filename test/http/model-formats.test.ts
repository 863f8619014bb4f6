/**
 * The formats report (issue 14): `/v1/models` entries say which tool-call and reasoning formats a
 * model was given, and from which template, in a `parley` vendor field; a model still loading has
 * none; the official client still parses the list.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import OpenAI from "openai";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { LlamaEngine } from "../../src/engines/llama/engine.ts";
import { loadModelTemplates, modelFormats } from "../../src/engines/llama/model-templates.ts";
import type { ModelHost } from "../../src/engines/llama/model-host.ts";
import { registerModelRoutes } from "../../src/http/routes/models.ts";
import { Router } from "../../src/router/router.ts";
import { startServer } from "../../src/server.ts";
import { ensureRealTokenizerTestModel } from "../../src/testing/real-tokenizer-model.ts";
import { ensureTestModel } from "../../src/testing/test-model.ts";
import type { Logger } from "../../src/util/logger.ts";
import { MODEL, startTestServer, type TestServer } from "../support/server.ts";

/** A ChatML-like template that writes no tool-call or reasoning markup of any family. */
const PLAIN_CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

interface Entry {
  id: string;
  object: string;
  parley?: Record<string, unknown>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as T;
}

/** The entry for `id` in `/v1/models`, checked equal to `/v1/models/{id}`'s. */
async function entry(url: string, id: string): Promise<Entry> {
  const list = await getJson<{ object: string; data: Entry[] }>(`${url}/v1/models`);
  const listed = list.data.find((m) => m.id === id);
  assert.ok(listed, `${id} is listed`);
  assert.deepEqual(await getJson<Entry>(`${url}/v1/models/${id}`), listed);
  return listed;
}

describe("formats report in /v1/models", () => {
  describe("the default test model, with an alias (--config)", () => {
    let t: { url: string; client: OpenAI; close(): Promise<void> };
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "parley-formats-"));
      const config = `models:\n  - id: ${MODEL}\n    aliases: [alias-of-test]\n    local: { path: ${JSON.stringify(await ensureTestModel())}, preload: true }\n`;
      await writeFile(join(dir, "parley.yaml"), config);
      const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1", "--ctx-size", "512", "--log-level", "warn"], {});
      const server = await startServer(serve.config, serve.file);
      await server.ready;
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
      t = { url: server.url, client, close: () => server.close() };
    });
    after(async () => {
      await t?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("reports Hermes tool calls written by hand, no reasoning, the GGUF's template", async () => {
      const { parley } = await entry(t.url, MODEL);
      assert.deepEqual(parley, {
        tool_calls: { format: "hermes", source: "hand-written", reason: "its markers are in the template" },
        reasoning: { format: "none" },
        chat_template: "gguf",
        tool_use_template: false,
      });
      // An alias reports its model's formats, though the router met it before the model loaded.
      assert.deepEqual((await entry(t.url, "alias-of-test")).parley, parley);
    });

    it("keeps OpenAI's shape: the official client parses the list and the entry", async () => {
      const ids = [];
      for await (const model of t.client.models.list()) {
        assert.equal(model.object, "model");
        assert.equal(typeof model.created, "number");
        ids.push(model.id);
      }
      assert.deepEqual(ids, [MODEL, "alias-of-test"]);
      const model = await t.client.models.retrieve(MODEL);
      assert.equal(model.owned_by, "parley");
    });
  });

  describe("a Qwen3 model (real tokenizer)", () => {
    let t: TestServer;
    before(async () => {
      const model = await ensureRealTokenizerTestModel("qwen3");
      t = await startTestServer(["--model", model, "--model-alias", "qwen3-test"]);
    });
    after(() => t?.close());

    it("reports Hermes tool calls and <think> tags", async () => {
      const { parley } = await entry(t.url, "qwen3-test");
      assert.deepEqual(parley, {
        tool_calls: { format: "hermes", source: "hand-written", reason: "its markers are in the template" },
        reasoning: { format: "tags", open: "<think>", close: "</think>", source: "known" },
        chat_template: "gguf",
        tool_use_template: false,
      });
    });
  });

  describe("--chat-template-file with a template of no family", () => {
    let t: TestServer;
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "parley-formats-"));
      const file = join(dir, "plain.jinja");
      await writeFile(file, PLAIN_CHATML);
      t = await startTestServer(["--chat-template-file", file]);
    });
    after(async () => {
      await t?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("reports the generic envelope and the override", async () => {
      const { parley } = await entry(t.url, MODEL);
      const { tool_calls: tools, ...rest } = parley as { tool_calls: { format: string; source: string; reason: string } };
      assert.deepEqual([tools.format, tools.source], ["generic", "generic"]);
      assert.match(tools.reason, /no format could be derived: the template does not write the call's name/);
      assert.deepEqual(rest, { reasoning: { format: "none" }, chat_template: "override", tool_use_template: false });
    });
  });

  it("leaves the field out while the model loads", async () => {
    const engine = new LlamaEngine({ modelId: "loading", host: new Promise<ModelHost>(() => undefined) });
    const app = Fastify();
    registerModelRoutes(app, new Router([engine], { aliases: new Map([["loading-alias", "loading"]]) }));
    try {
      const list = await app.inject({ method: "GET", url: "/v1/models" });
      assert.equal(list.statusCode, 200);
      const data = (list.json() as { data: Entry[] }).data;
      assert.deepEqual(
        data.map((m) => m.id),
        ["loading", "loading-alias"],
      );
      for (const model of data) assert.equal("parley" in model, false);
      const one = await app.inject({ method: "GET", url: "/v1/models/loading" });
      assert.deepEqual(Object.keys(one.json() as object).sort(), ["created", "id", "object", "owned_by"]);
    } finally {
      await app.close();
    }
  });
});

describe("modelFormats", () => {
  const logger = { warn() {}, info() {}, debug() {}, error() {} } as unknown as Logger;
  const isToken = () => false;

  it("reports the tool_use template's family, and answer tags", () => {
    const withTools = `${PLAIN_CHATML}{% if tools %}<tool_call>{% endif %}`;
    const granite = `${PLAIN_CHATML}{# <think></think> then <response></response> #}`;
    const formats = modelFormats(loadModelTemplates({ override: undefined, metadata: { chat_template: granite, "chat_template.tool_use": withTools }, isToken, logger }));
    assert.deepEqual(formats, {
      toolCalls: { format: "hermes", source: "hand-written", reason: "its markers are in the template" },
      reasoning: { format: "tags", open: "<think>", close: "</think>", source: "known", answer: { open: "<response>", close: "</response>" } },
      template: "gguf",
      toolUseTemplate: true,
    });
  });

  it("derives thought markers no known pair has from the template's rendering of thoughts", () => {
    const own = [
      "{%- for m in messages %}<|turn|>{{ m.role }}\n",
      "{%- if m.reasoning_content %}<muse:ponder>{{ m.reasoning_content }}</muse:ponder>{% endif %}{{ m.content }}<|end|>\n{% endfor %}",
      "{%- if add_generation_prompt %}<|turn|>assistant\n{% endif %}",
    ].join("");
    const formats = modelFormats(loadModelTemplates({ override: own, metadata: undefined, isToken, logger }));
    assert.deepEqual(formats.reasoning, { format: "tags", open: "<muse:ponder>", close: "</muse:ponder>", source: "derived" });
    // A template that drops thoughts derives nothing.
    assert.deepEqual(modelFormats(loadModelTemplates({ override: PLAIN_CHATML, metadata: undefined, isToken, logger })).reasoning, { format: "none" });
  });

  it("reports Harmony reasoning, and the built-in template when the GGUF has none", () => {
    const harmony = modelFormats(loadModelTemplates({ override: "{{ '<|channel|>analysis<|message|>' }}", metadata: undefined, isToken, logger }));
    assert.deepEqual(harmony.reasoning, { format: "harmony" });
    assert.equal(harmony.template, "override");
    const builtIn = modelFormats(loadModelTemplates({ override: undefined, metadata: {}, isToken, logger }));
    assert.equal(builtIn.template, "default");
    assert.equal(builtIn.toolUseTemplate, false);
  });
});
