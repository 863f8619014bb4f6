/**
 * Renders a conversation that may involve tools with a model's chat template, in the way its tool
 * family needs: native families get `tools` and the calls as they are (ids rewritten where the
 * family's templates insist on a form; arguments as text for a template that fails on them as
 * objects); the generic family gets the conversation rewritten into
 * plain messages, and if the template refuses the added system message, the tool instructions
 * move into the first user message. A generic family's template that reads `tools` itself (e.g.
 * Command R+'s tool-use template, which fails without them) gets them as well.
 */
import type { ChatMessage } from "../../domain/chat.ts";
import type { ToolsRequest } from "../../domain/tools.ts";
import { isTemplateRenderError, type ConversationTemplate, type RenderOptions } from "../template.ts";
import type { ToolFamilyDefinition } from "./family.ts";

export async function renderConversation(
  template: ConversationTemplate,
  family: ToolFamilyDefinition,
  conversation: { readonly messages: readonly ChatMessage[]; readonly tools: ToolsRequest | undefined },
  options: Omit<RenderOptions, "tools">,
): Promise<string> {
  const offered = conversation.tools?.definitions ?? [];
  const messages = family.historyCallId === undefined ? conversation.messages : withCallIds(conversation.messages, family.historyCallId);
  const usesTools = offered.length > 0 || messages.some((m) => m.role === "tool" || (m.toolCalls?.length ?? 0) > 0);
  if (family.nativeTools || family.prepareMessages === undefined || !usesTools) {
    const native = { ...options, tools: family.nativeTools ? offered : [] };
    try {
      return await template.render(messages, native);
    } catch (error) {
      // A template that joins the arguments to text (Functionary v3.2) fails on objects: give it text.
      if (!isTemplateRenderError(error) || !messages.some((m) => (m.toolCalls?.length ?? 0) > 0)) throw error;
      try {
        return await template.render(messages, { ...native, textArguments: true });
      } catch {
        throw error; // the objects were not the problem
      }
    }
  }
  const parallel = conversation.tools?.parallel ?? true;
  const withTools = { ...options, tools: READS_TOOLS.test(template.source) ? offered : [] };
  try {
    return await template.render(family.prepareMessages(messages, offered, { parallel }), withTools);
  } catch (error) {
    // e.g. "System role not supported": carry the instructions in the first user message instead.
    if (!isTemplateRenderError(error) || offered.length === 0) throw error;
    return template.render(family.prepareMessages(messages, offered, { parallel, instructionsInUser: true }), withTools);
  }
}

/** A template that uses the `tools` variable. */
const READS_TOOLS = /\btools\b/;

/** The conversation with its call ids rewritten; a tool message's id as its call's was. */
function withCallIds(messages: readonly ChatMessage[], rewrite: NonNullable<ToolFamilyDefinition["historyCallId"]>): ChatMessage[] {
  const rewritten = new Map<string, string>();
  let index = 0;
  return messages.map((message) => {
    if (message.toolCallId !== undefined) return { ...message, toolCallId: rewritten.get(message.toolCallId) ?? rewrite(message.toolCallId, undefined) };
    if (message.toolCalls === undefined) return message;
    const toolCalls = message.toolCalls.map((call) => {
      const id = rewrite(call.id, { name: call.name, index: index++ });
      rewritten.set(call.id, id);
      return { ...call, id };
    });
    return { ...message, toolCalls };
  });
}
