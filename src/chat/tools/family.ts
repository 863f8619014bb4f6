/**
 * A tool-calling family: how its models write calls (syntax.ts), how to recognise its chat
 * templates, and whether those templates render tools themselves. Adding a family = one file in
 * families/ plus its entry in FAMILIES (detect.ts).
 */
import type { ChatMessage } from "../../domain/chat.ts";
import type { ToolDefinition } from "../../domain/tools.ts";
import type { ToolCallSyntax } from "./syntax.ts";

/**
 * Where a family's syntax came from, for the start-up log and `/v1/models`: written by hand for
 * its models, derived from the model's own template, or the generic envelope (no family fits).
 */
export type ToolFamilyOrigin = "hand-written" | "derived" | "generic";

export interface ToolFamilyDefinition {
  readonly syntax: ToolCallSyntax;
  /** Where `syntax` came from (reported, never used to parse). */
  readonly origin: ToolFamilyOrigin;
  /** True when a chat template (Jinja source) is written for this family. */
  readonly detect: (template: string) => boolean;
  /**
   * True: the template renders `tools`, assistant `tool_calls` and `tool` messages itself.
   * False: `prepareMessages` turns them into plain messages before rendering.
   */
  readonly nativeTools: boolean;
  /** For non-native families: the conversation with tools described and calls/results as text. */
  readonly prepareMessages?: (messages: readonly ChatMessage[], tools: readonly ToolDefinition[], options?: PrepareOptions) => ChatMessage[];
  /**
   * Rewrites the ids of earlier calls (and of the tool messages answering them) into the form the
   * family's templates accept, e.g. Mistral's 9 alphanumeric characters, Kimi K2's
   * `functions.<name>:<n>`. `call`: the call the id belongs to (its name and its position among
   * the conversation's calls, from 0), unknown for a tool message answering no earlier call.
   * Default: unchanged.
   */
  readonly historyCallId?: (id: string, call: { readonly name: string; readonly index: number } | undefined) => string;
}

export interface PrepareOptions {
  /** Put the tool instructions in the first user message, for templates that reject `system` (default false). */
  readonly instructionsInUser?: boolean;
  /** Whether several calls per turn are allowed (default true): the instructions say so. */
  readonly parallel?: boolean;
}
