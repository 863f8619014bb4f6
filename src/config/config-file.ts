/**
 * `parley serve --config parley.yaml`: reads the configuration file (YAML, or JSON, which the same
 * YAML 1.2 parser reads, so positions are reported alike), validates it (config-file-schema.ts) and
 * resolves it into what the server starts: server settings, model specs (local GGUFs and upstream
 * servers), API keys and the admin key. Every error names the file, line, column and field path:
 * `parley.yaml:12:5 models[1].upstream.baseUrls: …`. Relative paths in the file are relative to
 * the file's directory.
 *
 * Flags with a file: flags and `PARLEY_*` variables override the file's `server:` settings; the
 * model-defining flags (--model, --model-alias, --lora, --chat-template-file) are an error; the
 * tuning flags (--ctx-size, --parallel, --threads, --batch-size) are defaults for every local
 * model that does not set its own.
 */
import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import type { UpstreamModelOptions } from "../engines/upstream/options.ts";
import { parseSecret } from "./api-key-flag.ts";
import type { ApiKeySpec } from "./api-keys.ts";
import { configFileSchema, type ModelEntry } from "./config-file-schema.ts";
import { loadConfig, type Config } from "./config.ts";
import type { LoraSpec } from "./lora-spec.ts";
import type { ModelPlacement } from "./placement.ts";
import { formatPath, positionOf, type FieldPath } from "./yaml-positions.ts";

export interface LocalModelSpec {
  readonly kind: "local";
  readonly id: string;
  readonly aliases: readonly string[];
  /** What resolveModelSource takes: an absolute path, `hf:owner/repo/file.gguf` or a URL. */
  readonly source: string;
  readonly ctxSize?: number;
  readonly parallel?: number;
  readonly threads?: number;
  readonly batchSize?: number;
  /** Absolute path. */
  readonly chatTemplateFile?: string;
  /** A draft model for speculative decoding, as `source` takes it (engines/llama/draft-model.ts; default none). */
  readonly draftModel?: string;
  readonly lora: readonly LoraSpec[];
  /**
   * `embedding`: an embedding model (engines/llama/embed-engine.ts); `chat`: a chat model; absent:
   * whichever the GGUF says (engines/llama/model-kind.ts: its pooling metadata or encoder architecture).
   */
  readonly modelKind?: "chat" | "embedding";
  /** An embedding model trained for truncated vectors: `dimensions` may cut them (default false). */
  readonly matryoshka?: boolean;
  /** GPU offload, flash attention, KV cache type, mlock/mmap (absent ones: the flags', then the defaults). */
  readonly placement?: ModelPlacement;
  /** When it loads and unloads (absent: lazily loaded, unloaded after the server's idle TTL or to make room). */
  readonly lifecycle?: ModelLifecycleSpec;
}

/** When a local model loads and unloads (router/managed-model.ts). */
export interface ModelLifecycleSpec {
  /** Seconds without requests before it is unloaded; 0: never for idleness (default: the server's `--idle-ttl`). */
  readonly ttl?: number;
  /** Never unloaded to make room or for idleness; only by `POST /models/unload` (default false). */
  readonly pin?: boolean;
  /** Load at start, not on the first request naming it (default false; true for a flags-only `--model`). */
  readonly preload?: boolean;
}

export interface UpstreamModelSpec {
  readonly kind: "upstream";
  readonly id: string;
  readonly aliases: readonly string[];
  /** What the upstream engine takes (the API key already read from its environment variable). */
  readonly options: UpstreamModelOptions;
}

export type ModelSpec = LocalModelSpec | UpstreamModelSpec;

export type SecretSpec = { readonly key: string } | { readonly sha256: string };

export interface ConfigFile {
  readonly path: string;
  /** The `server:` section, in the flag schema's names (camelCase), not yet merged with flags. */
  readonly server: Readonly<Record<string, unknown>>;
  readonly models: readonly ModelSpec[];
  readonly keys: readonly ApiKeySpec[];
  readonly adminKey?: SecretSpec;
}

/** A configuration error; `message` lists every problem, one `file:line:col path: message` a line. */
export class ConfigFileError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigFileError";
    this.problems = problems;
  }
}

/** Reads and resolves a config file. `env` supplies the variables named by `apiKeyEnv`/`adminKeyEnv`. */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigFileError([`${path}: cannot read the config file: ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseConfigFile(text, path, env);
}

/** Parses config text; `path` is used in messages and as the base of relative paths. */
export function parseConfigFile(text: string, path: string, env: NodeJS.ProcessEnv = process.env): ConfigFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) throw new ConfigFileError(doc.errors.map((e) => `${at(e.pos[0])} ${e.message}`));
  if (extname(path).toLowerCase() === ".json" && !/^\s*\{/.test(text)) throw new ConfigFileError([`${at(0)} a .json config file must hold one JSON object`]);

  const input: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = configFileSchema(env).safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      describeIssue(issue, (p, atKey) => {
        const { line, col } = positionOf(doc, lineCounter, p, atKey);
        return `${path}:${line}:${col}`;
      }),
    );
    throw new ConfigFileError(problems);
  }
  const file = parsed.data;
  const base = dirname(resolve(path));
  const abs = (p: string) => resolve(base, p);

  // Only the settings the file sets (the schema fills in defaults), so flags and env still override them.
  const given = (input as { server?: Record<string, unknown> }).server ?? {};
  const server: Record<string, unknown> = Object.fromEntries(Object.entries(file.server).filter(([key]) => key in given));
  for (const key of ["requestLog", "cacheDir", "responsesStore", "modelsDir", "promptCacheDir"] as const) {
    const value = server[key];
    if (typeof value === "string" && !(key === "responsesStore" && value === "off")) server[key] = abs(value);
  }
  const problems: string[] = [];
  let adminKey: SecretSpec | undefined;
  const adminValue = file.adminKeyEnv === undefined ? file.adminKey : env[file.adminKeyEnv];
  if (adminValue !== undefined) {
    const field = file.adminKeyEnv === undefined ? "adminKey" : "adminKeyEnv";
    try {
      adminKey = parseSecret(adminValue, field);
    } catch (error) {
      const { line, col } = positionOf(doc, lineCounter, [field]);
      problems.push(`${path}:${line}:${col} ${field}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) throw new ConfigFileError(problems);

  return {
    path,
    server,
    models: file.models.map((model) => toModelSpec(model, abs, env)),
    keys: file.keys.map((k) => ({
      user: k.user,
      ...(k.key === undefined ? {} : { key: k.key }),
      ...(k.sha256 === undefined ? {} : { sha256: k.sha256 }),
      ...(k.models === undefined ? {} : { models: k.models }),
      ...(k.limits === undefined ? {} : { limits: k.limits }),
    })),
    ...(adminKey === undefined ? {} : { adminKey }),
  };
}

