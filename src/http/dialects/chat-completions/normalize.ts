/**
 * Validates a chat-completions body once, at the edge, and turns it into the domain
 * `ChatRequest`: every field resolved to its documented default, content parts flattened, the
 * seed drawn when absent. Everything invalid is reported together.
 */
import { randomInt } from "node:crypto";
import type { z } from "zod";
import type { ChatMessage, ChatRequest, PromptControl, Scheduling } from "../domain/chat.ts";
import { formatParam, ParleyError, type FieldIssue } from "../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../domain/limits.ts";
import { chatRequestSchema, type messageSchema } from "./chat-request.ts";
import { toConstraint } from "./constraints.ts";
import { shapeIssues, sizeIssues } from "./request-limits.ts";
import { toPromptControl } from "./prompt-control.ts";
import { toReasoningRequest } from "./reasoning.ts";
import { toPromptLogprobs, toSearch } from "./search.ts";
import { toToolsRequest } from "./tools.ts";
import { unknownFieldIssues, unsupportedFieldIssues } from "./unsupported-fields.ts";

export interface ParsedChatRequest {
  readonly request: ChatRequest;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** OpenAI `metadata` tags: recorded in the request log, nothing else. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** OctoAI `log_prompt`: this request's text goes into the request log. */
  readonly logPrompt: boolean;
  /** OpenAI `store` and `safety_identifier`: recorded in the request log, nothing else (Parley keeps no completions). */
  readonly store: boolean | undefined;
  readonly safetyIdentifier: string | undefined;
}

type WireMessage = z.infer<typeof messageSchema>;

/** The fields the chat schema defines. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(chatRequestSchema.shape));

/** `limits`: what the request may hold (default DEFAULT_LIMITS); checked before anything costly. */
export function parseChatRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): ParsedChatRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationError([{ path: [], message: "The request body must be a JSON object.", type: "invalid_type" }]);
  }
  const shape = shapeIssues(body as Record<string, unknown>, limits);
  if (shape.length > 0) throw validationError(shape);
  const parsed = chatRequestSchema.safeParse(body);
  const issues: FieldIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({
        path: issue.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
        message: issue.message,
        type: issue.code,
      }));
  issues.push(...unsupportedFieldIssues(body as Record<string, unknown>), ...unknownFieldIssues(body as Record<string, unknown>, KNOWN_FIELDS));
  if (!parsed.success || issues.length > 0) throw validationError(issues);
  const wire = parsed.data;
  const sizes = sizeIssues(wire, limits);
  if (sizes.length > 0) throw validationError(sizes);

  const legacyCalls = new Map<string, string>();
  const messages = wire.messages.map((m, i) => toMessage(m, i, issues, legacyCalls));
  const constraint = toConstraint(wire, issues, limits.jsonDepth);
  const tools = toToolsRequest(wire, issues);
  const prompt = withVerbosity(toPromptControl(wire, messages, issues), wire.verbosity);
  const constrainedBy = constraint?.field ?? (tools !== undefined && tools.definitions.length > 0 ? "tools" : undefined);
  const search = toSearch(wire, constrainedBy, issues);
  if (constraint !== undefined && wire.stop != null && wire.stop.length > 0) {
    // A stop string would cut the structure short and break the validity guarantee.
    issues.push({ path: ["stop"], message: `\`stop\` cannot be combined with an output constraint (\`${constraint.field}\`): it could cut the structure short.`, type: "conflict" });
  }
  if (wire.stream_options != null && wire.stream !== true) {
    issues.push({ path: ["stream_options"], message: "`stream_options` is only allowed when `stream` is true.", type: "invalid_value" });
  }
  if (wire.top_logprobs != null && wire.top_logprobs > 0 && wire.logprobs !== true) {
    issues.push({ path: ["top_logprobs"], message: "`logprobs` must be true when `top_logprobs` is set.", type: "invalid_value" });
  }
  // llama-server's `n_predict` (-1: no limit) stands in for `max_tokens`.
  const maxTokens = wire.max_completion_tokens ?? wire.max_tokens ?? (wire.n_predict != null && wire.n_predict >= 0 ? wire.n_predict : undefined);
  if (wire.min_tokens != null && maxTokens != null && wire.min_tokens > maxTokens) {
    issues.push({ path: ["min_tokens"], message: `\`min_tokens\` (${wire.min_tokens}) cannot exceed \`max_tokens\` (${maxTokens}).`, type: "invalid_value" });
  }
  if (issues.length > 0) throw validationError(issues);

  const seed = wire.seed ?? null;
  const request: ChatRequest = {
    model: wire.model,
    messages,
    prompt,
    maxTokens: maxTokens ?? undefined,
    n: wire.n ?? 1,
    search,
    promptLogprobs: toPromptLogprobs(wire),
    stop: typeof wire.stop === "string" ? [wire.stop] : (wire.stop ?? []).filter((s) => s !== ""),
    includeStopString: wire.include_stop_str_in_output ?? false,
    stopTokenIds: new Set(wire.stop_token_ids ?? []),
    ignoreEos: wire.ignore_eos ?? false,
    skipSpecialTokens: wire.skip_special_tokens ?? true,
    spacesBetweenSpecialTokens: wire.spaces_between_special_tokens ?? true,
    minTokens: wire.min_tokens ?? 0,
    sampling: {
      // As vLLM: a temperature this close to 0 is greedy (dividing logits by it would overflow).
      temperature: (wire.temperature ?? 1) < GREEDY_BELOW ? 0 : (wire.temperature ?? 1),
      topP: wire.top_p ?? 1,
      topK: Math.max(0, wire.top_k ?? 0),
      minP: wire.min_p ?? 0,
      repetitionPenalty: wire.repetition_penalty ?? 1,
      seed: seed === null ? randomInt(0, 2 ** 32) : toUint32(seed),
      seedFromClient: seed !== null,
      frequencyPenalty: wire.frequency_penalty ?? 0,
      presencePenalty: wire.presence_penalty ?? 0,
      logitBias: new Map(Object.entries(wire.logit_bias ?? {}).map(([k, v]) => [Number(k), v])),
    },
    logprobs: wire.logprobs ?? false,
    topLogprobs: wire.top_logprobs ?? 0,
    user: wire.user ?? wire.safety_identifier ?? undefined,
    scheduling: { tier: tierOf(wire.service_tier), cacheKey: wire.prompt_cache_key ?? undefined },
    constraint,
    whitespacePattern: wire.guided_whitespace_pattern ?? undefined,
    tools,
    adapter: wire.peft ?? undefined,
    reasoning: toReasoningRequest(wire),
  };
  return {
    request,
    stream: wire.stream ?? false,
    includeUsage: wire.stream_options?.include_usage ?? false,
    metadata: wire.metadata ?? undefined,
    logPrompt: wire.log_prompt ?? false,
    store: wire.store ?? undefined,
    safetyIdentifier: wire.safety_identifier ?? undefined,
  };
}

