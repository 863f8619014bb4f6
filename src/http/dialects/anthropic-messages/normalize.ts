/**
 * Validates an Anthropic Messages body once, at the edge, and turns it into the domain
 * `ChatRequest` (the conversation: content.ts). The mapping:
 *
 * - `max_tokens` (required) → maxTokens; `stop_sequences` → stop; `temperature` (0–1), `top_p`,
 *   `top_k` as they are; `metadata.user_id` → user; Parley's extensions (`seed`, `logit_bias`…)
 *   as on the chat route;
 * - `tools` (client tools: `name`, `description`, `input_schema`) → tool definitions; server
 *   tools (`web_search_…`, `bash_…`, `text_editor_…`, …) are a 400 naming them. `tool_choice`
 *   `auto` / `any` (→ required) / `tool` (→ that function) / `none`, and
 *   `disable_parallel_tool_use` → one call at most;
 * - `thinking: {type: "enabled", budget_tokens}` → the thinking budget; `disabled` → thinking off
 *   (effort `none`); `adaptive` or absent → the model's default; `output_config.effort` → the
 *   reasoning effort; `output_config.format` (`json_schema`) → a JSON constraint;
 * - a final `assistant` message is continued (Anthropic's prefill), not answered.
 *
 * Everything invalid is reported together, in one 400.
 */
import type { ChatRequest } from "../../../domain/chat.ts";
import type { FieldIssue } from "../../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../../domain/limits.ts";
import type { ReasoningRequest } from "../../../domain/reasoning.ts";
import type { ToolChoice, ToolDefinition, ToolsRequest } from "../../../domain/tools.ts";
import { toGeneration } from "../../../schemas/generation.ts";
import { toPromptControl } from "../../../schemas/prompt-control.ts";
import { extensionFields } from "../../../schemas/unsupported-fields.ts";
import { parseBody, validationError, zodIssues } from "../../../schemas/validation.ts";
import type { ParsedRequest } from "../types.ts";
import { toChatMessages } from "./content.ts";
import { countTokensRequestSchema, customTool, messagesRequestSchema, REFUSED_FIELDS, type CountTokensWire, type ToolChoiceWire } from "./request-schema.ts";

export interface ParsedMessagesRequest extends ParsedRequest {
  /** The one domain request (`requests` holds it too): Anthropic has no `n`. */
  readonly request: ChatRequest;
  /** `thinking.display: "omitted"`: thinking blocks are sent without their text. */
  readonly omitThoughts: boolean;
}

const API = "Anthropic Messages";

/** `limits`: what the request may hold (default DEFAULT_LIMITS); checked before anything costly. */
export function parseMessagesRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): ParsedMessagesRequest {
  return normalize(parseBody(messagesRequestSchema, body, limits, API), body);
}

/** The body of `/v1/messages/count_tokens`: the same fields, `max_tokens` optional. */
export function parseCountTokensRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS): ParsedMessagesRequest {
  return normalize(parseBody(countTokensRequestSchema, body, limits, API), body);
}

function normalize(wire: CountTokensWire, body: unknown): ParsedMessagesRequest {
  const issues: FieldIssue[] = [];
  for (const [field, reason] of Object.entries(REFUSED_FIELDS)) {
    if (wire[field as keyof typeof REFUSED_FIELDS] != null) issues.push({ path: [field], message: `\`${field}\` is not supported by Parley: ${reason}.`, type: "unsupported" });
  }
  const messages = toChatMessages(wire.system, wire.messages, issues);
  const tools = toTools(wire.tools ?? [], wire.tool_choice, issues);
  const reasoning = toReasoning(wire, issues);
  const format = wire.output_config?.format;
  const constraint = format == null ? undefined : { kind: "json" as const, schema: format.schema, strict: true, field: "output_config.format" };
  if (constraint !== undefined && (wire.stop_sequences ?? []).length > 0) {
    issues.push({ path: ["stop_sequences"], message: "`stop_sequences` cannot be combined with `output_config.format`: a stop sequence could cut the JSON short.", type: "conflict" });
  }
  // Anthropic's prefill: a final assistant message is continued rather than answered.
  const prefill = wire.messages.at(-1)?.role === "assistant";
  const prompt = toPromptControl({ continue_final_message: prefill, chat_template: wire.chat_template, chat_template_kwargs: wire.chat_template_kwargs }, messages, issues);
  if (issues.length > 0) throw validationError(issues);

  const request: ChatRequest = {
    ...toGeneration({
      model: wire.model,
      stop: wire.stop_sequences,
      temperature: wire.temperature,
      top_p: wire.top_p,
      top_k: wire.top_k,
      seed: wire.seed,
      logit_bias: wire.logit_bias,
      min_p: wire.min_p,
      repetition_penalty: wire.repetition_penalty,
      frequency_penalty: wire.frequency_penalty,
      presence_penalty: wire.presence_penalty,
      min_tokens: wire.min_tokens,
      keep_alive: wire.keep_alive,
      user: wire.metadata?.user_id,
    }),
    messages,
    prompt,
    maxTokens: wire.max_tokens,
    search: { kind: "sample", bestOf: 1 },
    promptLogprobs: undefined,
    logprobs: false,
    topLogprobs: 0,
    constraint,
    tools,
    reasoning,
    extensions: extensionFields(body as Record<string, unknown>),
  };
  const omitThoughts = wire.thinking !== undefined && wire.thinking.type !== "disabled" && wire.thinking.display === "omitted";
  return {
    request,
    requests: [request],
    omitThoughts,
    input: { field: "messages", value: (body as { messages: unknown }).messages },
    stream: wire.stream ?? false,
    includeUsage: false,
    metadata: undefined,
    logPrompt: false,
    store: undefined,
    safetyIdentifier: undefined,
  };
}

