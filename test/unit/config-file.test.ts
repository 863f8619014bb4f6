/**
 * The `--config` file: YAML and JSON parse to the same models, keys and settings; every error
 * names the file, line, column and field path; unknown keys, duplicate ids/aliases and unset
 * environment variables are rejected.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigFileError, loadConfigFile, loadServeConfig, parseConfigFile } from "../../src/config/config-file.ts";

const ENV = { VLLM_KEY: "secret-upstream", ADMIN: "admin-secret-123" };
const SHA = "a".repeat(64);

const YAML = `
server:
  port: 9000
  queueSize: 8
models:
  - id: small
    aliases: [default, tiny]
    local:
      path: models/small.gguf
      ctxSize: 1024
      parallel: 2
      lora:
        - { id: pirate, path: pirate.gguf, scale: 0.5 }
  - id: llama-70b
    upstream:
      baseUrls: ["http://10.0.0.5:8000/v1/", "http://10.0.0.6:8000/v1"]
      apiKeyEnv: VLLM_KEY
      model: meta-llama/Llama-3.3-70B-Instruct
      timeout: 120
      unsupported: { mode: drop, fields: [logit_bias] }
keys:
  - user: alice
    key: alice-secret-key
    models: [small, default]
    limits: { requestsPerMinute: 60, maxConcurrent: 2 }
  - user: bob
    sha256: ${SHA.toUpperCase()}
adminKeyEnv: ADMIN
`;

/** The message of the ConfigFileError `text` raises. */
function errorOf(text: string, path = "/etc/parley.yaml", env: NodeJS.ProcessEnv = ENV): string {
  try {
    parseConfigFile(text, path, env);
  } catch (error) {
    assert.ok(error instanceof ConfigFileError, String(error));
    return error.message;
  }
  assert.fail("expected a ConfigFileError");
}

