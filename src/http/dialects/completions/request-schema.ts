/**
 * The wire schema of `POST /v1/completions` (OpenAI's legacy text completions, as vLLM and
 * llama-server serve them): the shared generation fields (schemas/generation.ts) and the API's
 * own: `prompt` (text, texts, token ids, or lists of token ids), `suffix` (fill-in-the-middle),
 * `echo`, and `logprobs` as an integer (alternatives per token). Checked against the `openai`
 * package's request type at compile time, as the chat schema is.
 */
import type { CompletionCreateParamsBase } from "openai/resources/completions";
import { z } from "zod";
import { generationFields, wellFormed } from "../../../schemas/generation.ts";
import { predictionFields } from "../../../schemas/prediction.ts";
import type { IGNORED_FIELDS, UnsupportedField } from "../../../schemas/unsupported-fields.ts";

/** Prompts one request may hold (each is a generation of its own, with `n` choices). */
export const MAX_PROMPTS = 128;

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const completionRequestSchema = generationFields
  .extend(predictionFields.shape)
  .loose()
  .extend({
    prompt: z.union([wellFormed, z.array(wellFormed).min(1).max(MAX_PROMPTS), tokenIds, z.array(tokenIds).min(1).max(MAX_PROMPTS)]),
    suffix: wellFormed.nullish(),
    echo: z.boolean().nullish(),
    // OpenAI allows 0–5; vLLM up to its max_logprobs (20 by default), as chat's `top_logprobs`.
    logprobs: z.number().int().min(0).max(20).nullish(),
    // OpenAI's limit is 2048 tokens less the prompt; `n_predict` (-1: no limit) stands in for it.
    max_tokens: z.number().int().min(0).nullish(),
  });

export type CompletionRequestWire = z.infer<typeof completionRequestSchema>;

/** Compile-time check: no field of the official client's request is left out of the schema and the field policy. */
type Placed = keyof typeof completionRequestSchema.shape | UnsupportedField | (typeof IGNORED_FIELDS)[number];
type Unplaced = Exclude<keyof CompletionCreateParamsBase, Placed>;
export const everyOpenAiCompletionFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;

/** Compile-time check: the official client's `prompt` is accepted by our schema. */
type AcceptsPrompt = Exclude<CompletionCreateParamsBase["prompt"], null> extends CompletionRequestWire["prompt"] ? true : never;
export const openAiPromptCovered: AcceptsPrompt = true;
