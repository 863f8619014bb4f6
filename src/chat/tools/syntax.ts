/**
 * How one model family writes tool calls, as data: the parsers (tool-call-parser.ts,
 * named-call-parser.ts) read it, the grammar builder (tool-grammar.ts) writes it, and a family
 * file (families/*.ts) fills it in. Two call shapes:
 *
 *  - "json-object" (JsonObjectSyntax): a section is `sectionOpen call (separator call)* sectionClose`,
 *    and each call is `callOpen {["<idKey>": "<n>", ]"<nameKey>": "<name>", "<argumentsKey>": <arguments JSON>} callClose`.
 *    The parser also accepts the usual variations of it (whitespace, key order, `parameters` for
 *    `arguments`, `alternativeTriggers`).
 *  - "named-json" (NamedJsonSyntax): the name sits outside the JSON; each call is
 *    `callOpen [namePrefix]<name>[:<n>] nameClose <arguments JSON object> callClose`, e.g. Mistral's
 *    `[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}`.
 *
 * Text before the section is content. The grammar writes exactly the form above.
 */

export type ToolFamily =
  | "hermes"
  | "llama3"
  | "mistral"
  | "granite"
  | "command-r7b"
  | "derived"
  | "generic"
  | "mistral-v11"
  | "deepseek-v3"
  | "deepseek-v3.1"
  | "kimi-k2"
  | "functionary-v3.1"
  | "harmony";

/** A family's call syntax, by the shape of its calls. */
export type ToolCallSyntax = JsonObjectSyntax | NamedJsonSyntax;

/** What both shapes have: the section's markup, triggers and marker tokens. */
interface SyntaxBase {
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
  /** Most calls in one turn the family can express (Infinity when unlimited). */
  readonly maxCalls: number;
  /**
   * Marker texts that may be control tokens in the vocabulary (e.g. `<|python_tag|>`,
   * `[TOOL_CALLS]`): the engine shows their text to the parser instead of hiding it.
   */
  readonly markerTokens: readonly string[];
  /**
   * Texts the parser treats as the start of a section too, though the grammar never writes them
   * (e.g. `<|python_tag|>` before a Llama 3 JSON call). They are dropped, and a call (`callOpen` …)
   * follows.
   */
  readonly alternativeTriggers: readonly string[];
  /**
   * For formats where every message has a header that the grammar writes too (gpt-oss's Harmony):
   * `lead` may come first (`<|start|>assistant`), then either `content` (the header of a plain
   * answer, `<|channel|>final<|message|>`) and the answer, or a section, never both. Default none:
   * the grammar starts where the message's text does.
   */
  readonly header?: { readonly lead: string; readonly content: string };
}

/** Calls that are JSON objects holding their name (`{"name": …, "arguments": …}`). */
export interface JsonObjectSyntax extends SyntaxBase {
  /** The shape (the default: families written before there were two may leave it out). */
  readonly shape?: "json-object";
  /** The arguments key the grammar writes: "arguments" or "parameters" (the parser accepts both). */
  readonly argumentsKey: "arguments" | "parameters";
  /** The name key the grammar writes (default "name"; the parser accepts "name" and "tool_name"). */
  readonly nameKey?: "name" | "tool_name";
  /**
   * A key the grammar writes first in each call, holding the call's number as a string (Command
   * R7B's `"tool_call_id": "0"`); the parser skips it like any extra key. Default none.
   */
  readonly idKey?: string;
}

/**
 * Calls whose name is written outside a JSON arguments object: `callOpen`, the name, `nameClose`,
 * the arguments object, `callClose`. Wrappers around the arguments (DeepSeek V3's
 * "\n```json\n" … "\n```") belong to `nameClose` and `callClose`. The triggers are prefixes of
 * `sectionOpen + callOpen`.
 */
export interface NamedJsonSyntax extends SyntaxBase {
  readonly shape: "named-json";
  /** Between the name and the arguments (e.g. `[ARGS]`, `<｜tool▁sep｜>`, `>`). */
  readonly nameClose: string;
  /** Written before the name (Kimi K2's `functions.`); the parser strips it when present. Default "". */
  readonly namePrefix?: string;
  /**
   * The name carries the call's number after this text (Kimi K2's `functions.get_weather:0`): the
   * grammar writes digits, the parser strips them. Default none.
   */
  readonly nameIndexSeparator?: string;
  /**
   * Marker for a call id the model may write between the name and `nameClose` (Mistral Small
   * 3.2's `[CALL_ID]`): the parser skips it and the id; the grammar never writes it. Default none.
   */
  readonly callIdMarker?: string;
}
