/**
 * `POST /apply-template`, `/tokenize`, `/detokenize` over HTTP on the test model (byte-level BPE,
 * ChatML special tokens, BOS wanted and written by its template): round trips, piece shapes
 * (a token that holds part of a UTF-8 character comes back as byte values), BOS with
 * `add_special`, the prompt's token count against the same chat request's `usage.prompt_tokens`
 * (model template, a client's template without BOS, tools, prompt controls, long conversations),
 * long texts tokenized in the worker process, keys, bad bodies, unknown and upstream models; and
 * the same contracts on a SentencePiece model (BOS `<s>`, a space put before text, byte fallback).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadServeConfig } from "../../src/config/config-file.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { ensureTestModel, TEST_MODEL_SPECIAL_TOKENS as SPECIAL, TEST_MODEL_SPM_SPECIAL_TOKENS as SPM, writeTestModel } from "../../src/testing/test-model.ts";
import { MODEL, postChat, startTestServer, type TestServer } from "../support/server.ts";

const KEY = "sk-text-tools-0123";
const AUTH = { authorization: `Bearer ${KEY}` };
/** Texts longer than this are tokenized in the worker process (lowered so tests reach it cheaply). */
const INLINE_CHARS = 200;
const INPUT_CHARS = 20_000;

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
type Piece = string | number[];

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** The error of a failed call, after checking its status. */
function failed(res: { status: number; body: unknown }, status: number): ErrorBody["error"] {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return (res.body as ErrorBody).error;
}

