/**
 * Derives a model's thought markers from its chat template when they are none of the known pairs
 * (detect.ts): render an assistant turn with earlier thoughts (`reasoning_content`) and read the
 * markup right around the thought — the marker just before it, and the one marker between it and
 * the answer — e.g. MiniMax-M3's `<mm:think>…</mm:think>`, Hunyuan's
 * `<think:opensource>…</think:opensource>`. The opening marker may be the assistant header itself
 * (Apriel's `<|begin_assistant|>` … `[BEGIN FINAL RESPONSE]`): thoughts then start with the answer
 * turn, as the splitter sees from the prompt. A template that drops earlier thoughts, or writes
 * more than one marker between the thought and the answer, derives nothing.
 */
import type { ChatMessage } from "../../domain/chat.ts";
import type { ReasoningFormat } from "../../domain/reasoning.ts";

/** Renders a conversation with the template (no generation prompt). */
export type ThoughtProbeRender = (messages: readonly ChatMessage[]) => string;

const USER: ChatMessage = { role: "user", content: "Probe question." };
const CONTENT = "Probe answer text.";
const THOUGHT = "Probe thought text.";
/** One marker: a tag (`<think>`, `<|…|>`, `<mm:think>`), brackets (`[THINK]`, `[BEGIN FINAL RESPONSE]`), or `◁think▷`. */
const MARKER = String.raw`(?:<[^<>\s]{1,46}>|\[[^[\]\n]{1,46}\]|◁[^◁▷\s]{1,46}▷)`;

export function deriveReasoningFormat(render: ThoughtProbeRender): Extract<ReasoningFormat, { kind: "tags" }> | undefined {
  let text: string;
  try {
    text = render([USER, { role: "assistant", content: CONTENT, reasoning: THOUGHT }]);
  } catch {
    return undefined;
  }
  const at = text.indexOf(THOUGHT);
  const answerAt = text.indexOf(CONTENT, at + THOUGHT.length);
  if (at === -1 || answerAt === -1) return undefined;
  const open = new RegExp(`${MARKER}\\s*$`).exec(text.slice(0, at))?.[0].trim();
  const close = text.slice(at + THOUGHT.length, answerAt).trim();
  if (open === undefined || !new RegExp(`^${MARKER}$`).test(close) || open === close) return undefined;
  return { kind: "tags", open, close };
}
