/**
 * The benchmark's prompts: short, distinct user messages (so no two requests share a whole
 * prompt, within a workload run or across runs: a server that keeps whole prompts, such as
 * llama-server's RAM prompt cache, would otherwise answer a later level's requests from an earlier
 * level's), and a long, deterministic system prompt for the shared-prefix workload.
 */

const TOPICS = [
  "the sea",
  "a lighthouse",
  "winter bread",
  "an old clock",
  "the mountain road",
  "city rain",
  "a red kite",
  "the library",
  "morning trains",
  "a quiet garden",
  "copper wire",
  "the harbour",
];

const SYSTEM = "You are a helpful assistant.";

export type Message = { readonly role: "system" | "user"; readonly content: string };

let runs = 0;

/** A new run's label for `shortChat`: every workload run (level, server) takes its own. */
export function nextRun(): number {
  return ++runs;
}

/** The `i`-th short chat of run `run`: a one-line system prompt and a user message naming both. */
export function shortChat(i: number, run = 0): Message[] {
  return [
    { role: "system", content: SYSTEM },
    { role: "user", content: `Request ${run}.${i}: write a short story about ${TOPICS[i % TOPICS.length] ?? "anything"}.` },
  ];
}

const WORDS = "policy customer order refund shipping warehouse invoice account support ticket priority escalate review contract renewal discount region service quality delivery schedule".split(" ");

/**
 * A long system prompt of about `words` words (numbered rules built from a fixed word list, so
 * the same `words` always gives the same text).
 */
export function longSystemPrompt(words: number): string {
  const parts = ["You are the support assistant of a shipping company. Follow every rule below."];
  let count = parts[0]?.split(" ").length ?? 0;
  for (let rule = 1; count < words; rule++) {
    const sentence = Array.from({ length: 8 }, (_, k) => WORDS[(rule * 7 + k * 3) % WORDS.length] ?? "rule").join(" ");
    parts.push(`Rule ${rule}: ${sentence}.`);
    count += 10;
  }
  return parts.join(" ");
}

/**
 * The `i`-th chat of the shared-prefix workload: the long system prompt, then a short question.
 * With `unique`, the system prompt starts with a per-request tag, so no request can reuse another's
 * prefix (the baseline the shared prefix is compared with).
 */
export function prefixChat(system: string, i: number, unique: boolean): Message[] {
  return [
    { role: "system", content: unique ? `[session ${i}-${Math.random().toString(36).slice(2, 8)}] ${system}` : system },
    { role: "user", content: `Question ${i}: where is my order about ${TOPICS[i % TOPICS.length] ?? "this"}?` },
  ];
}
