/**
 * Chat-template rendering with the model's own Jinja template (`tokenizer.chat_template`), the way
 * Hugging Face's `apply_chat_template` does it, via `@huggingface/jinja`.
 */
import { Template } from "@huggingface/jinja";
import type { ChatMessage } from "../domain/chat.ts";
import { ParleyError } from "../domain/errors.ts";

/**
 * The template used when a GGUF carries none and no `--chat-template-file` is given: ChatML
 * (`<|im_start|>role\ncontent<|im_end|>\n`), the most widely understood layout.
 */
export const DEFAULT_CHAT_TEMPLATE = [
  "{%- for message in messages -%}",
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
].join("\n");

export interface RenderOptions {
  /** Text of the BOS token, exposed to the template as `bos_token` (default ""). */
  readonly bosToken?: string;
  /** Text of the EOS token, exposed as `eos_token` (default ""). */
  readonly eosToken?: string;
  /** Append the assistant turn opener (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Extra variables for the template. */
  readonly variables?: Readonly<Record<string, unknown>>;
}

export class ChatTemplate {
  readonly source: string;
  readonly #template: Template;

  /** Parses the template once; throws if it is not valid Jinja. */
  constructor(source: string) {
    this.source = source;
    this.#template = new Template(source);
  }

  /**
   * Renders the conversation. Template errors (including `raise_exception(...)` calls, which real
   * templates use to reject e.g. non-alternating roles) become a 400 naming `messages`.
   */
  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    try {
      return this.#template.render({
        ...options.variables,
        messages: messages.map(toTemplateMessage),
        add_generation_prompt: options.addGenerationPrompt ?? true,
        bos_token: options.bosToken ?? "",
        eos_token: options.eosToken ?? "",
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new ParleyError("invalid_request", `The chat template could not render these messages: ${detail}`, {
        param: "messages",
        issues: [{ path: ["messages"], message: detail, type: "template_error" }],
        cause: error,
      });
    }
  }
}

/**
 * The message shape templates expect. `developer` is rendered as `system`: it is OpenAI's newer
 * name for the same role, and model templates only know `system`.
 */
function toTemplateMessage(message: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    role: message.role === "developer" ? "system" : message.role,
    content: message.content,
  };
  if (message.name !== undefined) out.name = message.name;
  if (message.toolCallId !== undefined) out.tool_call_id = message.toolCallId;
  return out;
}
