/**
 * The one capability check: once a request's engine is known (`router.resolve`), refuse what the
 * engine cannot do (its `capabilities`, domain/capabilities.ts) with a 400 naming the client's
 * field, before the engine is asked for anything. The edge has already checked what the API
 * allows; this checks what the chosen engine delivers, so a field one engine lacks can still reach
 * an engine that has it. Every refusal is reported together, as the edge does.
 */
import type { BeamCompanion, EngineCapabilities } from "../domain/capabilities.ts";
import type { ChatRequest } from "../domain/chat.ts";
import { EFFORT_BUDGETS } from "../domain/reasoning.ts";
import { formatParam, ParleyError, type FieldIssue } from "../domain/errors.ts";
import { requestFields } from "../domain/request-fields.ts";
import type { ChatEngine } from "../engines/types.ts";

/** Throws a 400 (`invalid_request`, type `unsupported`) for everything in `request` that `engine` cannot do. */
export function checkCapabilities(request: ChatRequest, engine: Pick<ChatEngine, "capabilities">): void {
  const issues = capabilityIssues(request, engine.capabilities);
  if (issues.length === 0) return;
  const first = issues[0];
  const message = issues.map((i) => `${formatParam(i.path)}: ${i.message}`).join("; ");
  throw new ParleyError("invalid_request", message, { param: first === undefined ? null : formatParam(first.path), issues });
}

/** Each field of `request` that `caps` cannot honour, with why. */
export function capabilityIssues(request: ChatRequest, caps: EngineCapabilities): FieldIssue[] {
  // A model that does not generate (an embedding model) is refused as a whole, naming its kind.
  if (caps.generates === false) {
    const kind = caps.embeddings ? "an embedding model (kind `embedding`): it answers `/v1/embeddings` only" : "not a model that generates text";
    return [{ path: ["model"], message: `The model \`${request.model}\` is ${kind}, and generates no text.`, type: "unsupported" }];
  }
  const issues: FieldIssue[] = [];
  const lacks = (field: string, what: string) =>
    issues.push({ path: [field], message: `\`${field}\` cannot be honoured for model \`${request.model}\`: ${caps.servedBy} ${what}.`, type: "unsupported" });

  if (request.text !== undefined && !caps.textPrompts) lacks("prompt", "does not take text prompts");
  if (request.text?.suffix !== undefined && request.text.suffix !== "" && caps.textPrompts && !caps.fillInTheMiddle) {
    lacks("suffix", "cannot fill in the middle (the model has no fill-in-the-middle tokens)");
  }
  const constraint = request.constraint;
  if (constraint !== undefined && !caps.constraints.has(constraint.kind)) lacks(constraint.field, `does not enforce ${CONSTRAINT_NAMES[constraint.kind]}`);
  const tools = request.tools !== undefined && request.tools.definitions.length > 0;
  if (tools && !caps.tools) lacks("tools", "does not take tools");
  if (request.logprobs && caps.logprobs === false) lacks("logprobs", "does not return log-probabilities");
  else if (request.logprobs && caps.logprobs !== false && request.topLogprobs > caps.logprobs.maxTop) {
    lacks("top_logprobs", `returns at most ${caps.logprobs.maxTop} alternatives per token`);
  }
  // A text completion's `echo` with `logprobs` asks for the prompt's log-probabilities without
  // naming them: an engine serving text prompts returns them with the echo (upstreams: in the
  // legacy logprobs of their own echo; a dialect that cannot echo refuses `echo` by name).
  const echoed = request.text !== undefined && request.prompt.echo && request.logprobs && caps.textPrompts;
  if (request.promptLogprobs !== undefined && !caps.promptLogprobs && !echoed) lacks("prompt_logprobs", "does not return the prompt's log-probabilities");
  if (request.search.kind === "sample" && request.search.bestOf > request.n && !caps.bestOf) lacks("best_of", "does not sample more choices than it returns");
  if (request.search.kind === "beam") {
    if (caps.beamSearch === false) lacks("use_beam_search", "has no beam search");
    else {
      const combinesWith = caps.beamSearch.combinesWith;
      for (const [field, companion] of beamCompanions(request)) {
        if (!combinesWith.has(companion))
          issues.push({ path: [field], message: `\`${field}\` cannot be combined with \`use_beam_search\` (${caps.servedBy} ranks beams by the model's log-probabilities alone).`, type: "conflict" });
      }
    }
  }
  if (request.adapter !== undefined && !caps.adapters) lacks("peft", "does not apply LoRA adapters");
  if (!caps.reasoningControl) {
    if (request.reasoning.effort !== undefined) lacks("reasoning_effort", "does not steer reasoning");
    if (request.reasoning.budget !== undefined) lacks("thinking_token_budget", "does not steer reasoning");
  }
  if (request.scheduling.keepAlive !== undefined && caps.keepAlive !== true) lacks("keep_alive", KEEP_ALIVE_REFUSAL);
  for (const field of Object.keys(request.extensions ?? {})) {
    if (!caps.extensions.has(field as never)) lacks(field, "does not read this field (it belongs to another server's API)");
  }
  if (caps.refusedFields.size > 0) {
    for (const field of setFields(request)) if (caps.refusedFields.has(field)) lacks(field, "is configured not to take it");
  }
  return issues;
}

