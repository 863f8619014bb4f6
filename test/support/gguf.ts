/** Small helpers for tests that inspect GGUF files. */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

export async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Reads a dotted path (e.g. "tokenizer.ggml.model") out of untyped GGUF metadata. */
export function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
