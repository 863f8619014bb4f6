/**
 * Usage for an upstream answer that ended without the upstream's own count: the client left (the
 * upstream request is then aborted, so its final usage never comes), the stream broke, or the
 * upstream does not report usage. What was generated is charged to the key all the same (per-key
 * token limits, `/admin/usage`), as local engines do.
 *
 * The estimate, per choice's events as they arrive:
 * - completion tokens: each text event (content, thoughts, tool-call name or arguments) counts the
 *   tokens its log-probabilities list when it carries them (exact), else one (servers stream about
 *   one token per delta); the total is then raised to the text's UTF-8 bytes / 4 if that is more
 *   (for servers that send several tokens per delta);
 * - prompt tokens: the request body's UTF-8 bytes / 4 (the JSON around the messages stands in
 *   for the chat template's markup around them);
 * - cached tokens: 0.
 */
import type { ChatEvent, Usage } from "../../domain/events.ts";

/** Bytes per token assumed for text (English text averages about 4 with common BPE vocabularies). */
export const BYTES_PER_TOKEN = 4;

export class UsageTracker {
  readonly #promptTokens: number;
  #tokens = 0;
  #bytes = 0;
  #reported: Usage | undefined;
  #events = 0;

  /** `requestBody`: the JSON sent upstream, for the prompt estimate. */
  constructor(requestBody: string) {
    this.#promptTokens = Math.ceil(Buffer.byteLength(requestBody, "utf8") / BYTES_PER_TOKEN);
  }

  /** Whether any event has been seen (so a failure now is mid-answer). */
  get started(): boolean {
    return this.#events > 0;
  }

  /** Whether the upstream's own usage has been seen (nothing is estimated then). */
  get reported(): boolean {
    return this.#reported !== undefined;
  }

  observe(event: ChatEvent): void {
    this.#events++;
    switch (event.type) {
      case "usage":
        this.#reported = event.usage;
        return;
      case "delta":
      case "reasoning":
      case "tool_arguments":
        this.#count(event.text, event.logprobs.length);
        return;
      case "tool_call":
        this.#count(event.name, event.logprobs.length);
        return;
      default:
        return;
    }
  }

  #count(text: string, logprobs: number): void {
    if (text === "" && logprobs === 0) return;
    this.#tokens += logprobs > 0 ? logprobs : 1;
    this.#bytes += Buffer.byteLength(text, "utf8");
  }

  /** The estimated usage event (see the file's header). */
  estimate(): ChatEvent & { type: "usage" } {
    const completionTokens = Math.max(this.#tokens, Math.ceil(this.#bytes / BYTES_PER_TOKEN));
    return { type: "usage", usage: { promptTokens: this.#promptTokens, completionTokens, cachedTokens: 0 } };
  }
}
