/**
 * Which template renders a request: the model's own, or the client's `chat_template`. A client's
 * template runs in a sandboxed process (template-sandbox.ts) with time and memory limits, so a
 * template that loops or allocates without end fails its request instead of freezing the server.
 * Its tool family is detected from its source, like the model's, and its marker tokens are looked
 * up once per family. The model's own template renders on the event loop, except for long
 * conversations (more than INLINE_RENDER_ITEMS messages and tools: Jinja's interpreter spends tens
 * of microseconds on each), which go to the same sandbox.
 */
import { templateContext, templateRenderError, type ConversationTemplate, type RenderOptions } from "../../chat/template.ts";
import { TemplateSandbox, TemplateSandboxError } from "../../chat/template-sandbox.ts";
import { detectToolFamily } from "../../chat/tools/detect.ts";
import type { ChatMessage, ChatRequest } from "../../domain/chat.ts";
import { invalidRequest, ParleyError } from "../../domain/errors.ts";
import { SHUTTING_DOWN } from "./sequence-pool.ts";
import type { ModelHost } from "./model-host.ts";
import type { RequestTemplate } from "./prompt.ts";

export interface ResolvedTemplate extends RequestTemplate {
  /** Control tokens of the family's tool-call markers (see ModelHost.markerTokens). */
  readonly markerTokens: ReadonlySet<number>;
}

/** Messages plus tools a conversation may have and still render on the event loop (~10 ms). */
export const INLINE_RENDER_ITEMS = 256;

export class RequestTemplates {
  readonly #host: ModelHost;
  readonly #sandbox = new TemplateSandbox();
  readonly #markers = new Map<string, ReadonlySet<number>>();

  constructor(host: ModelHost) {
    this.#host = host;
  }

  resolve(request: ChatRequest, signal: AbortSignal): ResolvedTemplate {
    const host = this.#host;
    const source = request.prompt.chatTemplate;
    if (source === undefined) {
      const long = request.messages.length + (request.tools?.definitions.length ?? 0) > INLINE_RENDER_ITEMS;
      const template = long ? new SandboxedTemplate(host.template.source, this.#sandbox, signal, "messages") : host.template;
      return { template, family: host.toolFamily, markerTokens: host.markerTokens };
    }
    const family = detectToolFamily(source);
    let markerTokens = this.#markers.get(family.syntax.family);
    if (markerTokens === undefined) {
      markerTokens = host.vocabulary.controlTokensWithText(family.syntax.markerTokens);
      this.#markers.set(family.syntax.family, markerTokens);
    }
    return { template: new SandboxedTemplate(source, this.#sandbox, signal, "chat_template"), family, markerTokens };
  }

  close(): Promise<void> {
    return this.#sandbox.close();
  }
}

class SandboxedTemplate implements ConversationTemplate {
  readonly source: string;
  readonly #sandbox: TemplateSandbox;
  readonly #signal: AbortSignal;
  /** What its failures are blamed on: `chat_template` for a client's template, `messages` for the model's. */
  readonly #field: string;

  constructor(source: string, sandbox: TemplateSandbox, signal: AbortSignal, field: string) {
    this.source = source;
    this.#sandbox = sandbox;
    this.#signal = signal;
    this.#field = field;
  }

  async render(messages: readonly ChatMessage[], options?: RenderOptions): Promise<string> {
    try {
      return await this.#sandbox.render(this.source, templateContext(messages, options), this.#signal);
    } catch (error) {
      if (this.#sandbox.closed) throw new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: 1, cause: error });
      throw error instanceof TemplateSandboxError && error.kind !== "internal" ? sandboxError(error, this.#field) : error;
    }
  }
}

/**
 * A sandboxed render's failures name `field`. Render failures keep the `template_error` type, so
 * render-conversation.ts can still retry a template that refuses a system message; the sandbox's
 * limits do not, so a template that timed out is not run twice.
 */
function sandboxError(error: TemplateSandboxError, field: string): ParleyError {
  switch (error.kind) {
    case "render":
      return templateRenderError(error, field);
    case "syntax":
      return invalidRequest(`${field} is not a valid Jinja template: ${error.message}`, [field]);
    case "busy":
      return new ParleyError("server_busy", "Too many requests with their own chat_template or long conversations are waiting to be rendered. Retry shortly.", { retryAfter: 1 });
    default:
      return invalidRequest(`${field === "messages" ? "The conversation" : field} could not be rendered within the server's limits (${error.kind}): ${error.message}`, [field]);
  }
}
