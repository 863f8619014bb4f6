/**
 * The dialects upstream servers speak: which request fields they read, under which names. Each
 * upstream model has one (`upstream.dialect` in the config file, or probed at start, see
 * `probe.ts`); `dialect-table.ts` and `dialect-constraints.ts` translate a request into it.
 */

/**
 * - `openai`: OpenAI's API (and servers that accept only its fields): no sampling extensions, JSON
 *   Schema constraints through `response_format` only.
 * - `vllm`: vLLM ≥ 0.12 (`structured_outputs: {json | regex | choice | grammar}`).
 * - `llama-server`: llama.cpp's server (`json_schema` and `grammar`, GBNF, top level).
 * - `sglang`: SGLang (`regex` and `ebnf` top level, JSON Schema through `response_format`).
 * - `parley`: another Parley (every field under the name Parley accepts).
 */
export const UPSTREAM_DIALECTS = ["openai", "vllm", "llama-server", "sglang", "parley"] as const;

export type UpstreamDialect = (typeof UPSTREAM_DIALECTS)[number];

export function isUpstreamDialect(value: unknown): value is UpstreamDialect {
  return typeof value === "string" && (UPSTREAM_DIALECTS as readonly string[]).includes(value);
}

/** How the dialect is named in error messages. */
export const DIALECT_NAMES: Readonly<Record<UpstreamDialect, string>> = {
  openai: "OpenAI",
  vllm: "vLLM",
  "llama-server": "llama.cpp's server",
  sglang: "SGLang",
  parley: "Parley",
};
