/**
 * Responses API input items (wire JSON, the `openai` package's `ResponseInputItem` shapes) → the
 * domain conversation (`ChatMessage[]`). Exported for the state part too (src/responses-store),
 * which replays stored items through the same function.
 *
 * Each item is validated here, on its own, so that every issue names its item (`input[3].content`):
 * - `message` (role `user`, `system`, `developer`, `assistant`; `type` may be left out), its
 *   content a string or parts: `input_text`, and `output_text`/`refusal` as assistant messages
 *   echo them back; image, file and audio parts are refused (text-only models);
 * - `reasoning` (thoughts: the `reasoning_text` content, else the summaries), `function_call`,
 *   `function_call_output` (a string, or `input_text` parts);
 * - `item_reference`: refused here. With a store, the state part replaces references by their
 *   stored items before the body gets here (responses-store/item-references.ts), so one left
 *   here means the server keeps no responses.
 *
 * One assistant turn of the Responses API is several items (thoughts, message, calls); they are
 * folded into one assistant message, as the chat template expects: a reasoning item opens a
 * turn, a message or call joins the assistant turn just before it unless that turn already has
 * text (for a message) — any other item closes it.
 */
import { z } from "zod";
import type { ChatMessage } from "../../../domain/chat.ts";
import type { FieldIssue } from "../../../domain/errors.ts";
import type { ToolCall } from "../../../domain/tools.ts";
import { zodIssues } from "../../../schemas/validation.ts";

const textPart = z.object({ type: z.enum(["input_text", "output_text"]), text: z.string() });
const refusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });
const anyPart = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(z.union([textPart, refusalPart, anyPart]))]);

const messageItem = z.object({
  type: z.literal("message").nullish(),
  role: z.enum(["user", "system", "developer", "assistant"]),
  content,
  id: z.string().nullish(),
  status: z.string().nullish(),
  phase: z.string().nullish(),
});
const functionCallItem = z.object({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
  status: z.string().nullish(),
});
const functionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.union([textPart, anyPart]))]),
  id: z.string().nullish(),
  status: z.string().nullish(),
});
const reasoningItem = z.object({
  type: z.literal("reasoning"),
  id: z.string().nullish(),
  summary: z.array(z.object({ type: z.literal("summary_text"), text: z.string() })).nullish(),
  content: z.array(z.object({ type: z.literal("reasoning_text"), text: z.string() })).nullish(),
  encrypted_content: z.null("encrypted reasoning is not supported by Parley: send the thoughts as `content` or `summary`").nullish(),
  status: z.string().nullish(),
});
const itemReference = z.object({ type: z.literal("item_reference"), id: z.string().min(1) });

/** Item types Parley reads; any other is refused, naming it. */
const ITEM_SCHEMAS = {
  message: messageItem,
  function_call: functionCallItem,
  function_call_output: functionCallOutputItem,
  reasoning: reasoningItem,
  item_reference: itemReference,
} as const;

export interface InputItemsOptions {
  /** The field the items came from, for issue paths (default `["input"]`). */
  readonly path?: readonly (string | number)[];
}

/**
 * The conversation the items say. Problems are added to `issues` (each naming its item); the
 * messages returned are then incomplete and must not be used.
 */
export function inputItemsToMessages(items: readonly unknown[], issues: FieldIssue[], options: InputItemsOptions = {}): ChatMessage[] {
  const builder = new ConversationBuilder();
  const base = options.path ?? ["input"];
  items.forEach((item, index) => readItem(item, [...base, index], builder, issues));
  return builder.messages();
}

function readItem(item: unknown, path: (string | number)[], builder: ConversationBuilder, issues: FieldIssue[]): void {
  const type = typeof item === "object" && item !== null && "type" in item && item.type != null ? String(item.type) : "message";
  const schema = ITEM_SCHEMAS[type as keyof typeof ITEM_SCHEMAS] as z.ZodType | undefined;
  if (schema === undefined) {
    issues.push({ path: [...path, "type"], message: `Input items of type \`${type}\` are not supported by Parley (it runs function tools only).`, type: "unsupported" });
    return;
  }
  const parsed = schema.safeParse(item);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, path));
    return;
  }
  const value = parsed.data as z.infer<(typeof ITEM_SCHEMAS)[keyof typeof ITEM_SCHEMAS]>;
  switch (value.type) {
    case "function_call":
      builder.call({ id: value.call_id, name: value.name, arguments: value.arguments });
      return;
    case "function_call_output":
      builder.push({ role: "tool", content: joinText(value.output, [...path, "output"], issues), toolCallId: value.call_id });
      return;
    case "reasoning": {
      const thoughts = (value.content ?? []).map((c) => c.text);
      builder.reasoning((thoughts.length > 0 ? thoughts : (value.summary ?? []).map((s) => s.text)).join("\n"));
      return;
    }
    case "item_reference":
      issues.push({ path: [...path, "id"], message: `Item with id '${value.id}' not found: this server keeps no responses (\`--responses-store off\`): send the item itself.`, type: "not_found" });
      return;
    default: {
      const message = value as z.infer<typeof messageItem>;
      const text = joinText(message.content, [...path, "content"], issues);
      if (message.role === "assistant") builder.assistantText(text);
      else builder.push({ role: message.role, content: text });
    }
  }
}

/** Text parts joined with "\n" (as chat does); image, file and audio parts are refused. */
function joinText(value: string | readonly { type: string; text?: unknown; refusal?: unknown }[], path: (string | number)[], issues: FieldIssue[]): string {
  if (typeof value === "string") return value;
  const texts: string[] = [];
  value.forEach((part, i) => {
    if ((part.type === "input_text" || part.type === "output_text") && typeof part.text === "string") texts.push(part.text);
    else if (part.type === "refusal" && typeof part.refusal === "string") texts.push(part.refusal);
    else issues.push({ path: [...path, i, "type"], message: `Content parts of type \`${part.type}\` are not supported: this is a text-only model.`, type: "unsupported" });
  });
  return texts.join("\n");
}

/** Folds items into messages, one assistant message per assistant turn (see the file's header). */
class ConversationBuilder {
  readonly #messages: ChatMessage[] = [];
  /** The assistant turn items still join, if any. */
  #turn: { content: string; reasoning: string | undefined; calls: ToolCall[] } | undefined;

  push(message: ChatMessage): void {
    this.#close();
    this.#messages.push(message);
  }

  reasoning(text: string): void {
    this.#close();
    this.#turn = { content: "", reasoning: text, calls: [] };
  }

  assistantText(text: string): void {
    if (this.#turn !== undefined && (this.#turn.content !== "" || this.#turn.calls.length > 0)) this.#close();
    this.#turn ??= { content: "", reasoning: undefined, calls: [] };
    this.#turn.content = text;
  }

  call(call: ToolCall): void {
    this.#turn ??= { content: "", reasoning: undefined, calls: [] };
    this.#turn.calls.push(call);
  }

  messages(): ChatMessage[] {
    this.#close();
    return this.#messages;
  }

  #close(): void {
    const turn = this.#turn;
    if (turn === undefined) return;
    this.#turn = undefined;
    this.#messages.push({
      role: "assistant",
      content: turn.content,
      ...(turn.calls.length > 0 ? { toolCalls: turn.calls } : {}),
      ...(turn.reasoning === undefined ? {} : { reasoning: turn.reasoning }),
    });
  }
}
