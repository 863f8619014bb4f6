/**
 * Validates a Responses API body once, at the edge, and turns it into the domain `ChatRequest`
 * (`instructions` as a system message first, then the input items: input-items.ts), with the
 * settings the `Response` object echoes back and the fields the state part acts on
 * (`store`, `previous_response_id`, `background`), as parsed values. Everything invalid is
 * reported together, in one 400.
 */
import type { FunctionTool, ResponseFormatTextConfig, ResponseTextConfig, Tool } from "openai/resources/responses/responses";
import type { Reasoning } from "openai/resources/shared";
import type { ChatMessage, ChatRequest } from "../../../domain/chat.ts";
import type { FieldIssue } from "../../../domain/errors.ts";
import { DEFAULT_LIMITS, type RequestLimits } from "../../../domain/limits.ts";
import { toConstraint } from "../../../schemas/constraints.ts";
import { generationIssues, stopWithConstraintIssues, toBookkeeping, toGeneration } from "../../../schemas/generation.ts";
import { toPromptControl, withVerbosity } from "../../../schemas/prompt-control.ts";
import { extensionFields } from "../../../schemas/unsupported-fields.ts";
import { toToolsRequest } from "../../../schemas/tools.ts";
import { parseBody, validationError } from "../../../schemas/validation.ts";
import type { ParsedRequest } from "../types.ts";
import { inputItemsToMessages, type InputItemsOptions } from "./input-items.ts";
import { INCLUDABLE, responsesRequestSchema, type ResponsesRequestWire } from "./request-schema.ts";

/** What the `Response` object echoes of the request, resolved to the values that applied. */
export interface ResponseSettings {
  readonly instructions: string | null;
  readonly tools: Tool[];
  readonly toolChoice: NonNullable<ResponsesRequestWire["tool_choice"]>;
  readonly parallelToolCalls: boolean;
  readonly temperature: number;
  readonly topP: number;
  readonly text: ResponseTextConfig;
  readonly reasoning: Reasoning;
  readonly maxOutputTokens: number | null;
  readonly topLogprobs: number;
  readonly truncation: "auto" | "disabled";
  readonly user: string | undefined;
  readonly safetyIdentifier: string | null;
  readonly promptCacheKey: string | null;
  readonly serviceTier: "auto" | "default" | "flex" | "scale" | "priority";
}

export interface ParsedResponsesRequest extends ParsedRequest {
  /** The one domain request (`requests` holds it too). */
  readonly request: ChatRequest;
  /** `input` as sent: a string, or the items (wire JSON). */
  readonly rawInput: string | readonly unknown[];
  /** `instructions`, if any (already the first message of `request`). */
  readonly instructions: string | undefined;
  /** `store` (default true, as OpenAI). */
  readonly store: boolean;
  readonly previousResponseId: string | undefined;
  /** `background` (default false). */
  readonly background: boolean;
  /** `truncation: "auto"`: drop the oldest items until the prompt fits (truncation.ts). */
  readonly truncation: "auto" | "disabled";
  /** Summaries asked for (`reasoning.summary`): reasoning items carry the thoughts as `summary` too. */
  readonly reasoningSummary: boolean;
  /** Log-probabilities of the output text asked for (`include`, `top_logprobs`). */
  readonly outputLogprobs: boolean;
  readonly settings: ResponseSettings;
}

/**
 * `limits`: what the request may hold (default DEFAULT_LIMITS). `items`: how `item_reference`s
 * resolve (default: refused).
 */
