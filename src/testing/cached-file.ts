/**
 * The cache of generated test files (test models, LoRA adapters): where it is, and how a file gets
 * into it safely when several processes want it at once.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** `$PARLEY_CACHE_DIR`, else `$XDG_CACHE_HOME/parley`, else `~/.cache/parley`. */
export function defaultTestModelCacheDir(): string {
  const env = process.env;
  if (env.PARLEY_CACHE_DIR) return env.PARLEY_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "parley");
  return join(homedir(), ".cache", "parley");
}

/**
 * Returns `dir/name`, calling `write` to create it when missing. Safe for concurrent processes:
 * each writes a private temp file and renames it into place atomically.
 */
export async function ensureCachedFile(dir: string, name: string, write: (path: string) => Promise<void>): Promise<string> {
  const path = join(dir, name);
  try {
    if ((await stat(path)).size > 0) return path;
  } catch {
    // missing: generate below
  }
  await mkdir(dir, { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await write(temp);
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  return path;
}
