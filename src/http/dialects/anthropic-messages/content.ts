/**
 * Anthropic's conversation (`system` and `messages` with content blocks) → the domain's
 * `ChatMessage`s, block by block, every problem reported with its exact path:
 *
 * - `text` blocks of one turn are joined with "\n" (as the chat dialect joins text parts);
 * - an assistant's `thinking` blocks become its `reasoning` (the template shows them where it
 *   shows thoughts); `redacted_thinking` is dropped (its data is another server's encryption);
 * - `tool_use` blocks become the assistant's tool calls (`input` serialised as JSON arguments);
 * - `tool_result` blocks become `tool` messages answering their call, in place; their content is a
 *   string or text blocks, and `is_error: true` is said in the text itself (`Error: …`), since
 *   chat templates have no field for it;
 * - every other block (`image`, `document`, `search_result`, server-tool blocks…) is a 400 naming
 *   it: Parley's models read text only.
 */
import { z } from "zod";
import type { ChatMessage } from "../../../domain/chat.ts";
import type { FieldIssue } from "../../../domain/errors.ts";
import type { ToolCall } from "../../../domain/tools.ts";
import type { MessageWire } from "./request-schema.ts";
import { zodIssues } from "../../../schemas/validation.ts";

type Path = (string | number)[];
type Block = { readonly type: string } & Readonly<Record<string, unknown>>;

const textBlock = z.object({ type: z.literal("text"), text: z.string() });
const thinkingBlock = z.object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() });
const toolUseBlock = z.object({ type: z.literal("tool_use"), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()) });
const toolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
  is_error: z.boolean().optional(),
});

/** What a tool result says when it reports a failure (`is_error: true`). */
export const TOOL_ERROR_PREFIX = "Error: ";

/** The conversation as domain messages; `system` first when given. Problems go to `issues`. */
export function toChatMessages(system: string | readonly { text: string }[] | undefined, messages: readonly MessageWire[], issues: FieldIssue[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  const systemText = typeof system === "string" ? system : (system ?? []).map((b) => b.text).join("\n");
  if (systemText !== "") out.push({ role: "system", content: systemText });
  const callNames = new Map<string, string>();
  messages.forEach((message, i) => {
    const path: Path = ["messages", i, "content"];
    if (typeof message.content === "string") {
      out.push({ role: message.role, content: message.content });
      return;
    }
    const blocks = message.content as readonly Block[];
    if (message.role === "assistant") out.push(assistantMessage(blocks, path, issues, callNames));
    else out.push(...userMessages(message.role, blocks, path, issues, callNames));
  });
  return out;
}

function assistantMessage(blocks: readonly Block[], path: Path, issues: FieldIssue[], callNames: Map<string, string>): ChatMessage {
  const texts: string[] = [];
  const thoughts: string[] = [];
  const calls: ToolCall[] = [];
  blocks.forEach((block, j) => {
    const at = [...path, j];
    switch (block.type) {
      case "text": {
        const text = parse(textBlock, block, at, issues);
        if (text !== undefined) texts.push(text.text);
        return;
      }
      case "thinking": {
        const thought = parse(thinkingBlock, block, at, issues);
        if (thought !== undefined) thoughts.push(thought.thinking);
        return;
      }
      case "redacted_thinking":
        return; // another server's encrypted thoughts: nothing a local template can show
      case "tool_use": {
        const call = parse(toolUseBlock, block, at, issues);
        if (call === undefined) return;
        callNames.set(call.id, call.name);
        calls.push({ id: call.id, name: call.name, arguments: JSON.stringify(call.input) });
        return;
      }
      default:
        issues.push(unsupportedBlock(block.type, at, "assistant"));
    }
  });
  return {
    role: "assistant",
    content: texts.join("\n"),
    ...(calls.length > 0 ? { toolCalls: calls } : {}),
    ...(thoughts.length > 0 ? { reasoning: thoughts.join("\n") } : {}),
  };
}

/** A user (or system) turn: consecutive text blocks make one message, each tool result its own, in order. */
function userMessages(role: "user" | "system", blocks: readonly Block[], path: Path, issues: FieldIssue[], callNames: ReadonlyMap<string, string>): ChatMessage[] {
  const out: ChatMessage[] = [];
  let texts: string[] = [];
  const flush = () => {
    if (texts.length > 0) out.push({ role, content: texts.join("\n") });
    texts = [];
  };
  blocks.forEach((block, j) => {
    const at = [...path, j];
    if (block.type === "text") {
      const text = parse(textBlock, block, at, issues);
      if (text !== undefined) texts.push(text.text);
    } else if (block.type === "tool_result" && role === "user") {
      const result = parse(toolResultBlock, block, at, issues);
      if (result === undefined) return;
      flush();
      const text = resultText(result.content, [...at, "content"], issues);
      const name = callNames.get(result.tool_use_id);
      out.push({
        role: "tool",
        content: result.is_error === true ? `${TOOL_ERROR_PREFIX}${text}` : text,
        toolCallId: result.tool_use_id,
        ...(name === undefined ? {} : { name }),
      });
    } else {
      issues.push(unsupportedBlock(block.type, at, role));
    }
  });
  flush();
  // An empty list of blocks is still a turn.
  if (blocks.length === 0) out.push({ role, content: "" });
  return out;
}

function resultText(content: string | readonly { type: string }[] | undefined, path: Path, issues: FieldIssue[]): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  const texts: string[] = [];
  content.forEach((block, k) => {
    if (block.type !== "text") return void issues.push(unsupportedBlock(block.type, [...path, k], "tool_result"));
    const text = parse(textBlock, block, [...path, k], issues);
    if (text !== undefined) texts.push(text.text);
  });
  return texts.join("\n");
}

function unsupportedBlock(type: string, path: Path, where: string): FieldIssue {
  const why =
    type === "image" || type === "document" || type === "search_result"
      ? "Parley's models read text only"
      : `it is not a block Parley reads in ${where === "tool_result" ? "a tool result" : `an \`${where}\` message`}`;
  return { path: [...path, "type"], message: `Content blocks of type \`${type}\` are not supported: ${why}.`, type: "unsupported" };
}

function parse<T>(schema: z.ZodType<T>, block: Block, path: Path, issues: FieldIssue[]): T | undefined {
  const result = schema.safeParse(block);
  if (result.success) return result.data;
  issues.push(...zodIssues(result.error, path));
  return undefined;
}
