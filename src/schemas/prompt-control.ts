/**
 * vLLM's prompt-control fields → the domain `PromptControl`: `add_generation_prompt`,
 * `continue_final_message`, `add_special_tokens`, `echo`, `chat_template`, `chat_template_kwargs`
 * and `documents`.
 */
import { z } from "zod";
import type { ChatMessage, PromptControl } from "../domain/chat.ts";
import type { FieldIssue } from "../domain/errors.ts";

/** Longest per-request chat template, in characters (real templates are a few KB). */
export const MAX_CHAT_TEMPLATE_CHARS = 64 * 1024;
/** Largest `chat_template_kwargs`, as JSON text. */
export const MAX_TEMPLATE_KWARGS_CHARS = 16 * 1024;
/**
 * Template variables kwargs may not set: those Parley sets from the request itself, and the Jinja
 * globals the template engine declares (redeclaring one fails every render).
 */
const RESERVED_VARIABLES = [
  "messages",
  "tools",
  "documents",
  "add_generation_prompt",
  "bos_token",
  "eos_token",
  "raise_exception",
  "strftime_now",
  "range",
  "namespace",
  "true",
  "false",
  "none",
  "True",
  "False",
  "None",
];

export const promptControlFields = z.object({
  add_generation_prompt: z.boolean().nullish(),
  continue_final_message: z.boolean().nullish(),
  add_special_tokens: z.boolean().nullish(),
  echo: z.boolean().nullish(),
  chat_template: z.string().min(1).max(MAX_CHAT_TEMPLATE_CHARS).nullish(),
  chat_template_kwargs: z
    .record(z.string(), z.unknown())
    .refine((kwargs) => JSON.stringify(kwargs).length <= MAX_TEMPLATE_KWARGS_CHARS, `chat_template_kwargs may hold at most ${MAX_TEMPLATE_KWARGS_CHARS} characters of JSON`)
    .refine((kwargs) => RESERVED_VARIABLES.every((name) => !(name in kwargs)), `chat_template_kwargs cannot set ${RESERVED_VARIABLES.join(", ")}: use the request's own fields`)
    .nullish(),
  // vLLM: documents for retrieval-augmented templates (Command R's), as the `documents` variable.
  documents: z.array(z.record(z.string(), z.string())).max(256).nullish(),
});

type PromptControlWire = z.infer<typeof promptControlFields>;

/**
 * `add_generation_prompt` defaults to true, or to false with `continue_final_message` (sending
 * both as true is a 400, as in vLLM). Continuing needs a final assistant message.
 */
export function toPromptControl(wire: PromptControlWire, messages: readonly ChatMessage[], issues: FieldIssue[]): PromptControl {
  const continueFinalMessage = wire.continue_final_message ?? false;
  if (continueFinalMessage && wire.add_generation_prompt === true) {
    issues.push({ path: ["continue_final_message"], message: "`continue_final_message` and `add_generation_prompt` cannot both be true.", type: "conflict" });
  }
  if (continueFinalMessage && messages.at(-1)?.role !== "assistant") {
    issues.push({ path: ["continue_final_message"], message: "`continue_final_message` needs the last message to have the `assistant` role.", type: "invalid_value" });
  }
  return {
    addGenerationPrompt: wire.add_generation_prompt ?? !continueFinalMessage,
    continueFinalMessage,
    addSpecialTokens: wire.add_special_tokens ?? false,
    echo: wire.echo ?? false,
    chatTemplate: wire.chat_template ?? undefined,
    chatTemplateKwargs: wire.chat_template_kwargs ?? {},
    ...(wire.documents == null ? {} : { documents: wire.documents }),
  };
}

/** OpenAI's `verbosity` (chat) or `text.verbosity` (Responses) reaches templates that read it as `verbosity` (`chat_template_kwargs` win). */
export function withVerbosity(prompt: PromptControl, verbosity: string | null | undefined): PromptControl {
  return verbosity == null ? prompt : { ...prompt, chatTemplateKwargs: { verbosity, ...prompt.chatTemplateKwargs } };
}
