/**
 * Tool (function) calling, after validation: the tools a request offers, how the model may use
 * them, and the calls it made. OpenAI's legacy `functions` API maps onto the same types.
 */

export interface ToolDefinition {
  /** Matches `^[a-zA-Z0-9_-]{1,64}$`; unique within a request. */
  readonly name: string;
  readonly description: string | undefined;
  /** JSON Schema of the arguments object (no arguments when absent: `{type: "object", properties: {}, additionalProperties: false}`). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** OpenAI `strict`: unsupported schema keywords are errors rather than warnings. */
  readonly strict: boolean;
}

export type ToolChoice =
  /** No call can be produced; the tools are still shown to the model. */
  | { readonly kind: "none" }
  /** The model answers or calls; a started call is constrained to a valid name and arguments. */
  | { readonly kind: "auto" }
  /** At least one call, from the first token. */
  | { readonly kind: "required" }
  /** Exactly one call of this function. */
  | { readonly kind: "function"; readonly name: string };

export interface ToolsRequest {
  readonly definitions: readonly ToolDefinition[];
  readonly choice: ToolChoice;
  /** `parallel_tool_calls` (default true): several calls in one turn. */
  readonly parallel: boolean;
  /** Sent as legacy `functions` / `function_call`: answer with `message.function_call`. */
  readonly legacy: boolean;
}

export interface ToolCall {
  /** `call_…`, unique. */
  readonly id: string;
  readonly name: string;
  /** The arguments as JSON text, exactly as generated. */
  readonly arguments: string;
}