const KEEP_ALIVE_REFUSAL = "does not load or unload the model (Parley does so only for its own local models)";

const CONSTRAINT_NAMES: Readonly<Record<NonNullable<ChatRequest["constraint"]>["kind"], string>> = {
  json: "JSON Schema constraints",
  regex: "regular-expression constraints",
  choice: "choice constraints",
  grammar: "grammar constraints",
};

/** The beam-search companions a request uses, each with the client's field that asked for it. */
function beamCompanions(r: ChatRequest): [string, BeamCompanion][] {
  const s = r.sampling;
  const out: [string, BeamCompanion][] = [];
  if (r.stop.length > 0) out.push(["stop", "stop"]);
  if (r.logprobs) out.push(["logprobs", "logprobs"]);
  if (s.topP !== 1) out.push(["top_p", "sampling"]);
  if (s.topK !== 0) out.push(["top_k", "sampling"]);
  if (s.minP !== 0) out.push(["min_p", "sampling"]);
  if (s.frequencyPenalty !== 0) out.push(["frequency_penalty", "sampling"]);
  if (s.presencePenalty !== 0) out.push(["presence_penalty", "sampling"]);
  if (s.repetitionPenalty !== 1) out.push(["repetition_penalty", "sampling"]);
  if (r.minTokens !== 0) out.push(["min_tokens", "min_tokens"]);
  if (r.reasoning.budget !== undefined) out.push(["thinking_token_budget", "reasoning_budget"]);
  else if (r.reasoning.effort !== undefined && EFFORT_BUDGETS[r.reasoning.effort] !== undefined) out.push(["reasoning_effort", "reasoning_budget"]);
  if (r.constraint !== undefined) out.push([r.constraint.field, "constraints"]);
  if (r.tools !== undefined && r.tools.definitions.length > 0) out.push(["tools", "tools"]);
  return out;
}

/** The client's fields the request sets (non-default), constraint, tools and extensions included. */
function setFields(r: ChatRequest): string[] {
  const fields = Object.keys(requestFields(r));
  if (r.constraint !== undefined) fields.push(r.constraint.field);
  if (r.tools !== undefined && r.tools.definitions.length > 0) fields.push("tools", "tool_choice");
  fields.push(...Object.keys(r.extensions ?? {}));
  return fields;
}

/**
 * The 400s of `/v1/embeddings` for what `caps` cannot do: a chat model (it has no embeddings), or
 * `keep_alive` for an engine that does not load models.
 */
export function checkEmbeddingCapabilities(request: { readonly model: string; readonly keepAlive?: number }, caps: EngineCapabilities): void {
  if (!caps.embeddings) {
    throw new ParleyError(
      "invalid_request",
      `The model \`${request.model}\` is a chat model (kind \`chat\`): it generates text, and has no embeddings. \`/v1/embeddings\` needs an embedding model (a GGUF that declares pooling or an encoder architecture, or \`kind: embedding\` in the config file).`,
      { param: "model", code: "model_not_supported" },
    );
  }
  if (request.keepAlive !== undefined && caps.keepAlive !== true) {
    throw new ParleyError("invalid_request", `\`keep_alive\` cannot be honoured for model \`${request.model}\`: ${caps.servedBy} ${KEEP_ALIVE_REFUSAL}.`, {
      param: "keep_alive",
    });
  }
}
