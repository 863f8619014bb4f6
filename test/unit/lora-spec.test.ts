import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/config/config.ts";
import { parseLoraSpec } from "../../src/config/lora-spec.ts";

test("--lora <id>=<path>[:scale]", () => {
  assert.deepEqual(parseLoraSpec("sql=/models/sql.gguf"), { id: "sql", path: "/models/sql.gguf", scale: 1 });
  assert.deepEqual(parseLoraSpec("sql=/models/sql.gguf:0.5"), { id: "sql", path: "/models/sql.gguf", scale: 0.5 });
  assert.deepEqual(parseLoraSpec("org/a-1=C:/x.gguf:2"), { id: "org/a-1", path: "C:/x.gguf", scale: 2 });
  assert.throws(() => parseLoraSpec("no-path"), /id>=<path/);
  assert.throws(() => parseLoraSpec("=x.gguf"), /id>=<path/);
});

test("--lora is repeatable, comes from PARLEY_LORA (comma-separated), and ids are unique", () => {
  assert.deepEqual(
    loadConfig(["--lora", "a=a.gguf", "--lora", "b=b.gguf:0.3"], {}).lora.map((l) => l.id),
    ["a", "b"],
  );
  assert.deepEqual(
    loadConfig([], { PARLEY_LORA: "a=a.gguf,b=b.gguf" }).lora.map((l) => l.path),
    ["a.gguf", "b.gguf"],
  );
  assert.deepEqual(loadConfig([], {}).lora, []);
  assert.throws(() => loadConfig(["--lora", "a=a.gguf", "--lora", "a=b.gguf"], {}), /registered twice/);
});