export function parseResponsesRequest(body: unknown, limits: RequestLimits = DEFAULT_LIMITS, items: InputItemsOptions = {}): ParsedResponsesRequest {
  const wire = parseBody(responsesRequestSchema, body, limits, "responses");
  const issues: FieldIssue[] = [];
  const rawInput = typeof wire.input === "string" ? wire.input : (body as { input: readonly unknown[] }).input;
  if (typeof rawInput !== "string" && rawInput.length > limits.messages) {
    issues.push({ path: ["input"], message: `${rawInput.length} input items, more than the ${limits.messages} allowed (limit messages).`, type: "too_big" });
  }
  const conversation = typeof rawInput === "string" ? [{ role: "user", content: rawInput } satisfies ChatMessage] : inputItemsToMessages(rawInput, issues, items);
  const messages: ChatMessage[] = wire.instructions == null ? conversation : [{ role: "system", content: wire.instructions }, ...conversation];
  if (messages.length === 0) issues.push({ path: ["input"], message: "The input holds no item: there is nothing to answer.", type: "too_small" });
  inputSizeIssues(wire, rawInput, limits, issues);

  const tools = functionTools(wire, issues);
  const format = wire.text?.format;
  const constraint = toConstraint(
    { ...wire, response_format: format?.type === "json_schema" ? { type: "json_schema", json_schema: { name: format.name, schema: format.schema, strict: format.strict ?? false } } : format },
    issues,
    limits.jsonDepth,
  );
  const field = constraint?.field === "response_format" ? { ...constraint, field: "text.format" } : constraint;
  const toolsRequest = toToolsRequest(
    {
      tools: tools.map((t) => ({ type: "function" as const, function: { name: t.name, description: t.description ?? null, parameters: t.parameters, strict: t.strict } })),
      tool_choice: toolChoice(wire, issues),
      parallel_tool_calls: wire.parallel_tool_calls,
    },
    issues,
  );
  stopWithConstraintIssues(wire.stop, field?.field, issues);
  const unknownIncludes = (wire.include ?? []).filter((i) => !(INCLUDABLE as readonly string[]).includes(i));
  for (const include of unknownIncludes) {
    issues.push({
      path: ["include"],
      message: `\`include\` asks for \`${include}\`, which Parley cannot give (it can include: ${INCLUDABLE.map((i) => `\`${i}\``).join(", ")}).`,
      type: "unsupported",
    });
  }
  const prompt = withVerbosity(toPromptControl(wire, messages, issues), wire.text?.verbosity);
  const generationWire = { ...wire, stream_options: undefined };
  generationIssues(generationWire, wire.max_output_tokens, issues);
  if (issues.length > 0) throw validationError(issues.map(toolPath));

  const outputLogprobs = (wire.include ?? []).includes("message.output_text.logprobs") || (wire.top_logprobs ?? 0) > 0;
  const effort = wire.reasoning?.effort ?? undefined;
  const request: ChatRequest = {
    ...toGeneration(generationWire),
    messages,
    prompt,
    maxTokens: wire.max_output_tokens ?? undefined,
    search: { kind: "sample", bestOf: 1 },
    promptLogprobs: undefined,
    logprobs: outputLogprobs,
    topLogprobs: wire.top_logprobs ?? 0,
    constraint: field,
    tools: toolsRequest,
    reasoning: { effort, budget: wire.thinking_token_budget ?? undefined },
    extensions: extensionFields(body as Record<string, unknown>),
  };
  const summary = wire.reasoning?.summary ?? wire.reasoning?.generate_summary ?? null;
  return {
    request,
    requests: [request],
    input: { field: "input", value: (body as { input: unknown }).input },
    ...toBookkeeping(generationWire),
    store: wire.store ?? true,
    rawInput,
    instructions: wire.instructions ?? undefined,
    previousResponseId: wire.previous_response_id ?? undefined,
    background: wire.background ?? false,
    truncation: wire.truncation ?? "disabled",
    reasoningSummary: summary !== null,
    outputLogprobs,
    settings: {
      instructions: wire.instructions ?? null,
      tools,
      toolChoice: wire.tool_choice ?? "auto",
      parallelToolCalls: wire.parallel_tool_calls ?? true,
      temperature: wire.temperature ?? 1,
      topP: wire.top_p ?? 1,
      text: { format: echoFormat(format), verbosity: wire.text?.verbosity ?? "medium" },
      reasoning: { effort: effort ?? null, summary },
      maxOutputTokens: wire.max_output_tokens ?? null,
      topLogprobs: wire.top_logprobs ?? 0,
      truncation: wire.truncation ?? "disabled",
      user: wire.user ?? undefined,
      safetyIdentifier: wire.safety_identifier ?? null,
      promptCacheKey: wire.prompt_cache_key ?? null,
      serviceTier: wire.service_tier ?? "auto",
    },
  };
}

/** `text.format` as the `Response` echoes it (default `text`). */
function echoFormat(format: NonNullable<ResponsesRequestWire["text"]>["format"]): ResponseFormatTextConfig {
  if (format == null || format.type !== "json_schema") return format ?? { type: "text" };
  const { name, schema, description, strict } = format;
  return { type: "json_schema", name, schema, strict: strict ?? false, ...(description == null ? {} : { description }) };
}

/** Built-in (hosted) tool types: named in the 400, since a client may not know Parley has none. */
function functionTools(wire: ResponsesRequestWire, issues: FieldIssue[]): FunctionTool[] {
  const tools: FunctionTool[] = [];
  (wire.tools ?? []).forEach((tool, i) => {
    if (tool.type !== "function" || !("name" in tool) || typeof tool.name !== "string") {
      const message =
        tool.type === "function"
          ? "A function tool needs a `name`."
          : `Tools of type \`${tool.type}\` are built into OpenAI's platform and not supported by Parley: only \`function\` tools (which your code runs) are.`;
      issues.push({ path: ["tools", i, "type"], message, type: "unsupported" });
      return;
    }
    const fn = tool as { name: string; description?: string | null; parameters?: Record<string, unknown> | null; strict?: boolean | null };
    // As OpenAI's Responses API: function tools are strict unless they say otherwise.
    tools.push({ type: "function", name: fn.name, description: fn.description ?? null, parameters: fn.parameters ?? null, strict: fn.strict ?? true });
  });
  return tools;
}