describe("/apply-template, /tokenize, /detokenize", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(["--api-key", KEY, "--ctx-size", "4096", "--limit", `inlineTokenizeChars=${INLINE_CHARS}`, "--limit", `inputChars=${INPUT_CHARS}`]);
  });
  after(async () => t?.close());

  const tokenize = async (content: string, extra: Record<string, unknown> = {}) => {
    const res = await post(t.url, "/tokenize", { content, ...extra });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { tokens: unknown[] }).tokens;
  };
  const ids = async (content: string, extra: Record<string, unknown> = {}) => (await tokenize(content, extra)) as number[];
  const detokenize = async (tokens: readonly number[]) => {
    const res = await post(t.url, "/detokenize", { tokens });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { content: string }).content;
  };
  const applyTemplate = async (body: Record<string, unknown>) => {
    const res = await post(t.url, "/apply-template", body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { prompt: string }).prompt;
  };
  const promptTokens = async (body: Record<string, unknown>) => {
    const res = await postChat(t.url, { model: MODEL, ...body, max_tokens: 1 }, AUTH);
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
  };

  it("tokenize → detokenize round-trips, special-token text parsed as special tokens", async () => {
    const text = "Hello, wörld! Ça va? 🙂 日本語 <|im_start|>user\nhi<|im_end|>";
    const tokens = await ids(text, { model: MODEL });
    assert.ok(tokens.every((id) => Number.isInteger(id) && id >= 0));
    assert.ok(tokens.includes(SPECIAL.imStart.id) && tokens.includes(SPECIAL.imEnd.id), `special tokens parsed: ${tokens}`);
    assert.ok(tokens.length < text.length, "merged tokens, not one per character");
    assert.equal(await detokenize(tokens), text);
    assert.deepEqual(await tokenize(""), []);
  });

  it("with_pieces: text pieces as strings, a partial UTF-8 character as byte values", async () => {
    const text = "ab 🙂<|im_end|>";
    const plain = await ids(text);
    const pieces = (await tokenize(text, { with_pieces: true })) as { id: number; piece: Piece }[];
    assert.deepEqual(
      pieces.map((p) => p.id),
      plain,
    );
    const bytes: number[] = [];
    for (const { piece } of pieces) {
      if (typeof piece === "string") bytes.push(...new TextEncoder().encode(piece));
      else {
        assert.ok(piece.length > 0 && piece.every((b) => Number.isInteger(b) && b >= 0 && b <= 255), JSON.stringify(piece));
        assert.throws(() => new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(piece)), "only invalid UTF-8 comes as bytes");
        bytes.push(...piece);
      }
    }
    assert.deepEqual(bytes, [...new TextEncoder().encode(text)], "the pieces' bytes are the text's");
    assert.ok(
      pieces.some((p) => Array.isArray(p.piece)),
      `the emoji's 4 bytes are split across tokens: ${JSON.stringify(pieces)}`,
    );
    assert.deepEqual(pieces.at(-1), { id: SPECIAL.imEnd.id, piece: SPECIAL.imEnd.text });
    // The same split on the way back: one token alone is half a character, all of them the whole.
    const partial = pieces.find((p) => Array.isArray(p.piece));
    assert.ok(partial !== undefined);
    assert.match(await detokenize([partial.id]), /\uFFFD/);
  });

  it("add_special adds the model's BOS, as llama-server (even before a BOS the text holds)", async () => {
    const plain = await ids("Hello there");
    assert.notEqual(plain[0], SPECIAL.bos.id);
    assert.deepEqual(await ids("Hello there", { add_special: true }), [SPECIAL.bos.id, ...plain]);
    assert.deepEqual(await ids("Hello there", { add_special: false }), plain);
    assert.deepEqual(await ids(`${SPECIAL.bos.text}Hello there`, { add_special: true }), [SPECIAL.bos.id, SPECIAL.bos.id, ...plain]);
  });

  it("long content is tokenized in the worker process, with the same tokens", async () => {
    // Text is never merged across a special token, so the long text's tokens are its parts'.
    const a = "The quick brown fox jumps over the lazy dog; ".repeat(4);
    const b = "Pack my box with five dozen liquor jugs! ".repeat(4);
    assert.ok(a.length < INLINE_CHARS && b.length < INLINE_CHARS && a.length + b.length > INLINE_CHARS);
    const long = await ids(`${a}<|im_end|>${b}`);
    assert.deepEqual(long, [...(await ids(a)), SPECIAL.imEnd.id, ...(await ids(b))]);
    assert.deepEqual(await ids(`${a}<|im_end|>${b}`, { add_special: true }), [SPECIAL.bos.id, ...long]);
    assert.equal(await detokenize(long), `${a}<|im_end|>${b}`);
  });

  it("/apply-template's prompt, tokenized with add_special, has exactly the chat request's prompt_tokens", async () => {
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "What is the weather in Paris?" },
    ];
    const tools = [
      { type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
    ];
    const filler = Array.from({ length: 300 }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `turn ${i}` }));
    const cases: Record<string, Record<string, unknown>> = {
      "the model's template (which writes BOS)": { messages },
      "a client's template without BOS": { messages, chat_template: "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}" },
      "tools and tool_choice": { messages, tools, tool_choice: "required" },
      continue_final_message: { messages: [...messages, { role: "assistant", content: "It is" }], add_generation_prompt: false, continue_final_message: true },
      "add_special_tokens (BOS doubled, as vLLM)": { messages, add_special_tokens: true },
      "a long conversation (rendered in the sandbox)": { messages: [...filler, ...messages] },
    };
    for (const [name, body] of Object.entries(cases)) {
      const prompt = await applyTemplate({ model: MODEL, ...body });
      const tokens = await ids(prompt, { add_special: true });
      assert.equal(tokens.length, await promptTokens(body), name);
      assert.equal(tokens[0], SPECIAL.bos.id, name);
    }
  });

  it("/apply-template shows the rendered text, BOS left out when the model adds it, model optional", async () => {
    const prompt = await applyTemplate({ messages: [{ role: "user", content: "Hi there" }] });
    assert.ok(!prompt.startsWith(SPECIAL.bos.text), prompt);
    assert.ok(prompt.includes("<|im_start|>user\nHi there<|im_end|>"), prompt);
    assert.ok(prompt.endsWith("<|im_start|>assistant\n"), prompt);
    const noPrompt = await applyTemplate({ messages: [{ role: "user", content: "Hi there" }], add_generation_prompt: false });
    assert.ok(!noPrompt.endsWith("<|im_start|>assistant\n"), noPrompt);
    // vLLM's add_special_tokens keeps the template's BOS: generation adds another in front.
    assert.ok((await applyTemplate({ messages: [{ role: "user", content: "Hi" }], add_special_tokens: true })).startsWith(SPECIAL.bos.text));
  });

  it("needs a valid key", async () => {
    for (const path of ["/apply-template", "/tokenize", "/detokenize"]) {
      const body = path === "/detokenize" ? { tokens: [10] } : path === "/tokenize" ? { content: "x" } : { messages: [{ role: "user", content: "x" }] };
      assert.equal((await post(t.url, path, body, {})).status, 401, path);
      assert.equal((await post(t.url, path, body, { authorization: "Bearer wrong" })).status, 401, path);
      assert.equal((await post(t.url, path, body)).status, 200, path);
    }
  });

  it("bad bodies are 400s in the OpenAI envelope naming the field", async () => {
    const cases: [string, unknown, string | null][] = [
      ["/tokenize", {}, "content"],
      ["/tokenize", { content: 5 }, "content"],
      ["/tokenize", { content: "x", add_special: "yes" }, "add_special"],
      ["/tokenize", { content: "x", parse_special: false }, "parse_special"],
      ["/tokenize", { content: "x".repeat(INPUT_CHARS + 1) }, "content"],
      ["/tokenize", [1, 2], null],
      ["/detokenize", {}, "tokens"],
      ["/detokenize", { tokens: "1 2" }, "tokens"],
      ["/detokenize", { tokens: [1, -2] }, "tokens[1]"],
      ["/detokenize", { tokens: [1, 2.5] }, "tokens[1]"],
      ["/detokenize", { tokens: [1, "2"] }, "tokens[1]"],
      ["/detokenize", { tokens: [1, 2, 1_000_000] }, "tokens[2]"],
      ["/detokenize", { tokens: Array.from({ length: INPUT_CHARS + 1 }, () => 1) }, "tokens"],
      ["/apply-template", { messages: [] }, "messages"],
      ["/apply-template", { messages: [{ role: "user", content: "x" }], temperature: 9 }, "temperature"],
      ["/apply-template", { messages: [{ role: "user", content: "x" }], chat_template: "{% if %}" }, "chat_template"],
      ["/apply-template", { messages: [{ role: "user", content: "x" }], continue_final_message: true }, "continue_final_message"],
    ];
    for (const [path, body, param] of cases) {
      const error = failed(await post(t.url, path, body), 400);
      assert.equal(error.type, "invalid_request_error", `${path} ${JSON.stringify(body).slice(0, 80)}`);
      assert.equal(error.param, param, `${path} ${JSON.stringify(body).slice(0, 80)}: ${error.message}`);
    }
    const invalid = failed(await post(t.url, "/detokenize", { tokens: [1, 2, 1_000_000] }), 400);
    assert.match(invalid.message, /1000000/);
    assert.equal(failed(await post(t.url, "/tokenize", "{not json"), 400).type, "invalid_request_error");
  });

  it("an unknown model is a 404, as on chat completions", async () => {
    for (const [path, body] of [
      ["/tokenize", { content: "x", model: "nope" }],
      ["/detokenize", { tokens: [1], model: "nope" }],
      ["/apply-template", { messages: [{ role: "user", content: "x" }], model: "nope" }],
    ] as const) {
      const error = failed(await post(t.url, path, body), 404);
      assert.equal(error.code, "model_not_found", path);
      assert.equal(error.param, "model", path);
    }
  });
});

