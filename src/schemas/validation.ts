/**
 * Validation shared by every dialect: the body must be a JSON object within the cheap shape
 * limits, then match the dialect's zod schema, hold no field outside the policy
 * (unsupported-fields.ts), and stay within the size limits. Every issue is reported together, in
 * one 400 (`validationError`).
 */
import type { z } from "zod";
import { formatParam, ParleyError, type FieldIssue } from "../domain/errors.ts";
import type { RequestLimits } from "../domain/limits.ts";
import { shapeIssues, sizeIssues, type SizedFields } from "./request-limits.ts";
import { unknownFieldIssues, unsupportedFieldIssues } from "./unsupported-fields.ts";

/** The body as an object (400 otherwise), checked against the cheap shape limits before zod sees it. */
export function bodyObject(body: unknown, limits: RequestLimits): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationError([{ path: [], message: "The request body must be a JSON object.", type: "invalid_type" }]);
  }
  const shape = shapeIssues(body as Record<string, unknown>, limits);
  if (shape.length > 0) throw validationError(shape);
  return body as Record<string, unknown>;
}

/**
 * `body` parsed by `schema` (a loose object: its unknown fields go through the field policy, and
 * `api` names the dialect in the 400 for a field no dialect defines), sizes checked.
 */
export function parseBody<S extends z.ZodObject>(schema: S, body: unknown, limits: RequestLimits, api: string): z.infer<S> {
  const object = bodyObject(body, limits);
  const parsed = schema.safeParse(object);
  const issues: FieldIssue[] = parsed.success ? [] : zodIssues(parsed.error);
  issues.push(...unsupportedFieldIssues(object), ...unknownFieldIssues(object, new Set(Object.keys(schema.shape)), api));
  if (!parsed.success || issues.length > 0) throw validationError(issues);
  const sizes = sizeIssues(parsed.data as SizedFields, limits);
  if (sizes.length > 0) throw validationError(sizes);
  return parsed.data;
}

/** zod's issues as field issues, each path under `prefix` (e.g. the item the schema checked). */
export function zodIssues(error: z.ZodError, prefix: readonly (string | number)[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({ path: [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], message: issue.message, type: issue.code }));
}

/** Issues named in an error's message; the rest are counted ("and K more"). `detail` lists them all (capped in http/errors.ts). */
const ISSUES_IN_MESSAGE = 10;

export function validationError(issues: readonly FieldIssue[]): ParleyError {
  const first = issues[0];
  const param = first === undefined ? null : formatParam(first.path) || null;
  const named = issues.slice(0, ISSUES_IN_MESSAGE).map((i) => (i.path.length > 0 ? `${formatParam(i.path)}: ${i.message}` : i.message));
  if (issues.length > ISSUES_IN_MESSAGE) named.push(`and ${issues.length - ISSUES_IN_MESSAGE} more`);
  return new ParleyError("invalid_request", named.join("; ") || "Invalid request.", { param, issues });
}
