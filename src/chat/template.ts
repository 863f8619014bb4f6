/**
 * Chat-template rendering with the model's own Jinja template (`tokenizer.chat_template`), the way
 * Hugging Face's `apply_chat_template` does it, with Parley's Jinja2-compatible engine (./jinja/).
 */
import { JinjaTemplate } from "./jinja/index.ts";
import type { ChatMessage } from "../domain/chat.ts";
import { ParleyError } from "../domain/errors.ts";
import type { ToolDefinition } from "../domain/tools.ts";

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
  /**
   * Tools to show the model, passed as `tools` in OpenAI's shape (`{type: "function", function:
   * {name, description, parameters}}`), as Hugging Face does; `none` when absent.
   */
  readonly tools?: readonly ToolDefinition[];
  /** Today's date for templates that print it (`date_string`, e.g. "22 Nov 2026"; default: now). */
  readonly date?: Date;
  /** Extra variables for the template. */
  readonly variables?: Readonly<Record<string, unknown>>;
  /**
   * Earlier calls' arguments as the client's JSON text instead of an object, for templates that
   * join them to text (`'>>>' + name + '\n' + arguments`, Functionary v3.2) (default false).
   */
  readonly textArguments?: boolean;
}

/** Anything that renders a conversation: the model's template, or a client's one in a sandbox. */
export interface ConversationTemplate {
  /** The Jinja source (tool families are detected from it). */
  readonly source: string;
  render(messages: readonly ChatMessage[], options?: RenderOptions): string | Promise<string>;
}

export class ChatTemplate implements ConversationTemplate {
  readonly source: string;
  readonly #template: JinjaTemplate;

  /** Parses the template once; throws if it is not valid Jinja. */
  constructor(source: string) {
    this.source = source;
    this.#template = new JinjaTemplate(source);
  }

  /**
   * Renders the conversation. Template errors (including `raise_exception(...)` calls, which real
   * templates use to reject e.g. non-alternating roles) become a 400 naming `messages`.
   */
  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    try {
      return this.#template.render(templateContext(messages, options));
    } catch (error) {
      throw templateRenderError(error);
    }
  }
}

/** The variables a chat template sees, as Hugging Face's `apply_chat_template` passes them. */
export function templateContext(messages: readonly ChatMessage[], options: RenderOptions = {}): Record<string, unknown> {
  return {
    // Llama 3.1-style templates read these two; the values are those templates' own defaults,
    // except that the date is today's rather than a date fixed in the template.
    tools_in_user_message: true,
    date_string: formatDate(options.date ?? new Date()),
    ...options.variables,
    messages: toTemplateMessages(messages, options.textArguments ?? false),
    tools: options.tools === undefined || options.tools.length === 0 ? null : options.tools.map(toTemplateTool),
    add_generation_prompt: options.addGenerationPrompt ?? true,
    bos_token: options.bosToken ?? "",
    eos_token: options.eosToken ?? "",
  };
}

/**
 * A template that failed on these messages (e.g. `raise_exception(...)`): a 400 naming `field` —
 * `messages` for the model's own template, `chat_template` for a client's.
 */
export function templateRenderError(error: unknown, field = "messages"): ParleyError {
  const detail = error instanceof Error ? error.message : String(error);
  return new ParleyError("invalid_request", `The chat template could not render these messages: ${detail}`, {
    param: field,
    issues: [{ path: [field], message: detail, type: TEMPLATE_ERROR }],
    cause: error,
  });
}

/** The issue type of a template's own render failure (not a limit or a syntax error). */
export const TEMPLATE_ERROR = "template_error";

export function isTemplateRenderError(error: unknown): boolean {
  return error instanceof ParleyError && error.issues[0]?.type === TEMPLATE_ERROR;
}

/**
 * The message shapes templates expect (Hugging Face's): `developer` becomes `system`, since it is
 * OpenAI's newer name for the same role and model templates only know `system`; assistant calls
 * become `tool_calls: [{id, type, function: {name, arguments}}]` with the arguments as an object
 * when they are valid JSON (templates apply `tojson` to them), or as the client's text with
 * `textArguments`; a `tool` message also gets the
 * `name` of the function it answers when an earlier call with its id says it; an assistant's
 * thoughts go in `reasoning_content` and `thinking`.
 */
function toTemplateMessages(messages: readonly ChatMessage[], textArguments: boolean): Record<string, unknown>[] {
  const callNames = new Map<string, string>();
  return messages.map((message) => {
    const out: Record<string, unknown> = {
      role: message.role === "developer" ? "system" : message.role,
      content: message.content,
    };
    // Earlier thoughts under the names templates read: `reasoning_content` (Qwen3, GLM, Kimi,
    // MiniMax…) and `thinking` (gpt-oss). The template decides whether to keep them.
    if (message.reasoning !== undefined) {
      out.reasoning_content = message.reasoning;
      out.thinking = message.reasoning;
    }
    if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
      out.tool_calls = message.toolCalls.map((call) => {
        callNames.set(call.id, call.name);
        return { id: call.id, type: "function", function: { name: call.name, arguments: textArguments ? call.arguments : parseArguments(call.arguments) } };
      });
    }
    const name = message.name ?? (message.toolCallId === undefined ? undefined : callNames.get(message.toolCallId));
    if (name !== undefined) out.name = name;
    if (message.toolCallId !== undefined) out.tool_call_id = message.toolCallId;
    return out;
  });
}

function parseArguments(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : text;
  } catch {
    return text;
  }
}

/**
 * A tool in OpenAI's shape. A tool sent without a description gets an empty one: templates such
 * as Hermes 3's and Functionary's print it unguarded and would fail on these requests (in Python
 * Jinja2 too), while OpenAI accepts them.
 */
function toTemplateTool(tool: ToolDefinition): Record<string, unknown> {
  const fn: Record<string, unknown> = { name: tool.name, description: tool.description ?? "" };
  fn.parameters = tool.parameters;
  return { type: "function", function: fn };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `%d %b %Y`, as Llama 3.1's template writes its date. */
function formatDate(date: Date): string {
  return `${String(date.getDate()).padStart(2, "0")} ${MONTHS[date.getMonth()] ?? ""} ${date.getFullYear()}`;
}