describe("text tools with an upstream model and per-key model lists", () => {
  let dir: string;
  let server: RunningServer;
  const ALL = "sk-all-0123";
  const REMOTE_ONLY = "sk-remote-4567";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-text-tools-"));
    // The upstream comes first: the default model is the first one Parley runs itself. It is
    // never contacted by these routes (nothing listens there).
    const config = `
server:
  logLevel: warn
models:
  - id: remote
    upstream:
      baseUrls: [http://127.0.0.1:9/v1]
      model: whatever
  - id: local-model
    aliases: [default]
    local: { path: ${JSON.stringify(await ensureTestModel())} }
keys:
  - user: all
    key: ${ALL}
  - user: remote-only
    key: ${REMOTE_ONLY}
    models: [remote]
`;
    await writeFile(join(dir, "parley.yaml"), config);
    const serve = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "0", "--threads", "1", "--ctx-size", "512"], {});
    server = await startServer(serve.config, serve.file);
    await server.ready;
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  it("without model, the first local model answers; by id or alias the same", async () => {
    const byDefault = await post(server.url, "/tokenize", { content: "Hello <|im_end|>" }, as(ALL));
    assert.equal(byDefault.status, 200, JSON.stringify(byDefault.body));
    for (const model of ["local-model", "default"]) {
      assert.deepEqual((await post(server.url, "/tokenize", { content: "Hello <|im_end|>", model }, as(ALL))).body, byDefault.body, model);
    }
    const prompt = await post(server.url, "/apply-template", { messages: [{ role: "user", content: "Hi" }] }, as(ALL));
    assert.equal(prompt.status, 200, JSON.stringify(prompt.body));
  });

  it("an upstream model is a 400 naming model", async () => {
    for (const [path, body] of [
      ["/tokenize", { content: "x", model: "remote" }],
      ["/detokenize", { tokens: [1], model: "remote" }],
      ["/apply-template", { messages: [{ role: "user", content: "x" }], model: "remote" }],
    ] as const) {
      const error = failed(await post(server.url, path, body, as(ALL)), 400);
      assert.equal(error.param, "model", path);
      assert.equal(error.code, "model_not_supported", path);
      assert.match(error.message, /upstream/, path);
    }
  });

  it("a key's model list applies: 403 for a model it may not use, 400 when it may use no local one", async () => {
    assert.equal(failed(await post(server.url, "/tokenize", { content: "x", model: "local-model" }, as(REMOTE_ONLY)), 403).code, "model_not_allowed");
    const error = failed(await post(server.url, "/tokenize", { content: "x" }, as(REMOTE_ONLY)), 400);
    assert.equal(error.param, "model");
    assert.match(error.message, /this key may use/);
  });
});