/** One zod issue as `file:line:col path: message` lines (an unknown-keys issue gives one per key). */
function describeIssue(issue: z.core.$ZodIssue, at: (path: FieldPath, atKey: boolean) => string): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return `${at(path, true)} ${formatPath(path)}: unknown field`;
    });
  }
  return [`${at(issue.path, false)} ${formatPath(issue.path)}: ${issue.message}`];
}

function toModelSpec(model: ModelEntry, abs: (p: string) => string, env: NodeJS.ProcessEnv): ModelSpec {
  if (model.local !== undefined) {
    const local = model.local;
    const source = local.path !== undefined ? abs(local.path) : local.hf !== undefined ? `hf:${local.hf}` : (local.url ?? "");
    return {
      kind: "local",
      id: model.id,
      aliases: model.aliases,
      source,
      ...(local.ctxSize === undefined ? {} : { ctxSize: local.ctxSize }),
      ...(local.parallel === undefined ? {} : { parallel: local.parallel }),
      ...(local.threads === undefined ? {} : { threads: local.threads }),
      ...(local.batchSize === undefined ? {} : { batchSize: local.batchSize }),
      ...(local.chatTemplateFile === undefined ? {} : { chatTemplateFile: abs(local.chatTemplateFile) }),
      ...(local.draftModel === undefined ? {} : { draftModel: /^(hf:|https?:\/\/)/i.test(local.draftModel) ? local.draftModel : abs(local.draftModel) }),
      lora: local.lora.map((adapter) => ({ id: adapter.id, path: abs(adapter.path), scale: adapter.scale })),
      ...(model.kind === "embedding" ? { modelKind: "embedding" as const, matryoshka: model.matryoshka ?? false } : {}),
      ...(model.kind === "chat" ? { modelKind: "chat" as const } : {}),
      placement: definedOnly({ gpuLayers: local.gpuLayers, flashAttention: local.flashAttn, kvCacheType: local.kvCacheType, mlock: local.mlock, mmap: local.mmap }),
      lifecycle: definedOnly({ ttl: local.ttl, pin: local.pin, preload: local.preload }),
    };
  }
  const upstream = model.upstream;
  if (upstream === undefined) throw new Error("unreachable: the schema requires local or upstream");
  const apiKey = upstream.apiKeyEnv === undefined ? undefined : env[upstream.apiKeyEnv];
  const options: UpstreamModelOptions = {
    id: model.id,
    baseUrls: upstream.baseUrls ?? (upstream.baseUrl === undefined ? [] : [upstream.baseUrl]),
    model: upstream.model,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(upstream.timeout === undefined ? {} : { timeoutMs: upstream.timeout * 1000 }),
    ...(upstream.maxConcurrent === undefined ? {} : { maxConcurrent: upstream.maxConcurrent }),
    ...(upstream.headers === undefined ? {} : { headers: upstream.headers }),
    ...(upstream.unsupported === undefined ? {} : { unsupported: upstream.unsupported }),
    ...(upstream.healthInterval === undefined ? {} : { healthIntervalMs: upstream.healthInterval * 1000 }),
    ...(upstream.dialect === undefined ? {} : { dialect: upstream.dialect }),
    ...(model.kind === "embedding" ? { kind: "embedding" as const } : {}),
    ...(upstream.affinity === undefined || upstream.affinity === true ? {} : { affinity: upstream.affinity }),
  };
  return { kind: "upstream", id: model.id, aliases: model.aliases, options };
}

/** `record` without its undefined entries (for exactOptionalPropertyTypes). */
export function definedOnly<T extends object>(record: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

export interface ServeConfig {
  /** Flags, env and the file's `server:` settings, merged (flags and env win). */
  readonly config: Config;
  /** The config file, when `--config` was given. */
  readonly file: ConfigFile | undefined;
}

/** `parley serve` arguments (and env), with the config file they name, if any. Throws readable Errors. */
export function loadServeConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const flags = loadConfig(args, env);
  if (flags.config === undefined) return { config: flags, file: undefined };
  const conflicts = [
    flags.model === undefined ? undefined : "--model",
    flags.modelAlias === undefined ? undefined : "--model-alias",
    flags.lora.length === 0 ? undefined : "--lora",
    flags.chatTemplateFile === undefined ? undefined : "--chat-template-file",
    flags.draftModel === undefined ? undefined : "--draft-model",
  ].filter((flag) => flag !== undefined);
  if (conflicts.length > 0) {
    throw new Error(`Invalid configuration:\n  ${conflicts.join(", ")} (or their PARLEY_* variables) cannot be combined with --config: set models in the file's models: list`);
  }
  const file = loadConfigFile(flags.config, env);
  return { config: loadConfig(args, env, file.server), file };
}
