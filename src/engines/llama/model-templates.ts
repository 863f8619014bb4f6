/**
 * A model's chat templates, as its GGUF carries them: the default one (`tokenizer.chat_template`)
 * and named ones (`tokenizer.chat_template.<name>`, e.g. Hermes 3's and Command R's `tool_use`),
 * each with its tool family (hand-written, derived from the template, or generic; see
 * resolve-family.ts) and the reasoning format detected from it. As Hugging Face does, a request
 * with tools renders with the `tool_use` template when there is one, any other with the default.
 */
import { ChatTemplate, DEFAULT_CHAT_TEMPLATE } from "../../chat/template.ts";
import { deriveReasoningFormat } from "../../chat/reasoning/derive.ts";
import { detectReasoningFormat } from "../../chat/reasoning/detect.ts";
import type { ProbeRender } from "../../chat/tools/derive.ts";
import { resolveToolFamily } from "../../chat/tools/resolve-family.ts";
import type { ToolFamilyDefinition } from "../../chat/tools/family.ts";
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import type { Logger } from "../../util/logger.ts";
import type { ModelFormats, ModelReasoningFormat } from "../types.ts";
import type { LlamaModel } from "node-llama-cpp";

/** A template with what was detected from it. */
export interface ModelTemplate {
  readonly template: ChatTemplate;
  /** How this template's model writes tool calls. */
  readonly toolFamily: ToolFamilyDefinition;
  /** Why that family (a hand-written one's markers, a derived format, or why derivation failed). */
  readonly toolFamilyReason: string;
  /** How it writes its thoughts (undefined: it does not reason). */
  readonly reasoning: ReasoningFormat | undefined;
  /** Whether `reasoning` is a known format named in the template, or derived from its rendering of thoughts. */
  readonly reasoningSource: "known" | "derived" | undefined;
}

export interface ModelTemplates {
  readonly default: ModelTemplate;
  /** The GGUF's `tool_use` template, for requests with tools. */
  readonly toolUse: ModelTemplate | undefined;
  /** Where the default template came from, for logs. */
  readonly source: "override" | "gguf" | "default";
}

export interface ModelTemplatesOptions {
  /** `--chat-template-file`'s source: replaces every template of the GGUF. */
  readonly override: string | undefined;
  /** The GGUF's `tokenizer.*` metadata (node-llama-cpp keeps `chat_template.<name>` keys flat). */
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  /** Whether `text` is one token of the vocabulary (for reasoning markers). */
  readonly isToken: (text: string) => boolean;
  readonly logger: Logger;
}

/**
 * The override if given (a broken one is the user's error: start-up fails), else the GGUF's own
 * templates, else ChatML. A GGUF template that cannot be parsed falls back to ChatML (the default)
 * or is left out (a named one), with a warning, rather than making the model unusable.
 */
export function loadModelTemplates(options: ModelTemplatesOptions): ModelTemplates {
  const detected = (template: ChatTemplate): ModelTemplate => {
    const probe: ProbeRender = (messages, tools) => template.render(messages, { tools, addGenerationPrompt: false });
    const tools = resolveToolFamily(template.source, probe);
    const known = detectReasoningFormat(template.source, options.isToken);
    const derived = known === undefined ? deriveReasoningFormat((messages) => template.render(messages, { addGenerationPrompt: false })) : undefined;
    const reasoningSource = known !== undefined ? "known" : derived !== undefined ? "derived" : undefined;
    return { template, toolFamily: tools.family, toolFamilyReason: tools.reason, reasoning: known ?? derived, reasoningSource };
  };
  if (options.override !== undefined) return { default: detected(new ChatTemplate(options.override)), toolUse: undefined, source: "override" };
  const parse = (key: string): ChatTemplate | undefined => {
    const source = options.metadata?.[key];
    if (typeof source !== "string" || source === "") return undefined;
    try {
      return new ChatTemplate(source);
    } catch (error) {
      options.logger.warn({ err: error, key: `tokenizer.${key}` }, "a chat template of the model could not be parsed and is not used");
      return undefined;
    }
  };
  const fromGguf = parse("chat_template");
  const toolUse = parse("chat_template.tool_use");
  return {
    default: detected(fromGguf ?? new ChatTemplate(DEFAULT_CHAT_TEMPLATE)),
    toolUse: toolUse === undefined ? undefined : detected(toolUse),
    source: fromGguf === undefined ? "default" : "gguf",
  };
}

/** `isToken` for a model: whether a text is one token of its vocabulary (special tokens parsed). */
export function isSingleToken(model: LlamaModel): (text: string) => boolean {
  return (text) => model.tokenize(text, true).length === 1;
}

/**
 * The formats report of a model's templates, for the start-up log and `/v1/models` alike. Tool
 * calls: the family of the template requests with tools render with (`tool_use` when the GGUF has
 * one); reasoning: the default template's.
 */
export function modelFormats(templates: ModelTemplates): ModelFormats {
  const { toolFamily: family, toolFamilyReason: reason } = templates.toolUse ?? templates.default;
  return {
    toolCalls: { format: family.syntax.family, source: family.origin, reason },
    reasoning: reasoningReport(templates.default),
    template: templates.source,
    toolUseTemplate: templates.toolUse !== undefined,
  };
}

function reasoningReport({ reasoning: format, reasoningSource: source }: ModelTemplate): ModelReasoningFormat {
  if (format === undefined) return { format: "none" };
  if (format.kind === "harmony") return { format: "harmony" };
  const answer = format.answerTags === undefined ? {} : { answer: { ...format.answerTags } };
  return { format: "tags", open: format.open, close: format.close, source: source ?? "known", ...answer };
}