/** OpenAI's `verbosity` reaches templates that read it as `verbosity` (`chat_template_kwargs` win). */
function withVerbosity(prompt: PromptControl, verbosity: string | null | undefined): PromptControl {
  return verbosity == null ? prompt : { ...prompt, chatTemplateKwargs: { verbosity, ...prompt.chatTemplateKwargs } };
}

/** OpenAI's tiers as Parley's queue sees them: `scale` and `auto` are the default. */
function tierOf(tier: string | null | undefined): Scheduling["tier"] {
  return tier === "priority" || tier === "flex" ? tier : "default";
}

/**
 * One wire message → domain message. Legacy `function_call`s get an id (`call_fc_<message index>`)
 * and a later `role: "function"` message becomes a `tool` message answering the latest call of
 * that name (`legacyCalls`: function name → id), so templates see one shape.
 */
function toMessage(message: WireMessage, index: number, issues: FieldIssue[], legacyCalls: Map<string, string>): ChatMessage {
  const path = ["messages", index];
  switch (message.role) {
    case "function":
      return { role: "tool", content: message.content ?? "", name: message.name, toolCallId: legacyCalls.get(message.name) ?? `call_fc_${message.name}` };
    case "assistant": {
      if (message.audio != null) issues.push({ path: [...path, "audio"], message: "Audio is not supported.", type: "unsupported" });
      const calls = (message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
      if (message.function_call != null) {
        const id = `call_fc_${index}`;
        legacyCalls.set(message.function_call.name, id);
        calls.push({ id, name: message.function_call.name, arguments: message.function_call.arguments });
      }
      const reasoning = message.reasoning_content ?? message.reasoning ?? undefined;
      const out: ChatMessage = {
        role: "assistant",
        content: flatten(message.content ?? "", path, issues),
        ...(calls.length > 0 ? { toolCalls: calls } : {}),
        ...(reasoning === undefined ? {} : { reasoning }),
      };
      return withName(out, message.name);
    }
    case "tool":
      return { role: "tool", content: flatten(message.content, path, issues), toolCallId: message.tool_call_id };
    case "system":
    case "developer":
    case "user":
      return withName({ role: message.role, content: flatten(message.content, path, issues) }, message.name);
    default:
      return message satisfies never;
  }
}

function withName(message: ChatMessage, name: string | null | undefined): ChatMessage {
  return name == null ? message : { ...message, name };
}

/**
 * Joins text parts with "\n", as vLLM and llama.cpp do; any other part (image, audio, file) is an
 * issue naming it.
 */
function flatten(content: string | readonly { type: string; text?: unknown }[], path: (string | number)[], issues: FieldIssue[]): string {
  if (typeof content === "string") return content;
  const texts: string[] = [];
  content.forEach((part, i) => {
    if (part.type === "text" && typeof part.text === "string") texts.push(part.text);
    else if (part.type === "text") issues.push({ path: [...path, "content", i, "text"], message: "A text part needs a string `text`.", type: "invalid_type" });
    else issues.push({ path: [...path, "content", i, "type"], message: `Content parts of type \`${part.type}\` are not supported: this is a text-only model.`, type: "unsupported" });
  });
  return texts.join("\n");
}

/** Any integer seed (OpenAI allows 64-bit, negative too) mapped onto the sampler's uint32. */
function toUint32(seed: number): number {
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

/** Temperatures below this are greedy. */
const GREEDY_BELOW = 1e-5;

/** Issues named in an error's message; the rest are counted ("and K more"). `detail` lists them all (capped in http/errors.ts). */
const ISSUES_IN_MESSAGE = 10;

export function validationError(issues: readonly FieldIssue[]): ParleyError {
  const first = issues[0];
  const param = first === undefined ? null : formatParam(first.path) || null;
  const named = issues.slice(0, ISSUES_IN_MESSAGE).map((i) => (i.path.length > 0 ? `${formatParam(i.path)}: ${i.message}` : i.message));
  if (issues.length > ISSUES_IN_MESSAGE) named.push(`and ${issues.length - ISSUES_IN_MESSAGE} more`);
  return new ParleyError("invalid_request", named.join("; ") || "Invalid request.", { param, issues });
}
