/**
 * Which template renders a request: the model's own (its `tool_use` template when the request has
 * tools and the model has one), or the client's `chat_template`. A client's
 * template runs in a sandboxed process (template-sandbox.ts) with time and memory limits, so a
 * template that loops or allocates without end fails its request instead of freezing the server.
 * Its tool family and reasoning format are detected from its source, like the model's, and the
 * marker tokens of both are looked up once per family and format. The model's own template renders on the event loop, except for long
 * conversations (more than INLINE_RENDER_ITEMS messages and tools: Jinja's interpreter spends tens
 * of microseconds on each), which go to the same sandbox.
 */
import { templateContext, templateRenderError, type ConversationTemplate, type RenderOptions } from "../../chat/template.ts";
import { TemplateSandbox, TemplateSandboxError } from "../../chat/template-sandbox.ts";
import { detectReasoningFormat, reasoningMarkers } from "../../chat/reasoning/detect.ts";
import { detectToolFamily } from "../../chat/tools/detect.ts";
import type { ToolFamilyDefinition } from "../../chat/tools/family.ts";
import { genericFamily } from "../../chat/tools/families/generic.ts";
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import { planReasoning, type ReasoningPlan } from "../../chat/reasoning/plan.ts";
import type { ChatMessage, ChatRequest } from "../../domain/chat.ts";
import { invalidRequest, ParleyError } from "../../domain/errors.ts";
import { SHUTTING_DOWN } from "../../config/defaults.ts";
import type { ModelHost } from "./model-host.ts";
import { isSingleToken } from "./model-templates.ts";
import type { RequestTemplate } from "./prompt.ts";

export interface ResolvedTemplate extends RequestTemplate {
  /** Control tokens of the family's tool-call markers, whose text the tool-call parser must see. */
  readonly markerTokens: ReadonlySet<number>;
  /**
   * The request's reasoning on this template: its format (undefined: the model does not reason),
   * whether it thinks, its budget; its variables are in `variables`.
   */
  readonly reasoning: ReasoningPlan;
  /** Control tokens of the reasoning markers, whose text the reasoning splitter must see. */
  readonly reasoningTokens: ReadonlySet<number>;
  /** Thoughts go to `reasoning_content` (false with `--reasoning-format none`: they stay in `content`, markers and all). */
  readonly splitThoughts: boolean;
}

export interface RequestTemplatesOptions {
  /**
   * `none`: thoughts stay in `content` (`--reasoning-format`; default `auto`). They are still
   * recognised, so effort, budgets and constraints after thinking work as with `auto`.
   */
  readonly reasoningFormat?: "auto" | "none";
  /** Thinking budget when a request sets none: -1 none, 0 thinking off unless asked for (`--reasoning-budget`; default -1). */
  readonly reasoningBudget?: number;
}

/** Messages plus tools a conversation may have and still render on the event loop (~10 ms). */
export const INLINE_RENDER_ITEMS = 256;

export class RequestTemplates {
  readonly #host: ModelHost;
  readonly #sandbox = new TemplateSandbox();
  readonly #markers = new Map<string, ReadonlySet<number>>();
  readonly #reasoningOff: boolean;
  readonly #reasoningBudget: number;

  constructor(host: ModelHost, options: RequestTemplatesOptions = {}) {
    this.#host = host;
    this.#reasoningOff = options.reasoningFormat === "none";
    this.#reasoningBudget = options.reasoningBudget ?? -1;
  }

  resolve(request: ChatRequest, signal: AbortSignal): ResolvedTemplate {
    const host = this.#host;
    // A text prompt renders nothing: no tool calls to read, no thoughts to split.
    if (request.text !== undefined) return this.#withMarkers(request, host.templates.default.template, genericFamily, undefined);
    const source = request.prompt.chatTemplate;
    if (source === undefined) {
      const { templates } = host;
      const chosen = (request.tools?.definitions.length ?? 0) > 0 ? (templates.toolUse ?? templates.default) : templates.default;
      const long = request.messages.length + (request.tools?.definitions.length ?? 0) > INLINE_RENDER_ITEMS;
      const template = long ? new SandboxedTemplate(chosen.template.source, this.#sandbox, signal, "messages") : chosen.template;
      return this.#withMarkers(request, template, chosen.toolFamily, chosen.reasoning);
    }
    const template = new SandboxedTemplate(source, this.#sandbox, signal, "chat_template");
    return this.#withMarkers(request, template, detectToolFamily(source), detectReasoningFormat(source, isSingleToken(host.model)));
  }

  #withMarkers(request: ChatRequest, template: ConversationTemplate, family: ToolFamilyDefinition, format: ReasoningFormat | undefined): ResolvedTemplate {
    const reasoning = planReasoning(format, request, { budget: this.#reasoningBudget });
    return {
      template,
      family,
      variables: reasoning.variables,
      markerTokens: this.#controlTokens(`tools:${family.syntax.family}`, family.syntax.markerTokens),
      reasoning,
      reasoningTokens: format === undefined ? new Set() : this.#controlTokens(`reasoning:${JSON.stringify(format)}`, reasoningMarkers(format)),
      splitThoughts: !this.#reasoningOff,
    };
  }

  /** Control tokens with these texts, looked up once per key. */
  #controlTokens(key: string, texts: readonly string[]): ReadonlySet<number> {
    let tokens = this.#markers.get(key);
    if (tokens === undefined) {
      tokens = this.#host.vocabulary.controlTokensWithText(texts);
      this.#markers.set(key, tokens);
    }
    return tokens;
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