/** The client tools, or undefined when none; server tools and bad definitions go to `issues`. */
function toTools(wire: readonly { readonly type?: string | null | undefined }[], choiceWire: ToolChoiceWire | undefined, issues: FieldIssue[]): ToolsRequest | undefined {
  const definitions: ToolDefinition[] = [];
  const seen = new Set<string>();
  wire.forEach((tool, i) => {
    if (tool.type != null && tool.type !== "custom") {
      issues.push({
        path: ["tools", i, "type"],
        message: `Server tools such as \`${tool.type}\` are not supported by Parley: only client tools (\`name\`, \`input_schema\`) are.`,
        type: "unsupported",
      });
      return;
    }
    const parsed = customTool.safeParse(tool);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, ["tools", i]));
      return;
    }
    const { name, description, input_schema, strict } = parsed.data;
    if (seen.has(name)) issues.push({ path: ["tools", i, "name"], message: `Duplicate tool name \`${name}\`.`, type: "duplicate" });
    seen.add(name);
    definitions.push({ name, description, parameters: input_schema, strict: strict ?? false });
  });
  const choice = toChoice(choiceWire);
  if (choice.kind === "function" && definitions.length > 0 && !seen.has(choice.name)) {
    issues.push({ path: ["tool_choice", "name"], message: `\`tool_choice\` names \`${choice.name}\`, which is not among the tools.`, type: "invalid_value" });
  }
  if (definitions.length === 0) {
    if (choice.kind === "required" || choice.kind === "function") issues.push({ path: ["tool_choice"], message: `\`tool_choice\` \`${choiceWire?.type}\` needs \`tools\`.`, type: "invalid_value" });
    return undefined;
  }
  const parallel = choiceWire === undefined || choiceWire.type === "none" || choiceWire.disable_parallel_tool_use !== true;
  return { definitions, choice, parallel, legacy: false };
}

function toChoice(wire: ToolChoiceWire | undefined): ToolChoice {
  switch (wire?.type) {
    case undefined:
    case "auto":
      return { kind: "auto" };
    case "any":
      return { kind: "required" };
    case "tool":
      return { kind: "function", name: wire.name };
    case "none":
      return { kind: "none" };
    default:
      return wire satisfies never;
  }
}

/** `thinking` and `output_config.effort` → what the request asks of a reasoning model. */
function toReasoning(wire: CountTokensWire, issues: FieldIssue[]): ReasoningRequest {
  const effort = wire.output_config?.effort ?? undefined;
  const { thinking } = wire;
  if (thinking?.type === "disabled") {
    if (effort !== undefined) issues.push({ path: ["output_config", "effort"], message: '`output_config.effort` cannot be combined with `thinking: {type: "disabled"}`.', type: "conflict" });
    return { effort: "none", budget: undefined };
  }
  if (thinking?.type === "enabled") {
    // As Anthropic: the thoughts count toward max_tokens, so their budget must leave room for the answer.
    if (wire.max_tokens !== undefined && thinking.budget_tokens >= wire.max_tokens) {
      issues.push({
        path: ["thinking", "budget_tokens"],
        message: `\`thinking.budget_tokens\` (${thinking.budget_tokens}) must be less than \`max_tokens\` (${wire.max_tokens}).`,
        type: "invalid_value",
      });
    }
    return { effort, budget: thinking.budget_tokens };
  }
  return { effort, budget: undefined };
}