describe("text tools on a SentencePiece model", () => {
  let dir: string;
  let t: TestServer;
  const model = "spm-text-tools";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-text-tools-spm-"));
    await writeTestModel(join(dir, `${model}.gguf`), { tokenizer: "spm" });
    t = await startTestServer(["--model", join(dir, `${model}.gguf`)]);
  });
  after(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("add_special adds <s>; pieces (byte fallback as byte values) make up exactly what /detokenize returns", async () => {
    const text = "Hi café 🙂<|im_end|> there";
    const plain = (await post(t.url, "/tokenize", { content: text }, {})).body as { tokens: number[] };
    assert.deepEqual((await post(t.url, "/tokenize", { content: text, add_special: true }, {})).body, { tokens: [SPM.bos.id, ...plain.tokens] });
    const pieces = ((await post(t.url, "/tokenize", { content: text, with_pieces: true }, {})).body as { tokens: { id: number; piece: Piece }[] }).tokens;
    assert.deepEqual(
      pieces.map((p) => p.id),
      plain.tokens,
    );
    assert.ok(
      pieces.some((p) => Array.isArray(p.piece)),
      JSON.stringify(pieces),
    );
    const bytes = pieces.flatMap((p) => (typeof p.piece === "string" ? [...new TextEncoder().encode(p.piece)] : p.piece));
    const content = ((await post(t.url, "/detokenize", { tokens: plain.tokens }, {})).body as { content: string }).content;
    assert.equal(content, new TextDecoder().decode(Uint8Array.from(bytes)));
    assert.ok(content.includes("café 🙂<|im_end|>"), content);
  });

  it("/apply-template's prompt, tokenized with add_special, has exactly the chat request's prompt_tokens", async () => {
    const messages = [{ role: "user", content: "Write about the café, 5€ and naïve code." }];
    for (const body of [{ messages }, { messages, chat_template: "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}" }]) {
      const prompt = ((await post(t.url, "/apply-template", body, {})).body as { prompt: string }).prompt;
      const tokens = ((await post(t.url, "/tokenize", { content: prompt, add_special: true }, {})).body as { tokens: number[] }).tokens;
      const res = await postChat(t.url, { model, ...body, max_tokens: 1 });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(tokens.length, ((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens, JSON.stringify(body));
    }
  });
});
