/**
 * Which template renders a request: the model's own, or the client's `chat_template`. A client's
 * template runs in a worker-thread sandbox (template-sandbox.ts) with time and memory limits, so a
 * template that loops or allocates without end fails its request instead of freezing the server.
 * Its tool family is detected from its source, like the model's, and its marker tokens are looked
 * up once per family.
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
    if (source === undefined) return { template: host.template, family: host.toolFamily, markerTokens: host.markerTokens };
    const family = detectToolFamily(source);
    let markerTokens = this.#markers.get(family.syntax.family);
    if (markerTokens === undefined) {
      markerTokens = host.vocabulary.controlTokensWithText(family.syntax.markerTokens);
      this.#markers.set(family.syntax.family, markerTokens);
    }
    return { template: new SandboxedTemplate(source, this.#sandbox, signal), family, markerTokens };
  }

  close(): Promise<void> {
    return this.#sandbox.close();
  }
}

class SandboxedTemplate implements ConversationTemplate {
  readonly source: string;
  readonly #sandbox: TemplateSandbox;
  readonly #signal: AbortSignal;

  constructor(source: string, sandbox: TemplateSandbox, signal: AbortSignal) {
    this.source = source;
    this.#sandbox = sandbox;
    this.#signal = signal;
  }

  async render(messages: readonly ChatMessage[], options?: RenderOptions): Promise<string> {
    try {
      return await this.#sandbox.render(this.source, templateContext(messages, options), this.#signal);
    } catch (error) {
      if (this.#sandbox.closed) throw new ParleyError("unavailable", SHUTTING_DOWN, { retryAfter: 1, cause: error });
      throw error instanceof TemplateSandboxError && error.kind !== "internal" ? sandboxError(error) : error;
    }
  }
}

/**
 * A client template's failures name `chat_template`. Render failures keep the `template_error`
 * type, so render-conversation.ts can still retry a template that refuses a system message; the
 * sandbox's limits do not, so a template that timed out is not run twice.
 */
function sandboxError(error: TemplateSandboxError): ParleyError {
  switch (error.kind) {
    case "render":
      return templateRenderError(error, "chat_template");
    case "syntax":
      return invalidRequest(`chat_template is not a valid Jinja template: ${error.message}`, ["chat_template"]);
    case "busy":
      return new ParleyError("server_busy", "Too many requests with their own chat_template are waiting. Retry shortly.", { retryAfter: 1 });
    default:
      return invalidRequest(`chat_template could not be rendered within the server's limits (${error.kind}): ${error.message}`, ["chat_template"]);
  }
}
