/**
 * The bodies of `POST /tokenize` and `POST /detokenize` (llama-server's shapes), validated once at
 * the edge, and the model default of `POST /apply-template` (whose body is a chat-completions body,
 * validated by normalize-chat.ts so that every prompt-affecting field applies as in generation).
 *
 * Unknown fields are a 400 naming them (nothing is silently ignored: llama-server's `parse_special`
 * is not offered, special-token text is always parsed). Sizes are bounded by `inputChars`: the
 * characters of `content`, and the ids of `tokens` (no text has more tokens than characters).
 * Token ids are checked by a plain loop that stops at the first bad one, not by zod, which would
 * build one issue per element: seconds for a body of a million bad ids.
 */
import { z } from "zod";
import type { FieldIssue } from "../domain/errors.ts";
import type { RequestLimits } from "../domain/limits.ts";
import { validationError } from "./validation.ts";

const model = z.string().min(1).nullish();

const tokenizeSchema = z.strictObject({
  content: z.string(),
  add_special: z.boolean().nullish(),
  with_pieces: z.boolean().nullish(),
  model,
});

const detokenizeSchema = z.strictObject({
  tokens: z.custom<readonly number[]>((value) => Array.isArray(value), "must be an array of token ids"),
  model,
});

export interface TokenizeBody {
  readonly content: string;
  /** Add the model's BOS/EOS as its tokenizer does (default false, as llama-server). */
  readonly addSpecial: boolean;
  /** Answer `{id, piece}` objects rather than bare ids (default false). */
  readonly withPieces: boolean;
  /** The model to use (default: see `defaultTextModel` in the routes). */
  readonly model: string | undefined;
}

export interface DetokenizeBody {
  readonly tokens: readonly number[];
  readonly model: string | undefined;
}

export function parseTokenizeBody(body: unknown, limits: Pick<RequestLimits, "inputChars">): TokenizeBody {
  const wire = parse(tokenizeSchema, body);
  if (wire.content.length > limits.inputChars) {
    throw validationError([{ path: ["content"], message: `${wire.content.length} characters, more than the ${limits.inputChars} allowed (limit inputChars).`, type: "too_big" }]);
  }
  return { content: wire.content, addSpecial: wire.add_special ?? false, withPieces: wire.with_pieces ?? false, model: wire.model ?? undefined };
}

export function parseDetokenizeBody(body: unknown, limits: Pick<RequestLimits, "inputChars">): DetokenizeBody {
  const wire = parse(detokenizeSchema, body);
  const { tokens } = wire;
  if (tokens.length > limits.inputChars) {
    throw validationError([{ path: ["tokens"], message: `${tokens.length} token ids, more than the ${limits.inputChars} allowed (limit inputChars).`, type: "too_big" }]);
  }
  const bad = tokens.findIndex((id) => !Number.isSafeInteger(id) || id < 0);
  if (bad !== -1) {
    throw validationError([{ path: ["tokens", bad], message: `must be a non-negative integer token id, not ${JSON.stringify(tokens[bad])?.slice(0, 64)}.`, type: "invalid_type" }]);
  }
  return { tokens, model: wire.model ?? undefined };
}

/**
 * An `/apply-template` body with `model` filled in when it is absent or null (`/v1/chat/completions`
 * requires it; here it defaults as on `/tokenize`). Other bodies pass through for normalize-chat.ts
 * to report.
 */
export function withDefaultModel(body: unknown, defaultModel: () => string): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const fields = body as Record<string, unknown>;
  return fields.model == null ? { ...fields, model: defaultModel() } : body;
}

/** Zod over a JSON object; every issue reported together, as on chat completions. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationError([{ path: [], message: "The request body must be a JSON object.", type: "invalid_type" }]);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.flatMap((issue): FieldIssue[] => {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    // One issue per unknown field, naming it (zod reports them together, on the object).
    if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ path: [...path, key], message: "is not a field of this route.", type: "unrecognized_keys" }));
    return [{ path, message: issue.message, type: issue.code }];
  });
  throw validationError(issues);
}
