/**
 * Splits `<think>…</think>`-style output (any pair of markers) into reasoning and answer. The
 * output may open the block itself (after optional whitespace) or start inside it when the prompt
 * opened it; text before anything else is the answer (a model that chose not to think). Once
 * closed, the block does not reopen: later markers are answer text. Whitespace around the
 * thoughts and before the answer is dropped, as is an opening marker the model repeats after the
 * prompt opened the block, and Granite-style answer tags (`<response>…`) are taken off the answer.
 */
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import { heldSuffix, mergeParts } from "./parts.ts";
import type { ReasoningPart, ReasoningPhase, ReasoningSplitter } from "./splitter.ts";

type TagsFormat = Extract<ReasoningFormat, { kind: "tags" }>;
/** `inside`: the prompt opened the block, and the output has not yet shown whether it repeats the opening marker. */
type State = "undecided" | "inside" | "reasoning" | "answer-start" | "answer";

export class TagSplitter implements ReasoningSplitter {
  readonly #format: TagsFormat;
  #state: State;
  #buffer = "";
  /** Whether reasoning text was emitted yet (leading whitespace is dropped until then). */
  #thinking = false;
  /** Whitespace at the end of the thoughts so far: emitted only if more thoughts follow. */
  #trailing = "";

  /** @param options.inside the prompt opened the block: the output starts inside it. */
  constructor(format: TagsFormat, options: { readonly inside: boolean }) {
    this.#format = format;
    this.#state = options.inside ? "inside" : "undecided";
  }

  get phase(): ReasoningPhase {
    if (this.#state === "undecided") return "undecided";
    return this.#state === "inside" || this.#state === "reasoning" ? "reasoning" : "answer";
  }

  push(text: string): ReasoningPart[] {
    this.#buffer += text;
    return this.#drain(false);
  }

  finish(): ReasoningPart[] {
    return this.#drain(true);
  }

  #drain(final: boolean): ReasoningPart[] {
    const out: ReasoningPart[] = [];
    const { open, close, answerTags } = this.#format;
    for (;;) {
      const buffer = this.#buffer;
      switch (this.#state) {
        case "undecided": {
          const text = buffer.trimStart();
          if (!final && (text === "" || (open.startsWith(text) && text.length < open.length))) return mergeParts(out);
          if (text.startsWith(open)) {
            this.#buffer = text.slice(open.length);
            this.#state = "reasoning";
          } else {
            this.#state = "answer-start";
          }
          break;
        }
        case "inside": {
          // A model may write the opening marker the prompt already wrote: it is not a thought.
          const text = buffer.trimStart();
          if (!final && (text === "" || (open.startsWith(text) && text.length < open.length))) return mergeParts(out);
          if (text.startsWith(open)) this.#buffer = text.slice(open.length);
          this.#state = "reasoning";
          break;
        }
        case "reasoning": {
          const at = buffer.indexOf(close);
          if (at !== -1) {
            this.#thoughts(buffer.slice(0, at), true, out);
            this.#buffer = buffer.slice(at + close.length);
            this.#state = "answer-start";
            break;
          }
          const held = final ? 0 : heldSuffix(buffer, [close]);
          this.#thoughts(buffer.slice(0, buffer.length - held), final, out);
          this.#buffer = buffer.slice(buffer.length - held);
          return mergeParts(out);
        }
        case "answer-start": {
          const text = buffer.trimStart();
          this.#buffer = text;
          if (!final && text === "") return mergeParts(out);
          if (answerTags !== undefined) {
            if (!final && answerTags.open.startsWith(text) && text.length < answerTags.open.length) return mergeParts(out);
            if (text.startsWith(answerTags.open)) this.#buffer = text.slice(answerTags.open.length);
          }
          this.#state = "answer";
          break;
        }
        case "answer": {
          if (answerTags === undefined) {
            out.push({ kind: "content", text: buffer });
            this.#buffer = "";
            return mergeParts(out);
          }
          const at = buffer.indexOf(answerTags.close);
          if (at !== -1) {
            out.push({ kind: "content", text: buffer.slice(0, at) });
            this.#buffer = buffer.slice(at + answerTags.close.length);
            break;
          }
          const held = final ? 0 : heldSuffix(buffer, [answerTags.close]);
          out.push({ kind: "content", text: buffer.slice(0, buffer.length - held) });
          this.#buffer = buffer.slice(buffer.length - held);
          return mergeParts(out);
        }
      }
    }
  }

  /** Thoughts without their surrounding whitespace; `end`: nothing more follows. */
  #thoughts(text: string, end: boolean, out: ReasoningPart[]): void {
    let body = this.#thinking ? this.#trailing + text : text.trimStart();
    this.#trailing = "";
    if (end) body = body.trimEnd();
    else {
      const trimmed = body.trimEnd();
      this.#trailing = body.slice(trimmed.length);
      body = trimmed;
    }
    if (body === "") return;
    this.#thinking = true;
    out.push({ kind: "reasoning", text: body });
  }
}
