/**
 * The pure parts of embeddings: the request's input checks (each bad item named), the vector
 * arithmetic (truncation + L2), the base64 writer (what the openai SDK decodes), the lenient
 * reading of an upstream's answer, and the config file's `kind`/`matryoshka` rules.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configFileSchema } from "../../src/config/config-file-schema.ts";
import { DEFAULT_LIMITS } from "../../src/domain/limits.ts";
import { unitVector } from "../../src/engines/llama/embed-inputs.ts";
import { readEmbeddings } from "../../src/engines/upstream/embed.ts";
import { parseEmbeddingRequest } from "../../src/http/dialects/embeddings/normalize.ts";
import { inputIssues } from "../../src/http/dialects/embeddings/request-schema.ts";
import { base64 } from "../../src/http/dialects/embeddings/response.ts";

describe("embedding input checks", () => {
  it("accepts the four shapes, one input each string or token list", () => {
    const inputs = (input: unknown) => parseEmbeddingRequest({ model: "m", input }, DEFAULT_LIMITS).request.inputs;
    assert.deepEqual(inputs("a"), ["a"]);
    assert.deepEqual(inputs(["a", "b"]), ["a", "b"]);
    assert.deepEqual(inputs([1, 2, 3]), [[1, 2, 3]]);
    assert.deepEqual(inputs([[1], [2, 3]]), [[1], [2, 3]]);
    assert.equal(parseEmbeddingRequest({ model: "m", input: "a" }, DEFAULT_LIMITS).encoding, "float");
  });
  it("names each bad item", () => {
    const params = (input: unknown) => inputIssues(input, 100).map((i) => i.path.join("."));
    assert.deepEqual(params(""), ["input"]);
    assert.deepEqual(params(["x", "", "y", ""]), ["input.1", "input.3"]);
    assert.deepEqual(params([[1], []]), ["input.1"]);
    assert.deepEqual(params([[1], [2, -1]]), ["input.1.1"]);
    assert.deepEqual(params([1, 2.5]), ["input.1"]);
    assert.deepEqual(params(["a", ["b"]]), ["input.1"]);
    assert.deepEqual(params({ text: "a" }), ["input"]);
    assert.deepEqual(params(["a".repeat(101)]), ["input"]);
    assert.deepEqual(params(Array.from({ length: 2049 }, () => "a")), ["input"]);
  });
  it("reports every invalid field together", () => {
    assert.throws(
      () => parseEmbeddingRequest({ model: "", input: [""], encoding_format: "hex", extra: 1 }, DEFAULT_LIMITS),
      (error: { issues: { path: (string | number)[] }[] }) => {
        assert.deepEqual(error.issues.map((i) => i.path.join(".")).sort(), ["encoding_format", "extra", "input.0", "model"]);
        return true;
      },
    );
  });
});

describe("embedding vectors", () => {
  it("cuts to `dimensions` and scales to unit length", () => {
    assert.deepEqual(Array.from(unitVector([3, 4, 12])), Array.from(new Float32Array([3 / 13, 4 / 13, 12 / 13])));
    assert.deepEqual(Array.from(unitVector([3, 4, 12], 2)), Array.from(new Float32Array([0.6, 0.8])));
    assert.deepEqual(Array.from(unitVector([0, 0])), [0, 0]);
  });
  it("writes base64 as little-endian float32, as the openai SDK decodes it", () => {
    const vector = new Float32Array([0.1, -2.5, 1e-8]);
    const decoded = new Float32Array(Uint8Array.from(Buffer.from(base64(vector), "base64")).buffer);
    assert.deepEqual(Array.from(decoded), Array.from(vector));
  });
  it("reads an upstream's answer by index, floats or base64, and refuses a malformed one", () => {
    const b64 = Buffer.from(new Float32Array([1, 2]).buffer).toString("base64");
    const result = readEmbeddings(
      {
        data: [
          { index: 1, embedding: b64 },
          { index: 0, embedding: [3, 4] },
        ],
        usage: { prompt_tokens: 5 },
      },
      2,
      "m",
    );
    assert.deepEqual(
      result.vectors.map((v) => Array.from(v)),
      [
        [3, 4],
        [1, 2],
      ],
    );
    assert.equal(result.promptTokens, 5);
    assert.throws(() => readEmbeddings({ data: [{ index: 0, embedding: [1] }] }, 2, "m"), /malformed/);
    assert.throws(
      () =>
        readEmbeddings(
          {
            data: [
              { index: 0, embedding: "abc" },
              { index: 0, embedding: [1] },
            ],
          },
          2,
          "m",
        ),
      /malformed/,
    );
    assert.throws(() => readEmbeddings({ object: "list" }, 1, "m"), /malformed/);
  });
});

describe("config: embedding models", () => {
  const parse = (model: Record<string, unknown>) => configFileSchema({}).safeParse({ models: [{ id: "e", ...model }] });
  it("takes kind: embedding with matryoshka, locally and upstream", () => {
    assert.ok(parse({ kind: "embedding", matryoshka: true, local: { path: "/m.gguf" } }).success);
    assert.ok(parse({ kind: "embedding", upstream: { baseUrl: "http://h/v1", model: "x" } }).success);
  });
  it("refuses matryoshka on a chat model, and adapters or templates on an embedding model", () => {
    assert.equal(parse({ matryoshka: true, local: { path: "/m.gguf" } }).success, false);
    assert.equal(parse({ kind: "embedding", local: { path: "/m.gguf", chatTemplateFile: "/t.jinja" } }).success, false);
    assert.equal(parse({ kind: "reranker", local: { path: "/m.gguf" } }).success, false);
  });
});