describe("config file", () => {
  it("reads YAML: models, keys, server settings, secrets from the environment", () => {
    const file = parseConfigFile(YAML, "/etc/parley/parley.yaml", ENV);
    assert.deepEqual(file.server, { port: 9000, queueSize: 8 });
    const [local, upstream] = file.models;
    assert.ok(local?.kind === "local" && upstream?.kind === "upstream");
    assert.equal(local.source, "/etc/parley/models/small.gguf"); // relative to the file
    assert.deepEqual(local.aliases, ["default", "tiny"]);
    assert.deepEqual(local.lora, [{ id: "pirate", path: "/etc/parley/pirate.gguf", scale: 0.5 }]);
    assert.equal(local.ctxSize, 1024);
    assert.deepEqual(upstream.options.baseUrls, ["http://10.0.0.5:8000/v1", "http://10.0.0.6:8000/v1"]);
    assert.equal(upstream.options.apiKey, "secret-upstream");
    assert.equal(upstream.options.timeoutMs, 120_000);
    assert.deepEqual(upstream.options.unsupported, { mode: "drop", fields: ["logit_bias"] });
    assert.deepEqual(file.keys, [
      { user: "alice", key: "alice-secret-key", models: ["small", "default"], limits: { requestsPerMinute: 60, maxConcurrent: 2 } },
      { user: "bob", sha256: SHA },
    ]);
    assert.deepEqual(file.adminKey, { key: "admin-secret-123" });
  });

  it("reads a draft model: a path relative to the file, or hf:/URL as given", () => {
    const yaml = `
models:
  - id: big
    local: { path: big.gguf, draftModel: drafts/small.gguf }
  - id: remote
    local: { hf: owner/repo/big.gguf, draftModel: "hf:owner/repo/small.gguf" }
`;
    const [big, remote] = parseConfigFile(yaml, "/etc/parley/parley.yaml", ENV).models;
    assert.ok(big?.kind === "local" && remote?.kind === "local");
    assert.equal(big.draftModel, "/etc/parley/drafts/small.gguf");
    assert.equal(remote.draftModel, "hf:owner/repo/small.gguf");
  });

  it("reads JSON the same way", () => {
    const json = JSON.stringify(
      {
        models: [
          { id: "a", local: { hf: "owner/repo/file-Q4_K_M.gguf" } },
          { id: "b", upstream: { baseUrl: "https://api.example.com/v1", model: "m", headers: { "X-Team": "x" } } },
        ],
        adminKey: "sha256:" + SHA,
      },
      null,
      2,
    );
    const file = parseConfigFile(json, "/srv/parley.json", {});
    assert.equal(file.models[0]?.kind === "local" && file.models[0].source, "hf:owner/repo/file-Q4_K_M.gguf");
    assert.deepEqual(file.models[1]?.kind === "upstream" && file.models[1].options.baseUrls, ["https://api.example.com/v1"]);
    assert.deepEqual(file.adminKey, { sha256: SHA });
    assert.match(errorOf('{\n  "models": [\n    {"id": "a", "local": {"path": 3}}\n  ]\n}', "/srv/p.json"), /^ {2}\/srv\/p\.json:3:35 models\[0\]\.local\.path: /m);
  });

  it("points errors at line:column and field path", () => {
    const text = YAML.replace('"http://10.0.0.6:8000/v1"', '"ftp://10.0.0.6"');
    assert.match(errorOf(text), /\/etc\/parley\.yaml:16:46 models\[1\]\.upstream\.baseUrls\[1\]: /);
    assert.match(errorOf(YAML.replace("port: 9000", "port: 70000")), /parley\.yaml:3:9 server\.port: /);
    // a missing required field points at the object that lacks it
    assert.match(errorOf(YAML.replace("      model: meta-llama/Llama-3.3-70B-Instruct\n", "")), /parley\.yaml:16:7 models\[1\]\.upstream\.model: /);
    assert.match(errorOf(YAML.replace("      path: models/small.gguf\n", "")), /parley\.yaml:9:7 models\[0\]\.local: exactly one of path, hf or url/);
    assert.match(errorOf("models: [\n"), /parley\.yaml:2:1 /); // YAML syntax errors too
    assert.match(errorOf("models: []"), /parley\.yaml:1:9 models: /);
  });

  it("rejects unknown keys, at the key", () => {
    const message = errorOf(YAML.replace("      ctxSize: 1024", "      ctxSize: 1024\n      ctx_size: 1024").replace("  port: 9000", "  port: 9000\n  model: x"));
    assert.match(message, /parley\.yaml:12:7 models\[0\]\.local\.ctx_size: unknown field/);
    assert.match(message, /parley\.yaml:4:3 server\.model: unknown field/);
    assert.match(errorOf("models:\n  - id: a\n    local: { path: a.gguf }\n    weight: 2\n"), /:4:5 models\[0\]\.weight: unknown field/);
  });

  it("rejects duplicate ids and aliases, and keys naming unknown models", () => {
    assert.match(errorOf(YAML.replace("id: llama-70b", "id: small")), /:14:9 models\[1\]\.id: "small" is already used by models\[0\]\.id/);
    assert.match(errorOf(YAML.replace("id: llama-70b", "id: llama-70b\n    aliases: [tiny]")), /:15:15 models\[1\]\.aliases\[0\]: "tiny" is already used by models\[0\]\.aliases\[1\]/);
    assert.match(errorOf(YAML.replace("models: [small, default]", "models: [small, big]")), /:24:21 keys\[0\]\.models\[1\]: no model has the id or alias "big"/);
    assert.match(errorOf("models:\n  - id: a\n    local: { path: a.gguf }\n    upstream: { baseUrl: 'http://x/v1', model: m }\n"), /:2:5 models\[0\]: exactly one of local or upstream/);
  });

  it("requires the variables named by apiKeyEnv and adminKeyEnv, and never takes inline upstream keys", () => {
    const message = errorOf(YAML, "/etc/parley.yaml", { ADMIN: ENV.ADMIN });
    assert.match(message, /:17:18 models\[1\]\.upstream\.apiKeyEnv: the environment variable VLLM_KEY is not set/);
    assert.match(errorOf(YAML, "/etc/parley.yaml", { VLLM_KEY: "k" }), /adminKeyEnv: the environment variable ADMIN is not set/);
    assert.match(errorOf(YAML.replace("apiKeyEnv: VLLM_KEY", "apiKey: sk-inline")), /models\[1\]\.upstream\.apiKey: unknown field/);
    assert.match(errorOf(YAML.replace("apiKeyEnv: VLLM_KEY", "apiKeyEnv: sk-live-123/456")), /apiKeyEnv: expected the name of an environment variable/);
    assert.match(errorOf(YAML.replace(`sha256: ${SHA.toUpperCase()}`, "sha256: abc")), /:27:13 keys\[1\]\.sha256: expected 64 hex digits/);
  });
});

