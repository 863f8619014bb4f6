/**
 * The fields a domain request sets, under the names Parley's own body uses (vLLM's, which Parley
 * accepts), with their values: only those that differ from their defaults, in a fixed order, so a
 * plain request sets none. Messages, the output constraint, tools and other servers' extensions
 * are left out (each has its own form). One list for the two readers: the upstream's wire request
 * (engines/upstream/wire-request.ts translates it into a dialect) and the capability check
 * (router/capabilities.ts: fields a configuration refuses).
 */
import type { ChatRequest } from "./chat.ts";

export function requestFields(r: ChatRequest): Record<string, unknown> {
  const s = r.sampling;
  const body: Record<string, unknown> = {};
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
  set("prompt_cache_key", r.scheduling.cacheKey, undefined);
  set("service_tier", r.scheduling.tier, "default");
  if (r.prediction !== undefined) body.prediction = { type: "content", content: r.prediction };
  return body;
}
