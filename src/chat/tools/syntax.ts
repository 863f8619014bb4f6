/**
 * How one model family writes tool calls, as data: the parser (tool-call-parser.ts) reads it,
 * the grammar builder (tool-grammar.ts) writes it, and a family file (families/*.ts) fills it in.
 *
 * A tool-call section is `sectionOpen call (separator call)* sectionClose`, and each call is
 * `callOpen {["<idKey>": "<n>", ]"<nameKey>": "<name>", "<argumentsKey>": <arguments JSON>} callClose`. Text before the
 * section is content. The grammar writes exactly this form; the parser also accepts the usual
 * variations of it (whitespace, key order, `parameters` for `arguments`, `alternativeTriggers`).
 */

export type ToolFamily = "hermes" | "llama3" | "mistral" | "granite" | "command-r7b" | "generic";

export interface ToolCallSyntax {
  readonly family: ToolFamily;
  /**
   * Texts that begin a tool-call section. Content may not contain them (the grammar forbids it);
   * the parser holds back any text that could still become one.
   */
  readonly triggers: readonly string[];
  /** Opens the section, once (e.g. Mistral's `[TOOL_CALLS][`); "" when calls have no wrapper. */
  readonly sectionOpen: string;
  /** Closes the section (e.g. `]`); "" when none. */
  readonly sectionClose: string;
  /** Opens each call (e.g. `<tool_call>`); "" when none. */
  readonly callOpen: string;
  /** Closes each call (e.g. `</tool_call>`); "" when none. */
  readonly callClose: string;
  /** Between two calls (e.g. "\n" or ", "). */
  readonly separator: string;
  /** The arguments key the grammar writes: "arguments" or "parameters" (the parser accepts both). */
  readonly argumentsKey: "arguments" | "parameters";
  /** The name key the grammar writes (default "name"; the parser accepts "name" and "tool_name"). */
  readonly nameKey?: "name" | "tool_name";
  /**
   * A key the grammar writes first in each call, holding the call's number as a string (Command
   * R7B's `"tool_call_id": "0"`); the parser skips it like any extra key. Default none.
   */
  readonly idKey?: string;
  /** Most calls in one turn the family can express (Infinity when unlimited). */
  readonly maxCalls: number;
  /**
   * Marker texts that may be control tokens in the vocabulary (e.g. `<|python_tag|>`,
   * `[TOOL_CALLS]`): the engine shows their text to the parser instead of hiding it.
   */
  readonly markerTokens: readonly string[];
  /**
   * Texts the parser treats as the start of a section too, though the grammar never writes them
   * (e.g. `<|python_tag|>` before a Llama 3 JSON call). They are dropped.
   */
  readonly alternativeTriggers: readonly string[];
}
