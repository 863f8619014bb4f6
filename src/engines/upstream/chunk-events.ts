/**
 * An upstream's OpenAI-format answers → Parley's `ChatEvent`s: streamed chunks one at a time
 * (content with its logprobs, tool-call starts and argument fragments, finish reasons, the final
 * usage, vLLM's `prompt_logprobs`), or a whole `chat.completion` at once. Error envelopes become
 * `ParleyError`s. Nothing here does I/O.
 */
import { ParleyError, type ErrorKind } from "../../domain/errors.ts";
import type { ChatEvent, FinishReason, TokenLogprob, TopLogprob, Usage } from "../../domain/events.ts";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function malformed(detail: string): ParleyError {
  return new ParleyError("internal", `The upstream sent a malformed response: ${detail}`, { code: "upstream_malformed_response" });
}

/** The events of one streamed chunk (already JSON-parsed). An `{error}` frame throws. */
export function chunkEvents(chunk: unknown): ChatEvent[] {
  if (!isObject(chunk)) throw malformed("a stream event is not a JSON object");
  if (isObject(chunk.error)) throw errorFromEnvelope(undefined, chunk);
  const events: ChatEvent[] = [];
  if (Array.isArray(chunk.prompt_logprobs)) events.push({ type: "prompt_logprobs", entries: chunk.prompt_logprobs.map((e) => (e === null ? null : (toLogprobs([e])[0] ?? null))) });
  if (!Array.isArray(chunk.choices)) throw malformed("a stream chunk has no `choices` list");
  for (const choice of chunk.choices) {
    if (!isObject(choice) || typeof choice.index !== "number") throw malformed("a stream choice has no `index`");
    const index = choice.index;
    const delta = isObject(choice.delta) ? choice.delta : {};
    const logprobs = toLogprobs(isObject(choice.logprobs) ? asArray(choice.logprobs.content) : []);
    let logprobsUsed = false;
    const take = () => (logprobsUsed ? [] : ((logprobsUsed = true), logprobs));
    for (const call of asArray(delta.tool_calls)) {
      if (!isObject(call)) continue;
      const callIndex = typeof call.index === "number" ? call.index : 0;
      const fn = isObject(call.function) ? call.function : {};
      if (typeof call.id === "string" || typeof fn.name === "string") {
        events.push({
          type: "tool_call",
          choice: index,
          index: callIndex,
          id: typeof call.id === "string" ? call.id : `call_${index}_${callIndex}`,
          name: typeof fn.name === "string" ? fn.name : "",
          logprobs: take(),
        });
      }
      if (typeof fn.arguments === "string" && fn.arguments !== "") events.push({ type: "tool_arguments", choice: index, index: callIndex, text: fn.arguments, logprobs: take() });
    }
    const thoughts = reasoningOf(delta);
    if (thoughts !== "") events.push({ type: "reasoning", choice: index, text: thoughts, logprobs: take() });
    const text = typeof delta.content === "string" ? delta.content : "";
    if (text !== "" || (!logprobsUsed && logprobs.length > 0)) events.push({ type: "delta", choice: index, text, logprobs: take() });
    if (typeof choice.cumulative_logprob === "number") events.push(score(index, choice));
    if (typeof choice.finish_reason === "string") events.push(finish(index, choice, choice.finish_reason));
  }
  if (isObject(chunk.usage)) events.push({ type: "usage", usage: toUsage(chunk.usage) });
  return events;
}

/** The events of a non-streamed `chat.completion`, in the order a stream would carry them. */
export function completionEvents(completion: unknown): ChatEvent[] {
  if (!isObject(completion) || !Array.isArray(completion.choices)) throw malformed("the completion has no `choices` list");
  const events: ChatEvent[] = [];
  if (Array.isArray(completion.prompt_logprobs)) events.push({ type: "prompt_logprobs", entries: completion.prompt_logprobs.map((e) => (e === null ? null : (toLogprobs([e])[0] ?? null))) });
  for (const choice of completion.choices) {
    if (!isObject(choice) || typeof choice.index !== "number" || !isObject(choice.message)) throw malformed("a choice has no `index` or `message`");
    const index = choice.index;
    const message = choice.message;
    const logprobs = toLogprobs(isObject(choice.logprobs) ? asArray(choice.logprobs.content) : []);
    const thoughts = reasoningOf(message);
    if (thoughts !== "") events.push({ type: "reasoning", choice: index, text: thoughts, logprobs: [] });
    const text = typeof message.content === "string" ? message.content : "";
    if (text !== "" || logprobs.length > 0) events.push({ type: "delta", choice: index, text, logprobs });
    const calls = asArray(message.tool_calls).filter(isObject);
    if (isObject(message.function_call)) calls.push({ id: `call_${index}_0`, function: message.function_call });
    calls.forEach((call, callIndex) => {
      const fn = isObject(call.function) ? call.function : {};
      events.push({
        type: "tool_call",
        choice: index,
        index: callIndex,
        id: typeof call.id === "string" ? call.id : `call_${index}_${callIndex}`,
        name: typeof fn.name === "string" ? fn.name : "",
        logprobs: [],
      });
      if (typeof fn.arguments === "string" && fn.arguments !== "") events.push({ type: "tool_arguments", choice: index, index: callIndex, text: fn.arguments, logprobs: [] });
    });
    if (typeof choice.cumulative_logprob === "number") events.push(score(index, choice));
    events.push(finish(index, choice, typeof choice.finish_reason === "string" ? choice.finish_reason : "stop"));
  }
  events.push({ type: "usage", usage: isObject(completion.usage) ? toUsage(completion.usage) : { promptTokens: 0, completionTokens: 0, cachedTokens: 0 } });
  return events;
}

