/**
 * A `/v1/embeddings` body → the domain's `EmbedRequest` and how the vectors are written back
 * (`encoding_format`). Every invalid field is reported together in one 400, as the generation
 * dialects do (the body's depth limit first, then each field, `input` item by item).
 */
import type { FieldIssue } from "../../../domain/errors.ts";
import type { RequestLimits } from "../../../domain/limits.ts";
import type { EmbedRequest } from "../../../engines/types.ts";
import { bodyObject, validationError, zodIssues } from "../../../schemas/validation.ts";
import { embeddingRequestSchema, inputIssues } from "./request-schema.ts";

export interface ParsedEmbeddingRequest {
  readonly request: EmbedRequest;
  /** `float` (the default: a list of numbers) or `base64` (little-endian float32 bytes). */
  readonly encoding: "float" | "base64";
}

const KNOWN = new Set(Object.keys(embeddingRequestSchema.shape));

export function parseEmbeddingRequest(body: unknown, limits: RequestLimits): ParsedEmbeddingRequest {
  const object = bodyObject(body, limits);
  const issues: FieldIssue[] = inputIssues(object.input, limits.inputChars);
  const parsed = embeddingRequestSchema.safeParse(object);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error).filter((issue) => issue.path[0] !== "input")); // `input`: named item by item above
  }
  for (const field of Object.keys(object)) {
    if (!KNOWN.has(field)) issues.push({ path: [field], message: `\`${field}\` is not a field of the embeddings API (OpenAI's) that Parley knows: remove it.`, type: "unknown_field" });
  }
  if (issues.length > 0 || !parsed.success) throw validationError(issues);
  const wire = parsed.data;
  const input = wire.input;
  // One string, or one token list, is one input.
  const inputs = typeof input === "string" ? [input] : input.every((item) => typeof item === "number") ? [input as number[]] : (input as (string | number[])[]);
  return {
    request: {
      model: wire.model,
      inputs,
      ...(wire.dimensions == null ? {} : { dimensions: wire.dimensions }),
      ...(wire.user == null ? {} : { user: wire.user }),
      ...(wire.keep_alive == null ? {} : { keepAlive: wire.keep_alive }),
    },
    encoding: wire.encoding_format ?? "float",
  };
}
