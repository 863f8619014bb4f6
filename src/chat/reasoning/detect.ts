/**
 * Which reasoning format a model uses, from its chat template and vocabulary: gpt-oss's Harmony
 * when the template writes an `analysis` channel; otherwise the first known pair of thought
 * markers that the template mentions (templates drop or re-render earlier thoughts, so they name
 * at least the closing marker) or that the vocabulary has as two tokens of their own. Granite's
 * templates, which ask for `<think>…</think><response>…</response>`, and Cohere's, which wrap the
 * answer in `<|START_RESPONSE|>…<|END_RESPONSE|>`, also get the answer tags.
 */
import type { ReasoningFormat } from "../../domain/reasoning.ts";
import { HARMONY_MARKERS } from "./harmony-splitter.ts";

/** Thought markers of the families that write them, most common first. */
const TAG_PAIRS: readonly (readonly [open: string, close: string])[] = [
  ["<think>", "</think>"], // Qwen3, QwQ, DeepSeek-R1, GLM, MiniMax, Kimi, Granite, Nemotron, SmolLM3…
  ["<seed:think>", "</seed:think>"], // ByteDance Seed-OSS
  ["[THINK]", "[/THINK]"], // Magistral, Ministral reasoning
  ["<|START_THINKING|>", "<|END_THINKING|>"], // Cohere Command A reasoning
  ["◁think▷", "◁/think▷"], // Kimi-VL thinking
];

const RESPONSE_TAGS = { open: "<response>", close: "</response>" } as const;
/**
 * How Granite's templates ask for the answer tags (an empty pair in their instructions). Other
 * templates use `<response>` for other things (MiniMax-M2 wraps tool results in it).
 */
const GRANITE_ANSWER_TAGS = "<response></response>";
/** Cohere's templates wrap the answer after the thoughts (Command R7B, Command A). */
const COHERE_ANSWER_TAGS = { open: "<|START_RESPONSE|>", close: "<|END_RESPONSE|>" } as const;

/**
 * @param template the chat template's Jinja source
 * @param isToken whether `text` is a single token of the model's vocabulary
 */
export function detectReasoningFormat(template: string, isToken: (text: string) => boolean): ReasoningFormat | undefined {
  if (template.includes("<|channel|>") && template.includes("analysis")) return { kind: "harmony" };
  for (const [open, close] of TAG_PAIRS) {
    if (!template.includes(close) && !(isToken(open) && isToken(close))) continue;
    const answerTags = template.includes(GRANITE_ANSWER_TAGS) ? RESPONSE_TAGS : template.includes(COHERE_ANSWER_TAGS.close) ? COHERE_ANSWER_TAGS : undefined;
    return answerTags === undefined ? { kind: "tags", open, close } : { kind: "tags", open, close, answerTags };
  }
  return undefined;
}

/** Text of the markers that may be control tokens: shown to the splitter rather than hidden. */
export function reasoningMarkers(format: ReasoningFormat): string[] {
  if (format.kind === "harmony") return [...HARMONY_MARKERS];
  return [format.open, format.close, ...(format.answerTags === undefined ? [] : [format.answerTags.open, format.answerTags.close])];
}