function score(index: number, choice: Json): ChatEvent {
  return { type: "score", choice: index, cumulativeLogprob: choice.cumulative_logprob as number, ...(typeof choice.beam_score === "number" ? { beamScore: choice.beam_score } : {}) };
}

/** An upstream's thoughts, under either name servers use (`reasoning_content`, or vLLM ≥ 0.11's `reasoning`). */
function reasoningOf(message: Record<string, unknown>): string {
  const text = message.reasoning_content ?? message.reasoning;
  return typeof text === "string" ? text : "";
}

/**
 * A choice's end. vLLM says which stop string ended it in `stop_reason` (a string; a token id is a
 * number, and no stop string): it becomes the event's `stopSequence`.
 */
export function finish(index: number, choice: Json, wireReason: string): ChatEvent {
  const reason = toFinishReason(wireReason);
  const stop = choice.stop_reason;
  return { type: "finish", choice: index, reason, ...(reason === "stop" && typeof stop === "string" && stop !== "" ? { stopSequence: stop } : {}) };
}

/** `function_call` (legacy) is a tool call; anything unknown (`content_filter`, `abort`) reads as a stop. */
export function toFinishReason(reason: string): FinishReason {
  if (reason === "length") return "length";
  if (reason === "tool_calls" || reason === "function_call") return "tool_calls";
  return "stop";
}

export function toUsage(u: Json): Usage {
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  const details = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const completion = isObject(u.completion_tokens_details) ? u.completion_tokens_details : {};
  const reasoning = typeof completion.reasoning_tokens === "number" ? { reasoningTokens: completion.reasoning_tokens } : {};
  // Predicted Outputs' counts, as the upstream reports them (OpenAI and another Parley).
  const accepted = typeof completion.accepted_prediction_tokens === "number" ? { acceptedPredictionTokens: completion.accepted_prediction_tokens } : {};
  const rejected = typeof completion.rejected_prediction_tokens === "number" ? { rejectedPredictionTokens: completion.rejected_prediction_tokens } : {};
  return { promptTokens: num(u.prompt_tokens), completionTokens: num(u.completion_tokens), cachedTokens: num(details.cached_tokens), ...reasoning, ...accepted, ...rejected };
}

function toTop(e: Json): TopLogprob {
  const token = typeof e.token === "string" ? e.token : "";
  return {
    token,
    logprob: typeof e.logprob === "number" ? e.logprob : -9999,
    bytes: Array.isArray(e.bytes) ? e.bytes.filter((b): b is number => typeof b === "number") : [...Buffer.from(token, "utf8")],
  };
}

export function toLogprobs(entries: readonly unknown[]): TokenLogprob[] {
  return entries.filter(isObject).map((e) => ({ ...toTop(e), topLogprobs: asArray(e.top_logprobs).filter(isObject).map(toTop) }));
}

/**
 * An OpenAI error envelope (`{error: {message, type, param, code}}`) → a `ParleyError` of the
 * matching kind. `status`: the upstream's HTTP status, when the error came as a response.
 */
export function errorFromEnvelope(status: number | undefined, body: unknown, modelId = "the model"): ParleyError {
  const error = isObject(body) && isObject(body.error) ? body.error : isObject(body) ? body : {};
  const upstreamMessage = typeof error.message === "string" && error.message !== "" ? error.message : undefined;
  const param = typeof error.param === "string" ? error.param : null;
  const code = typeof error.code === "string" ? error.code : null;
  const kind = errorKind(status, typeof error.type === "string" ? error.type : undefined, code);
  const message =
    status === 401 || status === 403
      ? `The upstream serving \`${modelId}\` rejected Parley's credentials (HTTP ${status}).`
      : (upstreamMessage ?? `The upstream serving \`${modelId}\` failed${status === undefined ? "" : ` with HTTP ${status}`}.`);
  return new ParleyError(kind, message, { param, code });
}

function errorKind(status: number | undefined, type: string | undefined, code: string | null): ErrorKind {
  if (code === "context_length_exceeded") return "context_length_exceeded";
  if (status === 401 || status === 403) return "internal"; // Parley's configuration, not the client's request
  if (status === 404 || code === "model_not_found") return code === "model_not_found" ? "model_not_found" : "not_found";
  if (status === 429 || type === "rate_limit_error") return "server_busy";
  if (status !== undefined && status >= 400 && status < 500) return "invalid_request";
  if (status === undefined && type === "invalid_request_error") return "invalid_request";
  if (status === 503) return "unavailable";
  return "internal";
}
