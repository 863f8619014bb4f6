/**
 * The `/v1/embeddings` request body: OpenAI's fields exactly (`input`, `model`, `encoding_format`,
 * `dimensions`, `user`), checked against the `openai` package's request type at compile time, as
 * the chat schema is. `input` is checked by hand (`inputIssues`) so that each bad item is named
 * (`input[3]`: an empty string, as OpenAI refuses it) rather than reported as a failed union.
 * Any other field is a 400 naming it: no other server's embeddings field (vLLM's
 * `truncate_prompt_tokens`, llama-server's `embd_normalize`) is taken, since silently ignoring one
 * would change what the client gets.
 */
import type { EmbeddingCreateParams } from "openai/resources/embeddings";
import { z } from "zod";
import { keepAliveField } from "../../../schemas/keep-alive.ts";
import type { FieldIssue } from "../../../domain/errors.ts";

/** Most inputs in one request, as OpenAI allows. */
export const MAX_EMBEDDING_INPUTS = 2048;

const tokenId = z.number().int().min(0).max(0x7fffffff);

export const embeddingRequestSchema = z.object({
  input: z.union([z.string(), z.array(z.string()), z.array(tokenId), z.array(z.array(tokenId))]),
  model: z.string().min(1).max(256),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).max(65_536).nullish(),
  user: z.string().max(1024).nullish(),
  // Ollama's: how long the (local) model stays loaded after this request (schemas/keep-alive.ts).
  keep_alive: keepAliveField,
});

export type EmbeddingRequestWire = z.infer<typeof embeddingRequestSchema>;

// Compile-time checks against the openai package: every field placed, and every input shape accepted.
type Unplaced = Exclude<keyof EmbeddingCreateParams, keyof typeof embeddingRequestSchema.shape>;
export const everyOpenAiEmbeddingFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
type AcceptsInput = EmbeddingCreateParams["input"] extends EmbeddingRequestWire["input"] ? true : never;
export const acceptsEveryOpenAiInput: AcceptsInput = true;
type AcceptsFormat = NonNullable<EmbeddingCreateParams["encoding_format"]> extends NonNullable<EmbeddingRequestWire["encoding_format"]> ? true : never;
export const acceptsEveryOpenAiEncoding: AcceptsFormat = true;

const isTokenId = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0x7fffffff;

/**
 * What is wrong with `input`, each issue at its item: not one of the four shapes, empty (a string,
 * a list, a token list), more than MAX_EMBEDDING_INPUTS items, or more than `maxChars` characters
 * in all (a token id counts as one).
 */
export function inputIssues(input: unknown, maxChars: number): FieldIssue[] {
  const shape = "must be a string, a list of strings, a list of token ids, or a list of token-id lists";
  if (input === undefined) return [{ path: ["input"], message: "`input` is required.", type: "invalid_type" }];
  if (typeof input === "string") return input === "" ? [emptyString(["input"])] : tooMany(input.length, maxChars);
  if (!Array.isArray(input)) return [{ path: ["input"], message: `\`input\` ${shape}.`, type: "invalid_type" }];
  if (input.length === 0) return [{ path: ["input"], message: "`input` is an empty list: give at least one input.", type: "too_small" }];
  const issues: FieldIssue[] = [];
  let chars = 0;
  if (input.every((item) => typeof item === "number")) {
    input.forEach((id, i) => {
      if (!isTokenId(id)) issues.push({ path: ["input", i], message: "a token id is an integer from 0.", type: "invalid_type" });
    });
    return issues.length > 0 ? issues : tooMany(input.length, maxChars);
  }
  if (input.length > MAX_EMBEDDING_INPUTS) return [{ path: ["input"], message: `${input.length} inputs, more than the ${MAX_EMBEDDING_INPUTS} allowed.`, type: "too_big" }];
  const strings = typeof input[0] === "string";
  input.forEach((item: unknown, i) => {
    if (strings && typeof item === "string") {
      if (item === "") issues.push(emptyString(["input", i]));
      chars += item.length;
    } else if (!strings && Array.isArray(item)) {
      if (item.length === 0) issues.push({ path: ["input", i], message: "an empty token list: give at least one token id.", type: "too_small" });
      item.forEach((id: unknown, j) => {
        if (!isTokenId(id)) issues.push({ path: ["input", i, j], message: "a token id is an integer from 0.", type: "invalid_type" });
      });
      chars += item.length;
    } else {
      issues.push({ path: ["input", i], message: `every item of \`input\` must be a ${strings ? "string" : "token-id list"}, as the first is (\`input\` ${shape}).`, type: "invalid_type" });
    }
  });
  return issues.length > 0 ? issues : tooMany(chars, maxChars);
}

function emptyString(path: (string | number)[]): FieldIssue {
  return { path, message: "an empty string cannot be embedded.", type: "too_small" };
}

function tooMany(chars: number, maxChars: number): FieldIssue[] {
  return chars > maxChars ? [{ path: ["input"], message: `${chars} characters (a token id counts as one), more than the ${maxChars} allowed (limit inputChars).`, type: "too_big" }] : [];
}