/** The chat field's shape of `tool_choice`; hosted and other kinds are refused, naming them. */
function toolChoice(wire: ResponsesRequestWire, issues: FieldIssue[]): "none" | "auto" | "required" | { type: "function"; function: { name: string } } | undefined {
  const choice = wire.tool_choice;
  if (choice == null || typeof choice === "string") return choice ?? undefined;
  if (choice.type === "function" && typeof choice.name === "string") return { type: "function", function: { name: choice.name } };
  issues.push({
    path: ["tool_choice", "type"],
    message: `\`tool_choice\` of type \`${choice.type}\` is not supported by Parley: use \`none\`, \`auto\`, \`required\` or \`{"type": "function", "name"}\`.`,
    type: "unsupported",
  });
  return undefined;
}

/** Issues of the shared tool checks name chat's `tools[i].function.x`; here the fields sit on the tool. */
function toolPath(issue: FieldIssue): FieldIssue {
  if (issue.path[0] !== "tools" || issue.path[2] !== "function") return issue;
  return { ...issue, path: [...issue.path.slice(0, 2), ...issue.path.slice(3)] };
}

/** The input's characters (with the tools' definitions and the instructions) within `inputChars`; the format's schema within `jsonFieldChars`. */
function inputSizeIssues(wire: ResponsesRequestWire, input: string | readonly unknown[], limits: RequestLimits, issues: FieldIssue[]): void {
  const chars = (typeof input === "string" ? input.length : JSON.stringify(input).length) + (wire.instructions?.length ?? 0);
  if (chars > limits.inputChars) {
    issues.push({ path: ["input"], message: `${chars} characters with the instructions, more than the ${limits.inputChars} allowed (limit inputChars).`, type: "too_big" });
  }
  const format = wire.text?.format;
  if (format?.type === "json_schema") {
    const size = JSON.stringify(format.schema).length;
    if (size > limits.jsonFieldChars) {
      issues.push({ path: ["text", "format", "schema"], message: `${size} characters of JSON, more than the ${limits.jsonFieldChars} allowed (limit jsonFieldChars).`, type: "too_big" });
    }
  }
}
