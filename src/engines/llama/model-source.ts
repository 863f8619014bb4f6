/**
 * Resolves the `--model` argument of `parley serve` to a local GGUF file, downloading remote ones with
 * node-llama-cpp's `resolveModelFile` (built on ipull):
 * - a finished file is found by *name* in `<cacheDir>/models`, with no network request at all;
 * - a download writes `<name>.ipull` (data, then JSON chunk metadata) and renames it when complete, so a partial
 *   file never looks finished; it resumes with Range requests within a call (ipull retries dropped connections)
 *   and across calls (we keep the `.ipull` file on cancel);
 * - ipull checks each ranged response's length and truncates to the server's content-length; we then check
 *   the final size and the GGUF magic.
 */
import { createHash } from "node:crypto";
import { open, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { resolveModelFile } from "node-llama-cpp";
import { createProgressReporter, type DownloadProgress, type ProgressOutput } from "./download-progress.ts";

export type { DownloadProgress, ProgressOutput } from "./download-progress.ts";

export const DEFAULT_HF_ENDPOINT = "https://huggingface.co/";

export interface ResolveModelOptions {
  /**
   * Cache root; models live in `<cacheDir>/models`.
   * Default: `$PARLEY_CACHE_DIR`, else `$XDG_CACHE_HOME/parley`, else `~/.cache/parley` (see {@link defaultCacheDir}).
   */
  cacheDir?: string;
  /** Print download progress (a redrawn bar on a TTY, one line per 10% otherwise). Default: `true`. */
  showProgress?: boolean;
  /** Where progress is printed. Default: `process.stderr`. */
  progressOutput?: ProgressOutput;
  /** Called on every progress event of a download (not called on a cache hit). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancels the resolution. A partial download is kept so that the next call resumes it. */
  signal?: AbortSignal;
  /**
   * Base URL of a Hugging Face-compatible endpoint used for `hf:` URIs (and to recognise Hugging Face URLs).
   * Default: `$HF_ENDPOINT`, else `https://huggingface.co/`.
   */
  hfEndpoint?: string;
  /**
   * Hugging Face token, sent only to the Hugging Face endpoint and only after an anonymous attempt is refused.
   * Default: `$HF_TOKEN`, else node-llama-cpp reads `$HF_TOKEN_PATH` or `$HF_HOME/token` (~/.cache/huggingface/token).
   */
  hfToken?: string;
  /**
   * Never touch the network: a remote spec resolves only if it is already complete in the cache.
   * Default: `true` when `$PARLEY_OFFLINE` or `$HF_HUB_OFFLINE` is `1`/`true`/`yes`.
   */
  offline?: boolean;
}

export interface ResolvedModel {
  /** Absolute path of the GGUF file (the first part for split models). */
  path: string;
  /** The file's base name without `.gguf` (and without a `-00001-of-0000N` split suffix); the default model id. */
  displayName: string;
  /** Where the file came from: the given local path, the cache, or a download made by this call. */
  source: "local" | "cache" | "download";
}

export class ModelSourceError extends Error {
  readonly spec: string;
  /** HTTP status, when the failure was a server response. */
  readonly statusCode: number | undefined;
  constructor(spec: string, message: string, options: { cause?: unknown; statusCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ModelSourceError";
    this.spec = spec;
    this.statusCode = options.statusCode;
  }
}

/** `$PARLEY_CACHE_DIR`, else `$XDG_CACHE_HOME/parley`, else `~/.cache/parley`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PARLEY_CACHE_DIR) return path.resolve(env.PARLEY_CACHE_DIR);
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, "parley");
  return path.join(os.homedir(), ".cache", "parley");
}

const HF_PREFIX = /^(?:hf|huggingface):(?:\/\/)?/;
const SPLIT_SUFFIX = /-\d{5}-of-\d{5}$/;
const TRUTHY = /^(?:1|true|yes|on)$/i;
const STALL_NOTICE_MS = 15_000;

/** Base name without directories, `.gguf` or a split-part suffix: `a/Foo-Q4-00001-of-00002.gguf` → `Foo-Q4`. */
export function modelDisplayName(fileName: string): string {
  return path
    .basename(fileName)
    .replace(/\.gguf$/i, "")
    .replace(SPLIT_SUFFIX, "");
}

/**
 * Resolves `spec` to a local GGUF file:
 * - a local path (relative to the cwd, `~/` and `file:` URLs accepted) must exist;
 * - `hf:owner/repo/path/file.gguf[#branch]` or `hf:owner/repo[:QUANT]` (node-llama-cpp's URI forms),
 *   or an `http(s)://` URL, is downloaded into `<cacheDir>/models` unless already there.
 * @throws ModelSourceError with a message fit for the terminal; the signal's reason when aborted.
 */
export async function resolveModelSource(spec: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const trimmed = spec.trim();
  if (trimmed === "") throw new ModelSourceError(spec, "No model given: pass a .gguf path, hf:owner/repo/file.gguf or an https:// URL");
  if (HF_PREFIX.test(trimmed)) return resolveRemote(trimmed, hfDisplayName(trimmed), undefined, options);
  if (/^https?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch (err) {
      throw new ModelSourceError(spec, `Invalid model URL "${trimmed}"`, { cause: err });
    }
    const fileName = urlFileName(url);
    // Hugging Face URLs keep node-llama-cpp's own cache names (shared with the equivalent hf: URI).
    const cacheName = isHuggingFaceHost(url, hfEndpointOf(options)) ? undefined : urlCacheFileName(url, fileName);
    return resolveRemote(trimmed, modelDisplayName(fileName), cacheName, options);
  }
  return resolveLocal(trimmed);
}

async function resolveLocal(spec: string): Promise<ResolvedModel> {
  let filePath = spec;
  if (spec.startsWith("file:")) {
    try {
      filePath = fileURLToPath(spec);
    } catch (err) {
      throw new ModelSourceError(spec, `Invalid file URL "${spec}"`, { cause: err });
    }
  }
  if (filePath === "~" || filePath.startsWith("~/")) filePath = path.join(os.homedir(), filePath.slice(1));
  filePath = path.resolve(filePath);
  const info = await stat(filePath).catch(() => undefined);
  if (info === undefined) {
    throw new ModelSourceError(spec, `Model file not found: ${filePath}. Pass an existing .gguf file, hf:owner/repo/file.gguf, hf:owner/repo:QUANT or an https:// URL.`);
  }
  if (!info.isFile()) throw new ModelSourceError(spec, `Model path is not a file: ${filePath}`);
  return { path: filePath, displayName: modelDisplayName(filePath), source: "local" };
}

async function resolveRemote(spec: string, knownDisplayName: string | undefined, cacheFileName: string | undefined, options: ResolveModelOptions): Promise<ResolvedModel> {
  const { signal } = options;
  const directory = path.join(path.resolve(options.cacheDir ?? defaultCacheDir()), "models");
  const offline = options.offline ?? (TRUTHY.test(process.env.PARLEY_OFFLINE ?? "") || TRUTHY.test(process.env.HF_HUB_OFFLINE ?? ""));
  const reporter = options.showProgress === false ? undefined : createProgressReporter(knownDisplayName ?? spec, options.progressOutput);
  const hfToken = options.hfToken ?? process.env.HF_TOKEN;
  let last: DownloadProgress | undefined;
  signal?.throwIfAborted();

  const work = resolveModelFile(spec, {
    directory,
    ...(cacheFileName === undefined ? {} : { fileName: cacheFileName }),
    download: offline ? false : "auto",
    cli: false, // node-llama-cpp's CLI output goes to stdout; we print our own progress to stderr
    deleteTempFileOnCancel: false, // keep `<file>.ipull` so the next call resumes
    endpoints: { huggingFace: hfEndpointOf(options) },
    ...(hfToken ? { tokens: { huggingFace: hfToken } } : {}),
    ...(signal === undefined ? {} : { signal }),
    onProgress: ({ totalSize, downloadedSize }) => {
      last = { downloadedBytes: downloadedSize, totalBytes: totalSize };
      reporter?.update(last);
      options.onProgress?.(last);
    },
  });

  // ipull retries a host that does not answer for many minutes without a word; say so on the progress output.
  const stallNotice =
    reporter === undefined
      ? undefined
      : setTimeout(() => {
          if (last === undefined) (options.progressOutput ?? process.stderr).write(`Still waiting for "${spec}" (retrying; Ctrl-C to stop)\n`);
        }, STALL_NOTICE_MS).unref();
  let filePath: string;
  try {
    filePath = await untilAborted(work, signal);
  } catch (err) {
    reporter?.finish(signal?.aborted ? "aborted" : "failed");
    if (signal?.aborted) throw signal.reason;
    throw toModelSourceError(spec, err, offline, directory);
  } finally {
    clearTimeout(stallNotice);
  }

  const downloaded = last !== undefined;
  const problem = await checkGgufFile(filePath, downloaded ? last?.totalBytes : undefined);
  if (problem !== undefined) {
    // Only files this call wrote are deleted; a bad cached file is reported for the user to inspect.
    if (downloaded) await rm(filePath, { force: true });
    reporter?.finish("failed");
    throw new ModelSourceError(spec, `Downloaded file for "${spec}" is not a valid GGUF model: ${problem}${downloaded ? "" : ` (cached at ${filePath}; delete it to download again)`}`);
  }
  if (downloaded) reporter?.finish("done");
  return { path: filePath, displayName: knownDisplayName ?? hfCachedDisplayName(spec, filePath), source: downloaded ? "download" : "cache" };
}

function hfEndpointOf(options: ResolveModelOptions): string {
  return options.hfEndpoint || process.env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT;
}

/**
 * node-llama-cpp only honours the signal while bytes are flowing; URI resolution and the initial size probe
 * ignore it (and ipull retries unreachable hosts for minutes). So reject as soon as the signal fires, after
 * giving the downloader a moment to close its temp file cleanly.
 */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (err) {
    if (signal.aborted) await Promise.race([work.catch(() => undefined), delay(500, undefined, { ref: false })]);
    throw err;
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}

/** Returns a problem description, or undefined when the file looks like a complete GGUF file. */
async function checkGgufFile(filePath: string, expectedSize: number | undefined): Promise<string | undefined> {
  const info = await stat(filePath).catch(() => undefined);
  if (info === undefined) return `${filePath} is missing after the download`;
  // The announced total covers every part of a split model, so only single files can be compared.
  const split = SPLIT_SUFFIX.test(path.basename(filePath).replace(/\.gguf$/i, ""));
  if (!split && expectedSize !== undefined && expectedSize > 0 && info.size !== expectedSize) {
    return `size ${info.size} bytes, but the server announced ${expectedSize}`;
  }
  const handle = await open(filePath, "r");
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead < 4 || magic.toString("latin1") !== "GGUF") {
      return `it does not start with the GGUF magic (got ${JSON.stringify(magic.subarray(0, bytesRead).toString("latin1"))}; an HTML error page?)`;
    }
  } finally {
    await handle.close();
  }
  return undefined;
}

