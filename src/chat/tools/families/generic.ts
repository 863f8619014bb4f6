/**
 * The fallback for chat templates with no tool format of their own (ChatML without tools, Llama 2,
 * Gemma, …). The tools and the answer format are described in a system message that Parley adds,
 * and a call is one JSON envelope, which the grammar enforces:
 *
 *     {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
 *
 * Templates that refuse a `system` role (Gemma, early Mistral) get the instructions at the start
 * of the first user message instead (prompt.ts retries with `instructionsInUser`).
 *
 * Earlier turns are rewritten for templates that know no tools: an assistant's calls become that
 * envelope as text, and tool results become a user message ("Function results:" then one
 * `[id] name: result` block per call), merged with a following user message so roles still
 * alternate.
 */
import type { ChatMessage } from "../../../domain/chat.ts";
import type { ToolCall, ToolDefinition } from "../../../domain/tools.ts";
import type { PrepareOptions, ToolFamilyDefinition } from "../family.ts";

export const GENERIC_TOOLS_INSTRUCTIONS_HEADER = "You can call functions. Each one is described below as a JSON object with its name, its description and the JSON Schema of its arguments.";

export const genericFamily: ToolFamilyDefinition = {
  syntax: {
    family: "generic",
    triggers: ['{"tool_calls"'],
    sectionOpen: '{"tool_calls": [',
    sectionClose: "]}",
    callOpen: "",
    callClose: "",
    separator: ", ",
    argumentsKey: "arguments",
    maxCalls: Infinity,
    markerTokens: [],
    alternativeTriggers: [],
  },
  detect: () => true,
  origin: "generic",
  nativeTools: false,
  prepareMessages,
};

/** The instructions Parley adds to the system message. */
export function genericToolInstructions(tools: readonly ToolDefinition[], parallel = true): string {
  const listed = tools.map((tool) => JSON.stringify({ name: tool.name, description: tool.description ?? "", parameters: tool.parameters }));
  return [
    GENERIC_TOOLS_INSTRUCTIONS_HEADER,
    ...listed,
    "",
    "To call functions, answer with only this JSON, after any text you want to say first:",
    '{"tool_calls": [{"name": "<function name>", "arguments": {<the arguments>}}]}',
    parallel ? "List several calls in the array to make them together." : "Make one call at a time.",
    'The results come back in a message that starts with "Function results:".',
  ].join("\n");
}

function prepareMessages(messages: readonly ChatMessage[], tools: readonly ToolDefinition[], options: PrepareOptions = {}): ChatMessage[] {
  const out: ChatMessage[] = [];
  const first = messages[0];
  const leadingSystem = first !== undefined && (first.role === "system" || first.role === "developer");
  const instructions = tools.length === 0 ? undefined : genericToolInstructions(tools, options.parallel ?? true);
  let pendingForUser: string | undefined;
  if (instructions !== undefined && options.instructionsInUser === true) {
    pendingForUser = instructions;
    if (leadingSystem) out.push(first);
  } else if (instructions !== undefined) {
    out.push(leadingSystem ? { ...first, content: `${first.content}\n\n${instructions}` } : { role: "system", content: instructions });
  } else if (leadingSystem) {
    out.push(first);
  }

  const names = new Map<string, string>();
  let results: string[] = [];
  const flushResults = (): void => {
    if (results.length > 0) out.push({ role: "user", content: `Function results:\n${results.join("\n")}` });
    results = [];
  };
  for (const message of leadingSystem ? messages.slice(1) : messages) {
    if (message.role === "tool") {
      const id = message.toolCallId ?? "";
      const name = message.name ?? names.get(id) ?? "";
      results.push(`[${id}] ${name}: ${message.content}`);
      continue;
    }
    if (message.role === "user" && (results.length > 0 || pendingForUser !== undefined)) {
      const parts = [pendingForUser, results.length > 0 ? `Function results:\n${results.join("\n")}` : undefined, message.content];
      out.push({ ...message, content: parts.filter((p) => p !== undefined).join("\n\n") });
      results = [];
      pendingForUser = undefined;
      continue;
    }
    flushResults();
    if (message.role === "assistant" && message.toolCalls !== undefined && message.toolCalls.length > 0) {
      for (const call of message.toolCalls) names.set(call.id, call.name);
      const envelope = envelopeText(message.toolCalls);
      const { toolCalls: _calls, ...rest } = message;
      out.push({ ...rest, content: message.content === "" ? envelope : `${message.content}\n${envelope}` });
      continue;
    }
    out.push(message);
  }
  flushResults();
  return out;
}

/** The envelope for earlier calls, arguments inserted as written when they are JSON. */
function envelopeText(calls: readonly ToolCall[]): string {
  const items = calls.map((call) => {
    let args = call.arguments.trim();
    try {
      JSON.parse(args);
    } catch {
      args = JSON.stringify(call.arguments);
    }
    return `{"name": ${JSON.stringify(call.name)}, "arguments": ${args === "" ? "{}" : args}}`;
  });
  return `{"tool_calls": [${items.join(", ")}]}`;
}
