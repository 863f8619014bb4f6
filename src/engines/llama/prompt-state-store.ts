/**
 * Where the prompt cache's states live: node-llama-cpp saves and loads a sequence's state only
 * through files, so the "RAM" tier is a folder on a RAM-backed file system (/dev/shm when it exists
 * and is writable, else the OS temporary folder), one per engine, removed when the engine closes;
 * the optional disk tier (`--prompt-cache-dir`) keeps states across restarts, in a subfolder named
 * by the model's and the context's identity (`promptCacheIdentity`), each state beside a small JSON
 * file with its tokens and key, so the next start can list them without reading the states.
 *
 * A state file being read (a restore) is deleted only once the read ends (`use`), so eviction never
 * pulls a file from under a load.
 */
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, copyFile, mkdir, open, readdir, readFile, rm, stat, statfs, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CacheEntry } from "./prompt-cache.ts";

/** Name prefix of the RAM folders; `<prefix><pid>-<random>`. */
const RAM_FOLDER_PREFIX = "parley-prompt-cache-";
/** Bumped when the files' layout or what a state holds changes: older disk states are then ignored. */
const STATE_FORMAT = 1;
/** Bytes of the GGUF's head hashed into its identity (its header: metadata and tensor table). */
const IDENTITY_HEAD_BYTES = 1 << 20;

/**
 * A stable name for "this model file under these context settings": a state saved under one
 * identity is never offered to another (loading a foreign state may crash llama.cpp). The file is
 * known by its size and the hash of its head (so a copy or a move keeps its states, a different
 * model or quantization does not), the context by `settings` (context size, KV cache type, …).
 */
export async function promptCacheIdentity(modelPath: string, settings: Readonly<Record<string, unknown>>): Promise<string> {
  const file = await open(modelPath, "r");
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, IDENTITY_HEAD_BYTES));
    await file.read(head, 0, head.length, 0);
    const hash = createHash("sha256").update(`parley-prompt-state:${STATE_FORMAT}:${size}:`).update(head).update(stableJson(settings));
    return hash.digest("hex").slice(0, 24);
  } finally {
    await file.close();
  }
}

/** JSON with every object's keys sorted, so equal settings give equal text. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${fields
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The folder for RAM-backed state files: /dev/shm when writable, else the OS temporary folder. */
export async function ramBackedFolder(): Promise<string> {
  try {
    await access("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

/** What the disk tier holds beside each state file. */
interface Sidecar {
  readonly format: number;
  readonly tokens: number[];
  readonly key?: string;
  readonly bytes: number;
}

export class PromptStateFiles {
  readonly #folder: string;
  /** Readers per path: a file being loaded is deleted when its last reader is done. */
  readonly #readers = new Map<string, number>();
  readonly #doomed = new Set<string>();
  #next = 0;

  private constructor(folder: string) {
    this.#folder = folder;
  }

  /** A new RAM folder under `parent` (default: `ramBackedFolder()`), after removing those of processes that are gone. */
  static async ram(parent?: string): Promise<PromptStateFiles> {
    const base = parent ?? (await ramBackedFolder());
    await removeStaleFolders(base);
    const folder = join(base, `${RAM_FOLDER_PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    return new PromptStateFiles(folder);
  }

  /** The disk folder for `identity` under `dir`. */
  static async disk(dir: string, identity: string): Promise<PromptStateFiles> {
    const folder = join(dir, identity);
    await mkdir(folder, { recursive: true });
    return new PromptStateFiles(folder);
  }

  get folder(): string {
    return this.#folder;
  }

  /** Bytes free on the folder's file system (undefined when it cannot be asked). */
  async freeBytes(): Promise<number | undefined> {
    try {
      const fs = await statfs(this.#folder);
      return fs.bavail * fs.bsize;
    } catch {
      return undefined;
    }
  }

  /** A fresh path for a state file in this folder. */
  newPath(): string {
    return join(this.#folder, `${Date.now().toString(36)}-${process.pid}-${(this.#next++).toString(36)}-${randomBytes(3).toString("hex")}.state`);
  }

  /** Copies a state file in (another tier's) with its sidecar; resolves to the new entry. */
  async adopt(entry: CacheEntry<string>): Promise<CacheEntry<string>> {
    const path = this.newPath();
    await copyFile(entry.location, path);
    return this.writeSidecar({ ...entry, location: path });
  }

  /** Writes the JSON that lets a later start list `entry` (disk tier). */
  async writeSidecar(entry: CacheEntry<string>): Promise<CacheEntry<string>> {
    const sidecar: Sidecar = { format: STATE_FORMAT, tokens: [...entry.tokens], bytes: entry.bytes, ...(entry.key === undefined ? {} : { key: entry.key }) };
    await writeFile(`${entry.location}.json`, JSON.stringify(sidecar));
    return entry;
  }

  /** The entries a previous run left in this folder (disk tier), oldest first; unreadable ones are removed. */
  async list(): Promise<CacheEntry<string>[]> {
    const found: { entry: CacheEntry<string>; mtime: number }[] = [];
    for (const name of await readdir(this.#folder)) {
      if (!name.endsWith(".state")) continue;
      const location = join(this.#folder, name);
      try {
        const sidecar = JSON.parse(await readFile(`${location}.json`, "utf8")) as Sidecar;
        const { size, mtimeMs } = await stat(location);
        if (sidecar.format !== STATE_FORMAT || !Array.isArray(sidecar.tokens) || size !== sidecar.bytes) throw new Error("stale");
        found.push({ entry: { tokens: sidecar.tokens, bytes: size, key: sidecar.key, location }, mtime: mtimeMs });
      } catch {
        await this.delete(location);
      }
    }
    return found.sort((a, b) => a.mtime - b.mtime).map((f) => f.entry);
  }

  /** Runs `read` on `path`, which is not deleted before it ends. */
  async use<R>(path: string, read: (path: string) => Promise<R>): Promise<R> {
    this.#readers.set(path, (this.#readers.get(path) ?? 0) + 1);
    try {
      return await read(path);
    } finally {
      const left = (this.#readers.get(path) ?? 1) - 1;
      if (left > 0) this.#readers.set(path, left);
      else {
        this.#readers.delete(path);
        if (this.#doomed.delete(path)) await this.delete(path);
      }
    }
  }

  /** Deletes a state file and its sidecar (later, if it is being read). Never throws. */
  async delete(path: string): Promise<void> {
    if (this.#readers.has(path)) {
      this.#doomed.add(path);
      return;
    }
    await unlink(path).catch(() => undefined);
    await unlink(`${path}.json`).catch(() => undefined);
  }

  /** Removes the whole folder (the RAM tier, when its engine closes). */
  async removeFolder(): Promise<void> {
    await rm(this.#folder, { recursive: true, force: true });
  }
}

/** Removes RAM folders left by processes that no longer run (a crash leaves its states in /dev/shm). */
async function removeStaleFolders(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(RAM_FOLDER_PREFIX)) continue;
    const pid = Number(name.slice(RAM_FOLDER_PREFIX.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    await rm(join(base, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
