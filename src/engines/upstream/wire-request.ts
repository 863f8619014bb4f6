/**
 * The domain `ChatRequest` serialised back into a chat-completions body for an upstream, in the
 * upstream's dialect. Only fields that differ from the domain's defaults are written (so a plain
 * request is a plain OpenAI request); the seed is sent only when the client chose it. Parley's own
 * names are written first, then translated field by field (`dialect-table.ts`), constraints and
 * tools in `dialect-constraints.ts`: a field the dialect cannot honour is a 400 naming it. Tools
 * are always sent in the modern `tools` form (legacy `functions` requests are answered in kind by
 * Parley's own HTTP layer). Last, the configured `unsupported` fields (names in the translated
 * body) are dropped or rejected: an explicit override of the table.
 */
import type { ChatMessage, ChatRequest } from "../../domain/chat.ts";
import { invalidRequest } from "../../domain/errors.ts";
import { constraintFields, toolFields } from "./dialect-constraints.ts";
import { mergeInto, translateFields, type WireBody } from "./dialect-table.ts";
import type { UpstreamDialect } from "./dialect.ts";

export type { WireBody } from "./dialect-table.ts";

export interface WireRequestOptions {
  /** The model name the upstream expects. */
  readonly model: string;
  /** The id clients use (for messages). */
  readonly modelId: string;
  /** Streamed upstream (with `stream_options.include_usage`), or one JSON answer. */
  readonly stream: boolean;
  /** The fields the upstream reads. */
  readonly dialect: UpstreamDialect;
  /** Fields the upstream does not support (default: none). */
  readonly unsupported?: { readonly fields: readonly string[]; readonly mode: "drop" | "reject" };
  /** OpenAI's `prompt_cache_key`, when the client sent one (forwarded where the dialect reads it). */
  readonly promptCacheKey?: string;
}

/** Fields that make the request what it is: never dropped. */
const ESSENTIAL = new Set(["model", "messages", "stream"]);

/** The body and the warnings for dropped fields; a field the upstream rejects is a 400 naming it. */
export function toWireRequest(request: ChatRequest, options: WireRequestOptions): { body: WireBody; warnings: string[] } {
  const body: WireBody = { model: options.model, messages: request.messages.map(toWireMessage), stream: options.stream };
  if (options.stream) body.stream_options = { include_usage: true };
  mergeInto(body, translateFields(parleyFields(request, options), options.dialect, options.modelId));
  if (request.constraint !== undefined) mergeInto(body, constraintFields(request.constraint, options.dialect, options.modelId, request.tools));
  if (request.tools !== undefined) Object.assign(body, toolFields(request.tools, options.dialect));
  const warnings: string[] = [];
  const unsupported = options.unsupported;
  for (const field of unsupported?.fields ?? []) {
    if (!(field in body) || ESSENTIAL.has(field)) continue;
    if (unsupported?.mode === "reject") {
      throw invalidRequest(`\`${field}\` is not supported by the upstream serving model \`${options.modelId}\`.`, [field], "unsupported");
    }
    delete body[field];
    if (field !== "stream_options") warnings.push(`\`${field}\` was dropped: the upstream serving model \`${options.modelId}\` does not support it`);
  }
  return { body, warnings };
}

/** Every field but the messages, constraint and tools, under Parley's names, in a fixed order. */
function parleyFields(r: ChatRequest, options: WireRequestOptions): WireBody {
  const s = r.sampling;
  const body: WireBody = {};
  const set = (field: string, value: unknown, unless: unknown) => {
    if (value !== undefined && value !== unless) body[field] = value;
  };
  set("max_tokens", r.maxTokens, undefined);
  set("n", r.n, 1);
  set("temperature", s.temperature, 1);
  set("top_p", s.topP, 1);
  set("top_k", s.topK, 0);
  set("min_p", s.minP, 0);
  if (s.seedFromClient) body.seed = s.seed;
  set("repetition_penalty", s.repetitionPenalty, 1);
  set("frequency_penalty", s.frequencyPenalty, 0);
  set("presence_penalty", s.presencePenalty, 0);
  if (s.logitBias.size > 0) body.logit_bias = Object.fromEntries([...s.logitBias].map(([id, bias]) => [String(id), bias]));
  if (r.stop.length > 0) body.stop = [...r.stop];
  set("include_stop_str_in_output", r.includeStopString, false);
  if (r.stopTokenIds.size > 0) body.stop_token_ids = [...r.stopTokenIds];
  set("ignore_eos", r.ignoreEos, false);
  set("skip_special_tokens", r.skipSpecialTokens, true);
  set("spaces_between_special_tokens", r.spacesBetweenSpecialTokens, true);
  set("min_tokens", r.minTokens, 0);
  if (r.logprobs) {
    body.logprobs = true;
    set("top_logprobs", r.topLogprobs, 0);
  }
  set("prompt_logprobs", r.promptLogprobs, undefined);
  set("user", r.user, undefined);
  set("peft", r.adapter, undefined);
  set("guided_whitespace_pattern", r.whitespacePattern, undefined);
  if (r.search.kind === "sample") set("best_of", r.search.bestOf, r.n);
  else {
    body.use_beam_search = true;
    body.best_of = r.search.width;
    set("length_penalty", r.search.lengthPenalty, 1);
    set("early_stopping", r.search.earlyStopping, false);
  }
  const p = r.prompt;
  set("add_generation_prompt", p.addGenerationPrompt, !p.continueFinalMessage);
  set("continue_final_message", p.continueFinalMessage, false);
  set("add_special_tokens", p.addSpecialTokens, false);
  set("echo", p.echo, false);
  set("chat_template", p.chatTemplate, undefined);
  if (Object.keys(p.chatTemplateKwargs).length > 0) body.chat_template_kwargs = p.chatTemplateKwargs;
  set("documents", p.documents, undefined);
  set("reasoning_effort", r.reasoning.effort, undefined);
  set("thinking_token_budget", r.reasoning.budget, undefined);
  set("prompt_cache_key", options.promptCacheKey, undefined);
  set("service_tier", r.scheduling.tier, "default");
  return body;
}

function toWireMessage(m: ChatMessage): WireBody {
  const out: WireBody = { role: m.role, content: m.content };
  if (m.name !== undefined) out.name = m.name;
  if (m.reasoning !== undefined) out.reasoning_content = m.reasoning;
  if (m.role === "tool") out.tool_call_id = m.toolCallId ?? "";
  if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
    out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    if (m.content === "") out.content = null;
  }
  return out;
}
