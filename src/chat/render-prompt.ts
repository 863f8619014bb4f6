/**
 * The prompt text of a request: the conversation rendered by its template (tools included, see
 * render-conversation.ts), with vLLM's prompt controls applied. `variables`: what the request
 * implies for the template (e.g. `enable_thinking`), which `chat_template_kwargs` override.
 *
 * `continue_final_message`: the final assistant message is rendered with a unique placeholder for
 * its content, everything the template writes after the placeholder (the end-of-turn markers) is
 * cut, and the placeholder becomes the content again. This works for any template, whatever it
 * does to content (trimming, wrapping), and keeps the content exactly as sent.
 */
import { randomBytes } from "node:crypto";
import type { ChatRequest } from "../domain/chat.ts";
import { invalidRequest } from "../domain/errors.ts";
import type { ConversationTemplate, RenderOptions } from "./template.ts";
import type { ToolFamilyDefinition } from "./tools/family.ts";
import { renderConversation } from "./tools/render-conversation.ts";

export interface PromptTokens {
  /** Text of the BOS and EOS tokens, for templates' `bos_token` / `eos_token` ("" when absent). */
  readonly bosToken: string;
  readonly eosToken: string;
}

export async function renderPrompt(
  template: ConversationTemplate,
  family: ToolFamilyDefinition,
  request: Pick<ChatRequest, "messages" | "tools" | "prompt">,
  tokens: PromptTokens,
  variables: Readonly<Record<string, unknown>> = {},
): Promise<string> {
  const options = templateOptions(request, tokens, variables);
  const { continueFinalMessage } = request.prompt;
  const final = request.messages.at(-1);
  if (!continueFinalMessage || final === undefined) return renderConversation(template, family, request, options);

  const placeholder = `\u0001parley-continue-${randomBytes(8).toString("hex")}\u0001`;
  const messages = [...request.messages.slice(0, -1), { ...final, content: placeholder }];
  const rendered = await renderConversation(template, family, { messages, tools: request.tools }, options);
  const at = rendered.lastIndexOf(placeholder);
  if (at === -1) {
    throw invalidRequest("`continue_final_message`: the chat template does not write the final message's content, so it cannot be continued.", ["continue_final_message"]);
  }
  return rendered.slice(0, at) + final.content;
}

/** A request's render options: its tokens and generation prompt, `variables` under its `documents` and kwargs. */
export function templateOptions(request: Pick<ChatRequest, "prompt">, tokens: PromptTokens, variables: Readonly<Record<string, unknown>> = {}): Omit<RenderOptions, "tools"> {
  const { addGenerationPrompt, chatTemplateKwargs, documents } = request.prompt;
  const requestVariables = documents === undefined ? variables : { ...variables, documents };
  return { ...tokens, addGenerationPrompt, variables: { ...requestVariables, ...chatTemplateKwargs } };
}
