/**
 * How a text completion (`/v1/completions`) differs from a chat request on the wire, per dialect:
 * rows that replace `dialect-table.ts`'s for the text endpoint, and the text endpoint's own fields
 * (`suffix`, `echo`). Everything else (sampling, stopping, constraints, other servers' fields)
 * travels exactly as in a chat request, through the same table.
 *
 * | field | openai | vllm | llama-server | sglang | parley |
 * |---|---|---|---|---|---|
 * | `max_tokens` | as is (the legacy API has no `max_completion_tokens`) | as is | as is | as is | as is |
 * | `logprobs` + `top_logprobs` | the legacy integer `logprobs` | same | `n_probs` (at least 1; extra alternatives are cut on the way back) | same as openai | same as openai |
 * | `echo` | as is | as is | 400 (it answers "Only no echo is supported") | as is | as is |
 * | `suffix` | as is (OpenAI accepts it for the models that fill in the middle) | 400 (vLLM answers "suffix is not currently supported") | 400 (it refuses `suffix` on `/v1/completions`; FIM is its `/infill`) | as is (applied through the server's `--completion-template`) | as is |
 * | `add_generation_prompt` | left out: a raw prompt has no chat template | same | same | same | same |
 * | `prompt_cache_key`, `service_tier` | left out (the legacy API does not take them; Parley places and queues the request itself) | left out | left out | left out | as is |
 * | `prediction` | 400 (the legacy API has no Predicted Outputs) | 400 | 400 | 400 | as is |
 */
import type { FieldRule, Row, WireBody } from "./dialect-table.ts";
import type { UpstreamDialect } from "./dialect.ts";

const SEND: FieldRule = { kind: "send" };
const REJECT: FieldRule = { kind: "reject" };
const DROP: FieldRule = { kind: "drop" };

function row(openai: FieldRule, vllm: FieldRule, llamaServer: FieldRule, sglang: FieldRule, parley: FieldRule = SEND): Row {
  return { openai, vllm, "llama-server": llamaServer, sglang, parley };
}

/** Alternatives per token asked for (`top_logprobs` in Parley's names, 0 when absent). */
const alternatives = (body: Readonly<WireBody>): number => (typeof body.top_logprobs === "number" ? body.top_logprobs : 0);

/** The legacy integer: alternatives per token (0: the chosen token's log-probability only). */
const legacyLogprobs: FieldRule = { kind: "map", note: "as the legacy integer `logprobs`", map: (_value, body) => ({ logprobs: alternatives(body) }) };

/** llama.cpp's server returns nothing for 0 alternatives: ask for at least one (the extra is cut on the way back). */
const llamaServerLogprobs: FieldRule = { kind: "map", note: "as `n_probs`", map: (_value, body) => ({ n_probs: Math.max(1, alternatives(body)) }) };

export const TEXT_FIELD_OVERRIDES: Readonly<Record<string, Row>> = {
  max_tokens: row(SEND, SEND, SEND, SEND),
  logprobs: row(legacyLogprobs, legacyLogprobs, llamaServerLogprobs, legacyLogprobs, legacyLogprobs),
  top_logprobs: row(DROP, DROP, DROP, DROP, DROP),
  echo: row(SEND, SEND, REJECT, SEND),
  suffix: row(SEND, REJECT, REJECT, SEND),
  add_generation_prompt: row(DROP, DROP, DROP, DROP, DROP),
  prompt_cache_key: row(DROP, DROP, DROP, DROP),
  service_tier: row(DROP, DROP, DROP, DROP),
  // OpenAI's legacy completions have no Predicted Outputs: another Parley only.
  prediction: row(REJECT, REJECT, REJECT, REJECT),
};

/** Whether the dialect forwards `suffix` (fill-in-the-middle) on text completions. */
export function forwardsSuffix(dialect: UpstreamDialect): boolean {
  return TEXT_FIELD_OVERRIDES.suffix?.[dialect].kind === "send";
}