describe("serve arguments with --config", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-config-"));
    await writeFile(join(dir, "parley.yaml"), YAML);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("merges the file's server settings under flags and env", () => {
    const { config, file } = loadServeConfig(["--config", join(dir, "parley.yaml"), "--port", "9100"], ENV);
    assert.equal(config.port, 9100); // the flag wins
    assert.equal(config.queueSize, 8); // from the file
    assert.equal(file?.models.length, 2);
    assert.equal(loadServeConfig(["--config", join(dir, "parley.yaml")], { ...ENV, PARLEY_QUEUE_SIZE: "3" }).config.queueSize, 3);
  });

  it("takes request limits from the file as an object; --limit flags (or PARLEY_LIMITS) replace them", async () => {
    const path = join(dir, "limits.yaml");
    await writeFile(path, YAML.replace("  queueSize: 8\n", "  queueSize: 8\n  limit: { stopChars: 2048, grammarCost: 5000 }\n"));
    const { config } = loadServeConfig(["--config", path], ENV);
    assert.deepEqual([config.limit.stopChars, config.limit.grammarCost, config.limit.jsonDepth], [2048, 5000, 64]);
    const flagged = loadServeConfig(["--config", path, "--limit", "jsonDepth=10"], ENV).config.limit;
    assert.deepEqual([flagged.jsonDepth, flagged.stopChars], [10, 1024]);
    assert.equal(loadServeConfig(["--config", path], { ...ENV, PARLEY_LIMITS: "stopChars=7,messages=9" }).config.limit.messages, 9);
    assert.throws(() => loadServeConfig(["--config", path, "--limit", "bogus=1"], ENV), /unknown limit "bogus"/);
    assert.equal(loadServeConfig(["--config", join(dir, "parley.yaml")], ENV).config.limit.stopChars, 1024);
  });

  it("rejects model flags next to --config", () => {
    assert.throws(() => loadServeConfig(["--config", join(dir, "parley.yaml"), "--model", "x.gguf"], ENV), /--model .*cannot be combined with --config/);
    assert.throws(() => loadServeConfig(["--config", join(dir, "missing.yaml")], ENV), /missing\.yaml: cannot read the config file/);
  });
});

describe("examples/parley.yaml", () => {
  it("is a valid config", () => {
    const file = loadConfigFile(new URL("../../examples/parley.yaml", import.meta.url).pathname, { VLLM_API_KEY: "k", PARLEY_ADMIN_KEY: "admin-secret-123" });
    assert.deepEqual(
      file.models.map((m) => [m.kind, m.id, ...m.aliases]),
      [
        ["local", "qwen2.5-7b", "default"],
        ["upstream", "llama-3.3-70b", "big"],
      ],
    );
    assert.deepEqual(
      file.keys.map((k) => k.user),
      ["alice", "batch-jobs"],
    );
  });
});
