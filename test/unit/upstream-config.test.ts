/**
 * The config file's upstream `dialect` and `affinity` settings: read into the engine's options,
 * unknown dialects and bad affinity settings refused with the field's position.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigFileError, parseConfigFile } from "../../src/config/config-file.ts";

const file = (upstream: string) => `
models:
  - id: remote
    upstream:
      baseUrl: http://10.0.0.5:8000/v1
      model: m
${upstream
  .split("\n")
  .map((line) => `      ${line}`)
  .join("\n")}
`;

function upstreamOptions(text: string) {
  const spec = parseConfigFile(text, "/etc/parley.yaml", {}).models[0];
  assert.ok(spec?.kind === "upstream");
  return spec.options;
}

function errorOf(text: string): string {
  try {
    parseConfigFile(text, "/etc/parley.yaml", {});
  } catch (error) {
    assert.ok(error instanceof ConfigFileError, String(error));
    return error.message;
  }
  assert.fail("expected a ConfigFileError");
}

describe("config file: upstream dialect and affinity", () => {
  it("dialect and affinity reach the engine's options; both are optional", () => {
    const options = upstreamOptions(file("dialect: llama-server\naffinity: { loadFactor: 1.5, minPrefixChars: 1024 }"));
    assert.equal(options.dialect, "llama-server");
    assert.deepEqual(options.affinity, { loadFactor: 1.5, minPrefixChars: 1024 });
    assert.equal(upstreamOptions(file("affinity: false")).affinity, false);
    const plain = upstreamOptions(file("timeout: 10"));
    assert.equal(plain.dialect, undefined, "probed at start");
    assert.equal(plain.affinity, undefined, "on, with the defaults");
    assert.equal(upstreamOptions(file("affinity: true")).affinity, undefined);
  });

  it("an unknown dialect or affinity setting is an error at its line", () => {
    assert.match(errorOf(file("dialect: tgi")), /parley\.yaml:7:\d+ models\[0\]\.upstream\.dialect: .*openai.*vllm.*llama-server.*sglang.*parley/s);
    assert.match(errorOf(file("affinity: { loadFactor: 0.5 }")), /models\[0\]\.upstream\.affinity/);
    assert.match(errorOf(file("affinity: { blocks: 3 }")), /models\[0\]\.upstream\.affinity/);
  });
});
