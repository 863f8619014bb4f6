/**
 * Validates a chat-completions body once, at the edge, and turns it into the domain
 * `ChatRequest`: every field resolved to its documented default, content parts flattened, the
 * seed drawn when absent (the fields every dialect shares: schemas/generation.ts). Everything
 * invalid is reported together.
 */
import type { z } from "zod";
import type { ChatMessage, ChatRequest } from "../../../domain/chat.ts";
import type { FieldIssue } from "../../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../../domain/limits.ts";
import { toConstraint } from "../../../schemas/constraints.ts";
import { generationIssues, stopWithConstraintIssues, toBookkeeping, toGeneration } from "../../../schemas/generation.ts";
import { toPrediction } from "../../../schemas/prediction.ts";
import { toPromptControl, withVerbosity } from "../../../schemas/prompt-control.ts";
import { toReasoningRequest } from "../../../schemas/reasoning.ts";
import { toPromptLogprobs, toSearch } from "../../../schemas/search.ts";
import { extensionFields } from "../../../schemas/unsupported-fields.ts";
import { toToolsRequest } from "../../../schemas/tools.ts";
import { parseBody, validationError } from "../../../schemas/validation.ts";
import type { ParsedRequest } from "../types.ts";
import { chatRequestSchema, type messageSchema } from "./request-schema.ts";

export interface ParsedChatRequest extends ParsedRequest {
  /** The one domain request (`requests` holds it too). */
  readonly request: ChatRequest;
}

type WireMessage = z.infer<typeof messageSchema>;

/** `limits`: what the request may hold (default DEFAULT_LIMITS); checked before anything costly. */
export function parseChatRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): ParsedChatRequest {
  const wire = parseBody(chatRequestSchema, body, limits, "chat completions");
  const issues: FieldIssue[] = [];
  const legacyCalls = new Map<string, string>();
  const messages = wire.messages.map((m, i) => toMessage(m, i, issues, legacyCalls));
  const constraint = toConstraint(wire, issues, limits.jsonDepth);
  const tools = toToolsRequest(wire, issues);
  const prompt = withVerbosity(toPromptControl(wire, messages, issues), wire.verbosity);
  const search = toSearch(wire, issues);
  stopWithConstraintIssues(wire.stop, constraint?.field, issues);
  if (wire.top_logprobs != null && wire.top_logprobs > 0 && wire.logprobs !== true) {
    issues.push({ path: ["top_logprobs"], message: "`logprobs` must be true when `top_logprobs` is set.", type: "invalid_value" });
  }
  // llama-server's `n_predict` (-1: no limit) stands in for `max_tokens`.
  const maxTokens = wire.max_completion_tokens ?? wire.max_tokens ?? (wire.n_predict != null && wire.n_predict >= 0 ? wire.n_predict : undefined);
  generationIssues(wire, maxTokens, issues);
  if (issues.length > 0) throw validationError(issues);

  const request: ChatRequest = {
    ...toGeneration(wire),
    messages,
    prompt,
    maxTokens: maxTokens ?? undefined,
    search,
    promptLogprobs: toPromptLogprobs(wire),
    logprobs: wire.logprobs ?? false,
    topLogprobs: wire.top_logprobs ?? 0,
    constraint,
    tools,
    reasoning: toReasoningRequest(wire),
    ...toPrediction(wire),
    extensions: extensionFields(body as Record<string, unknown>),
  };
  return { request, requests: [request], input: { field: "messages", value: (body as { messages: unknown }).messages }, ...toBookkeeping(wire) };
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
