/**
 * The common shape of reasoning splitters: generated text in, reasoning and answer parts out,
 * streaming (markers split across pushes are held back until they are known), plus the phase the
 * output is in, which generation uses to steer: free thoughts, then the constrained answer.
 */
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import { HarmonySplitter } from "./harmony-splitter.ts";
import { TagSplitter } from "./tag-splitter.ts";

export interface ReasoningPart {
  readonly kind: "reasoning" | "content";
  readonly text: string;
}

/**
 * `undecided`: nothing shows yet whether thoughts or the answer come (leading whitespace, a marker
 * begun, Harmony's message headers); `reasoning`: inside the thoughts; `answer`: the answer.
 */
export type ReasoningPhase = "undecided" | "reasoning" | "answer";

export interface ReasoningSplitter {
  readonly phase: ReasoningPhase;
  push(text: string): ReasoningPart[];
  /** End of output: what was held back (an unclosed block stays reasoning). */
  finish(): ReasoningPart[];
}

/**
 * A splitter for `format`, in the state the prompt leaves the output in: `inside` a think block
 * (see generation-prompt.ts), or, for Harmony, inside the message the prompt's end leaves open.
 */
export function reasoningSplitter(format: ReasoningFormat, start: { readonly inside: boolean; readonly promptTail: () => string }): ReasoningSplitter {
  return format.kind === "harmony" ? new HarmonySplitter(start.promptTail()) : new TagSplitter(format, { inside: start.inside });
}

/** Whether `text` leaves a think block open (a marker opened after the last one closed). */
export function opensThoughts(format: Extract<ReasoningFormat, { kind: "tags" }>, prompt: string): boolean {
  const open = prompt.lastIndexOf(format.open);
  return open !== -1 && open > prompt.lastIndexOf(format.close);
}

export interface ForcedTextOptions {
  /**
   * Harmony: the thoughts' closing ends before the next message's channel, which is left to the
   * grammar (tool calls go to another channel than the answer). Default false: the `final` channel.
   */
  readonly headerFree?: boolean;
}

/**
 * The text that ends the thoughts when their budget is spent, so the answer follows; and the text
 * that opens them when the answer is constrained and the model must think first (so that it cannot
 * begin an unconstrained answer: for Harmony, anything before a message header).
 */
export function forcedText(format: ReasoningFormat, options: ForcedTextOptions = {}): { readonly open: string | undefined; readonly close: string } {
  if (format.kind === "harmony") {
    const next = options.headerFree === true ? "<|start|>assistant" : "<|start|>assistant<|channel|>final<|message|>";
    return { open: "<|channel|>analysis<|message|>", close: `<|end|>${next}` };
  }
  return { open: format.open, close: `\n${format.close}\n\n${format.answerTags?.open ?? ""}` };
}
