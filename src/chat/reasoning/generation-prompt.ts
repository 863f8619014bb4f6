/**
 * Whether a request's output starts inside a think block: the final assistant message it
 * continues leaves one open, or the template's generation prompt opens one (DeepSeek-R1's ends
 * with `<think>\n`). The generation prompt is found by rendering a one-message conversation with
 * and without it, under the request's variables (templates open the block only when thinking is
 * on): deciding on that text alone means a `<think>` in the conversation itself, such as a user
 * asking about the tag, does not count. Results are kept per template and variables.
 */
import type { ChatRequest } from "../../domain/chat.ts";
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import { templateOptions, type PromptTokens } from "../render-prompt.ts";
import type { ConversationTemplate } from "../template.ts";
import { opensThoughts } from "./splitter.ts";

type TagsFormat = Extract<ReasoningFormat, { kind: "tags" }>;

/** Distinct templates × variables remembered (the oldest is forgotten first). */
const CACHE_SIZE = 64;
const cache = new Map<string, boolean>();

export async function startsInThoughts(
  template: ConversationTemplate,
  format: TagsFormat,
  request: Pick<ChatRequest, "messages" | "prompt">,
  tokens: PromptTokens,
  variables: Readonly<Record<string, unknown>> = {},
): Promise<boolean> {
  const final = request.messages.at(-1);
  if (request.prompt.continueFinalMessage && final !== undefined) return opensThoughts(format, final.content);
  if (!request.prompt.addGenerationPrompt) return false;
  const options = templateOptions(request, tokens, variables);
  const key = `${template.source}\u0000${JSON.stringify(options)}`;
  let opens = cache.get(key);
  if (opens === undefined) {
    opens = opensThoughts(format, await generationPrompt(template, options));
    cache.set(key, opens);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  return opens;
}

/** What `add_generation_prompt` adds to a one-message conversation ("" when the template fails on it). */
async function generationPrompt(template: ConversationTemplate, options: ReturnType<typeof templateOptions>): Promise<string> {
  const messages = [{ role: "user" as const, content: "Hello." }];
  try {
    const without = await template.render(messages, { ...options, addGenerationPrompt: false });
    const withPrompt = await template.render(messages, { ...options, addGenerationPrompt: true });
    return withPrompt.startsWith(without) ? withPrompt.slice(without.length) : "";
  } catch {
    return "";
  }
}