function toModelSourceError(spec: string, err: unknown, offline: boolean, directory: string): ModelSourceError {
  const field = (name: string): unknown => (err instanceof Object ? (err as Record<string, unknown>)[name] : undefined);
  const status = field("statusCode");
  if (offline) return new ModelSourceError(spec, `Offline mode: "${spec}" is not in the model cache (${directory}). ${String(err)}`, { cause: err });
  if (typeof status !== "number") return new ModelSourceError(spec, `Could not resolve model "${spec}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  const hint =
    status === 401 || status === 403
      ? " The model may be gated or private: set HF_TOKEN to a token with access."
      : status === 404
        ? HF_PREFIX.test(spec)
          ? " Check the owner, repository and file name."
          : " Check the URL."
        : "";
  const statusText = field("statusText");
  const url = field("url");
  const detail = `${typeof statusText === "string" ? ` ${statusText}` : ""}${typeof url === "string" ? ` (${url})` : ""}`;
  return new ModelSourceError(spec, `Could not download model "${spec}": HTTP ${status}${detail}.${hint}`, { cause: err, statusCode: status });
}

/** The URL's file name, decoded and cut after `.gguf` (as node-llama-cpp does for `.gguf.partNofM` URLs). */
function urlFileName(url: URL): string {
  const raw = url.pathname.split("/").pop() ?? "";
  let last: string;
  try {
    last = decodeURIComponent(raw);
  } catch {
    last = raw;
  }
  const ggufAt = last.toLowerCase().indexOf(".gguf");
  if (ggufAt >= 0) return last.slice(0, ggufAt + ".gguf".length);
  return `${last || url.hostname}.gguf`;
}

/**
 * Cache name for a plain URL: `url_<hash>_<file name>`. Giving node-llama-cpp an explicit name is what lets a
 * later call find the file without a request (it would otherwise probe the URL for a content-disposition name).
 * The hash (origin + path, not the query, which often holds expiring signatures) keeps equal names apart.
 */
function urlCacheFileName(url: URL, fileName: string): string {
  const hash = createHash("sha256")
    .update(url.origin + url.pathname)
    .digest("hex")
    .slice(0, 10);
  const safe = fileName.replace(/[^\w.-]+/g, "_");
  return `url_${hash}_${safe}`;
}

/** Mirrors node-llama-cpp's `isHuggingFaceUrl`: the endpoint's host, or huggingface.co/hf.co with the default endpoint. */
function isHuggingFaceHost(url: URL, hfEndpoint: string): boolean {
  const endpointHost = URL.canParse(hfEndpoint) ? new URL(hfEndpoint).hostname : undefined;
  const official = (host: string | undefined): boolean => host === "huggingface.co" || host === "hf.co";
  return url.hostname === endpointHost || (official(endpointHost) && official(url.hostname));
}

/** `hf:owner/repo/dir/file.gguf#branch` → `file`; `hf:owner/repo:quant` → undefined (known only after resolving). */
function hfDisplayName(spec: string): string | undefined {
  const parts = spec.replace(HF_PREFIX, "").split("#")[0]?.split("/") ?? [];
  if (parts.length < 3 || (parts[1] ?? "").includes(":")) return undefined;
  return modelDisplayName(parts[parts.length - 1] ?? "");
}

/**
 * For `hf:owner/repo:quant`, node-llama-cpp names the file `hf_<owner>_[<repo>_]<repo minus -GGUF>.<QUANT>.gguf`;
 * the display name drops that prefix: `hf:owner/Foo-GGUF:Q4_K_M` → `Foo.Q4_K_M`.
 */
function hfCachedDisplayName(spec: string, filePath: string): string {
  let name = modelDisplayName(filePath);
  const [owner = "", repoAndTag = ""] = spec.replace(HF_PREFIX, "").split("/");
  const repo = repoAndTag.split(":")[0] ?? "";
  if (name.startsWith(`hf_${owner}_`)) name = name.slice(`hf_${owner}_`.length);
  if (repo !== "" && name.startsWith(`${repo}_`)) name = name.slice(repo.length + 1);
  return name;
}
