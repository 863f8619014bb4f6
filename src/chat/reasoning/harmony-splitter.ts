/**
 * Splits gpt-oss's Harmony output into reasoning and answer. The output is a run of messages,
 * each `[<|start|>assistant]<|channel|>NAME[ to=…][<|constrain|>…]<|message|>BODY` ended by
 * `<|end|>`, `<|call|>` or `<|return|>`: the `analysis` channel's bodies are reasoning, other
 * channels' bodies (`final`, `commentary`) are the answer, headers and end markers are dropped.
 * Output that does not start like a Harmony header is passed through as the answer.
 *
 * A message addressed to a recipient (a tool call: `to=functions.get_weather`, in the channel part
 * or in the role part) keeps a header in the answer, rewritten into one form whatever the model
 * wrote — `<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>` before
 * its body — for the tool-call layer to parse (families/harmony.ts).
 */
import { heldSuffix, mergeParts } from "./parts.ts";
import type { ReasoningPart, ReasoningPhase, ReasoningSplitter } from "./splitter.ts";

const MESSAGE = "<|message|>";
const CHANNEL = "<|channel|>";
const START = "<|start|>";
const ENDS = ["<|end|>", "<|call|>", "<|return|>"];
/** Every marker of a Harmony message (control tokens whose text the splitter must see). */
export const HARMONY_MARKERS: readonly string[] = [START, CHANNEL, MESSAGE, "<|constrain|>", ...ENDS];
/** How the answer shows a message to `to=<recipient>`: this, the recipient, HARMONY_CALL_ARGUMENTS, the body. */
export const HARMONY_CALL_OPEN = `${CHANNEL}commentary to=`;
export const HARMONY_CALL_ARGUMENTS = ` <|constrain|>json${MESSAGE}`;
/** A header longer than this is not one: the output is passed through. */
const MAX_HEADER_CHARS = 512;

type State = { readonly kind: "header" } | { readonly kind: "body"; readonly channel: string } | { readonly kind: "plain" };

export class HarmonySplitter implements ReasoningSplitter {
  #state: State;
  #buffer = "";

  /** The prompt may end inside a message (continuing a final assistant message): it goes on there. */
  constructor(prompt: string) {
    const tail = prompt.slice(prompt.lastIndexOf(START) + 1);
    const at = tail.lastIndexOf(MESSAGE);
    this.#state = at !== -1 && !ENDS.some((end) => tail.includes(end, at)) ? { kind: "body", channel: channelOf(tail.slice(0, at)) } : { kind: "header" };
  }

  get phase(): ReasoningPhase {
    const state = this.#state;
    if (state.kind === "header") return "undecided";
    return state.kind === "body" && state.channel === "analysis" ? "reasoning" : "answer";
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
    for (;;) {
      const buffer = this.#buffer;
      const state = this.#state;
      if (state.kind === "plain") {
        out.push({ kind: "content", text: buffer });
        this.#buffer = "";
        return mergeParts(out);
      }
      if (state.kind === "header") {
        const at = buffer.indexOf(MESSAGE);
        if (at !== -1) {
          const header = buffer.slice(0, at);
          this.#state = { kind: "body", channel: channelOf(header) };
          const recipient = recipientOf(header);
          if (recipient !== undefined) out.push({ kind: "content", text: `${HARMONY_CALL_OPEN}${recipient}${HARMONY_CALL_ARGUMENTS}` });
          this.#buffer = buffer.slice(at + MESSAGE.length);
          continue;
        }
        const text = buffer.trimStart();
        const headerLike = text === "" || text.startsWith("<|") || "<|".startsWith(text);
        if (headerLike && buffer.length <= MAX_HEADER_CHARS) {
          if (final) this.#buffer = ""; // an unfinished header says nothing
          return mergeParts(out);
        }
        this.#state = { kind: "plain" };
        continue;
      }
      const kind = state.channel === "analysis" ? "reasoning" : "content";
      const ends = ENDS.map((end) => buffer.indexOf(end)).filter((at) => at !== -1);
      if (ends.length > 0) {
        const at = Math.min(...ends);
        out.push({ kind, text: buffer.slice(0, at) });
        this.#buffer = buffer.slice(at).replace(/^<\|(end|call|return)\|>/, "");
        this.#state = { kind: "header" };
        continue;
      }
      const held = final ? 0 : heldSuffix(buffer, ENDS);
      out.push({ kind, text: buffer.slice(0, buffer.length - held) });
      this.#buffer = buffer.slice(buffer.length - held);
      return mergeParts(out);
    }
  }
}

/** The recipient a header names (`to=functions.get_weather` → "functions.get_weather"), if any. */
function recipientOf(header: string): string | undefined {
  return /(?:^|\s)to=([^\s<]+)/.exec(header)?.[1];
}

/** The channel a header names (`<|channel|>final` → "final"; "" when none). */
function channelOf(header: string): string {
  const at = header.lastIndexOf(CHANNEL);
  if (at === -1) return "";
  return /^[^\s<]*/.exec(header.slice(at + CHANNEL.length))?.[0] ?? "";
}
