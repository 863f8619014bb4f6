/**
 * `--models-dir`: every `*.gguf` file directly in the folder is a local model, named by its file
 * (`qwen3-8b-q4_k_m.gguf` → `qwen3-8b-q4_k_m`), loaded on the first request that names it. A model
 * split in parts (`name-00001-of-00003.gguf`) is one model, named without the part suffix, loaded
 * from its first part (llama.cpp finds the others). Projector files (`mmproj*.gguf`) are skipped:
 * they are not models of their own. Sub-folders are not read.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LocalModelSpec } from "./config-file.ts";

const PART = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** The folder's models, sorted by id; throws an Error when it cannot be read or holds none. */
export function modelsInDir(dir: string): LocalModelSpec[] {
  const folder = resolve(dir);
  let names: string[];
  try {
    names = readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isFile() || entry.isSymbolicLink())
      .map((entry) => entry.name);
  } catch (error) {
    throw new Error(`--models-dir ${dir}: cannot read the folder: ${error instanceof Error ? error.message : String(error)}`);
  }
  const models: LocalModelSpec[] = [];
  for (const name of names.sort()) {
    if (!/\.gguf$/i.test(name) || /^mmproj/i.test(name)) continue;
    const part = PART.exec(name);
    if (part !== null && Number(part[1]) !== 1) continue;
    const id = part === null ? name.replace(/\.gguf$/i, "") : name.slice(0, part.index);
    models.push({ kind: "local", id, aliases: [], source: join(folder, name), lora: [] });
  }
  if (models.length === 0) throw new Error(`--models-dir ${dir}: the folder holds no *.gguf model`);
  return models;
}
