/**
 * `parley serve` configuration: command-line flags, each also readable from an environment
 * variable `PARLEY_<FLAG>` (e.g. `--ctx-size` ↔ `PARLEY_CTX_SIZE`); flags win. Validated with zod
 * into a frozen, typed Config.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseApiKeyFlags, parseSecret } from "./api-key-flag.ts";
import { parseCorsOrigins } from "./cors-origins.ts";
import { DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT_S, DEFAULT_REQUEST_TIMEOUT_S, DEFAULT_RESPONSES_MAX, DEFAULT_RESPONSES_RETENTION_DAYS, DEFAULT_STEP_TIMEOUT_S } from "./defaults.ts";
import { parseLoraSpecs } from "./lora-spec.ts";
import { parseByteSize } from "./byte-size.ts";
import { FLASH_ATTENTION, GPU_BACKENDS, KV_CACHE_TYPES, parseGpuLayers, parseMemoryBudget } from "./placement.ts";
import { parseLimits } from "../domain/limits.ts";

const FLAGS = {
  config: { type: "string", help: 'YAML or JSON file with models (local and upstream), keys and server settings; flags and env override its server settings (README "Scaling out")' },
  model: { type: "string", help: "GGUF to serve: a path, hf:owner/repo/file.gguf, or an https:// URL (default: the built-in test model)" },
  "model-alias": { type: "string", help: "Model id clients send (default: the file's base name)" },
  host: { type: "string", help: "Address to listen on (default 127.0.0.1)" },
  port: { type: "string", help: "Port to listen on (default 8080)" },
  "ctx-size": { type: "string", help: "Context tokens per slot (default: the model's, at most 4096)" },
  parallel: { type: "string", help: "Concurrent sequences (slots) (default 4)" },
  threads: { type: "string", help: "CPU threads for evaluation (default: 1 up to 2 cores, else cores − 1; see README)" },
  "batch-size": { type: "string", help: "Tokens per decode batch (default 512)" },
  "gpu-layers": { type: "string", help: "Layers offloaded to the GPU: auto (default: as many as fit), max, or a number (0: CPU only)" },
  "flash-attn": { type: "string", help: "Flash attention: on, off or auto (default: on where the backend supports it)" },
  "kv-cache-type": { type: "string", help: "Type of the KV cache's keys and values: f16 (default), q8_0 or q4_0 (less memory, a little less precise)" },
  mlock: { type: "boolean", help: "Lock the model's weights in RAM so they are never swapped out" },
  "no-mmap": { type: "boolean", help: "Read the model into memory instead of mapping the file" },
  gpu: { type: "string", help: "GPU backend: auto (default), cuda, vulkan, metal, or false (CPU only); one for the whole process" },
  "models-dir": { type: "string", help: 'Folder whose *.gguf files are served too, each named by its file, loaded on first use (README "Models")' },
  "max-loaded-models": { type: "string", help: "Local models loaded at once at most; the least recently used idle one is unloaded to load another (default: no limit but memory)" },
  "memory-budget": { type: "string", help: "Memory local models may take together: auto (default: the machine's, less a margin), a size (20GiB: VRAM on a GPU, else RAM), or ram=<size>,vram=<size>" },
  "idle-ttl": { type: "string", help: "Seconds a local model stays loaded without requests before it is unloaded; 0: until evicted (default 0)" },
  "prompt-cache-ram": { type: "string", help: "Host RAM for prompt states evicted from the slots, restored when a prompt shares their prefix: a size, 0 for off (default 2GiB)" },
  "prompt-cache-dir": { type: "string", help: "Folder where evicted prompt states are also kept on disk (default: none)" },
  "draft-ngram": {
    type: "string",
    help: "Prompt-lookup speculative decoding: draft the tokens that followed the last n generated ones earlier in the prompt or output; n is the longest run looked up, 0 off (default 0)",
  },
  "draft-model": {
    type: "string",
    help: "A small GGUF of the same vocabulary that drafts tokens for --model (speculative decoding; path, hf:owner/repo/file.gguf or URL; default none)",
  },
  "draft-max": { type: "string", help: "Most tokens drafted per step, by a draft model, prompt lookup or a request's `prediction` (default 16)" },
  "draft-p-min": { type: "string", help: "A draft model's draft ends at a token it gives less than this probability (0-1; default 0: no cut, as llama-server)" },
  "draft-min": { type: "string", help: "Fewest tokens a prompt-lookup draft must have to be tried (default 1)" },
  "queue-size": { type: "string", help: "Requests that may wait for a slot before 429 (default 64)" },
  "queue-timeout": { type: "string", help: "Seconds a request may wait for a slot before it gets 429; 0: no limit (default 60)" },
  "default-max-tokens": { type: "string", help: "max_tokens for requests that send none (default: the room left in the context; OctoAI used 512)" },
  lora: { type: "string", multiple: true, help: "LoRA adapter requests can select with `peft`: <id>=<path.gguf>[:scale], repeatable (env: comma-separated)" },
  "chat-template-file": { type: "string", help: "Jinja chat template overriding the model's own" },
  "validation-status": { type: "string", help: "Status for invalid requests: 400 (default) or 422" },
  "body-limit": { type: "string", help: "Largest request body in bytes (default 16777216)" },
  "shutdown-timeout": { type: "string", help: "Seconds running requests get to finish on SIGINT/SIGTERM (default 10)" },
  "request-timeout": { type: "string", help: 'Seconds a request may run, from its arrival; then its choices end with finish_reason "length"; 0: no limit (default 1800)' },
  "step-timeout": { type: "string", help: "Seconds one decoding step (a prompt batch or a token) may take before its request fails; 0: no limit (default 300)" },
  "reasoning-format": { type: "string", help: "auto (default): a reasoning model's thoughts go in reasoning_content; none: they stay in content" },
  "reasoning-field": { type: "string", help: "Where thoughts go on the wire: reasoning_content (default), reasoning (vLLM >= 0.11, Ollama), or both" },
  "reasoning-budget": { type: "string", help: "Tokens a reasoning model may think when the request sets no budget: -1 no limit (default), 0 thinking off unless asked for" },
  limit: { type: "string", multiple: true, env: "PARLEY_LIMITS", help: 'A request limit: <name>=<value>, repeatable (env: comma-separated); README "Limits" lists every name and default' },
  "cache-dir": { type: "string", help: "Where downloaded models are kept (default ~/.cache/parley)" },
  "request-log": { type: "string", help: "JSONL file each request's metadata is appended to; prompt and output text only for requests with log_prompt: true (default: off)" },
  "responses-store": { type: "string", help: "SQLite file that keeps stored Responses API responses (store, previous_response_id, background), or off (default <cache-dir>/responses.sqlite)" },
  "responses-retention": { type: "string", help: "Days a stored response is kept; 0: forever (default 30)" },
  "responses-max": { type: "string", help: "Stored responses kept at most; the oldest are deleted first (default 10000)" },
  "log-level": { type: "string", help: "fatal, error, warn, info (default), debug, trace or silent" },
  verbose: { type: "boolean", help: "Log at debug level, llama.cpp's own messages included" },
  "api-key": {
    type: "string",
    multiple: true,
    env: "PARLEY_API_KEYS",
    help: "Require `Authorization: Bearer <key>`: [user=]<secret> or [user=]sha256:<hex>, repeatable (env: comma-separated) (default: open server)",
  },
  "admin-key": { type: "string", help: "Bearer key for GET /admin/usage: <secret> or sha256:<hex> (default: no admin route)" },
  "cors-origins": { type: "string", help: "Web pages that may call the API from a browser: * or comma-separated exact origins, e.g. https://chat.example.com (default: none, no CORS headers)" },
} as const;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** A repeated flag's values, or an environment variable's comma-separated ones. */
const stringList = z.union([z.array(z.string()), z.string().transform((list) => list.split(",").filter((s) => s !== ""))]);

/**
 * A repeatable flag (a list; from the environment, comma-separated), parsed as a whole by `parse`,
 * whose Error becomes the field's message.
 */
function repeatable<T>(parse: (values: readonly string[]) => T) {
  return stringList.default([]).transform((values, ctx) => parsedOrIssue(parse, values, ctx));
}

/** `parse(values)`, or its Error as the field's issue. */
function parsedOrIssue<T>(parse: (values: readonly string[]) => T, values: readonly string[], ctx: z.RefinementCtx): T {
  try {
    return parse(values);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
}

/** A boolean flag, or its environment variable's text. */
const booleanFlag = z.union([z.boolean(), z.enum(["1", "true", "yes"]).transform(() => true), z.enum(["0", "false", "no", ""]).transform(() => false)]);

export const configSchema = z.object({
  config: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  modelAlias: z.string().min(1).optional(),
  host: z.string().min(1).default("127.0.0.1"),
  port: int(0, 65535).default(8080),
  ctxSize: int(16).optional(),
  parallel: int(1, 256).default(4),
  threads: int(1, 1024).optional(),
  batchSize: int(1).optional(),
  gpuLayers: z
    .union([z.string(), z.number()])
    .optional()
    .transform((value, ctx) => (value === undefined ? undefined : parsedOrIssue(() => parseGpuLayers(value), [], ctx))),
  flashAttn: z.enum(FLASH_ATTENTION).optional(),
  kvCacheType: z.enum(KV_CACHE_TYPES).optional(),
  mlock: booleanFlag.optional(),
  noMmap: booleanFlag.optional(),
  gpu: z.enum(GPU_BACKENDS).default("auto"),
  modelsDir: z.string().min(1).optional(),
  maxLoadedModels: int(1).optional(),
  memoryBudget: z
    .string()
    .default("auto")
    .transform((value, ctx) => parsedOrIssue(() => parseMemoryBudget(value), [], ctx)),
  idleTtl: z.coerce.number().min(0).max(31_536_000).default(0),
  promptCacheRam: z
    .union([z.string(), z.number()])
    .default("2GiB")
    .transform((value, ctx) => parsedOrIssue(() => parseByteSize(value), [], ctx)),
  promptCacheDir: z.string().min(1).optional(),
  draftNgram: int(0, 64).default(0),
  draftModel: z.string().min(1).optional(),
  draftPMin: z.coerce.number().min(0).max(1).default(0),
  draftMax: int(1, 256).default(16),
  draftMin: int(1, 256).default(1),
  queueSize: int(0).default(DEFAULT_QUEUE_SIZE),
  queueTimeout: z.coerce.number().min(0).max(86_400).default(DEFAULT_QUEUE_TIMEOUT_S),
  defaultMaxTokens: int(1).optional(),
  lora: repeatable(parseLoraSpecs),
  // Flags give name=value pairs; the config file may give an object of numbers.
  limit: z
    .record(z.string(), z.number())
    .transform((record) => Object.entries(record).map(([name, value]) => `${name}=${value}`))
    .or(stringList)
    .default([])
    .transform((pairs, ctx) => parsedOrIssue(parseLimits, pairs, ctx)),
  chatTemplateFile: z.string().min(1).optional(),
  validationStatus: z
    .union([z.literal(400), z.literal(422)])
    .or(z.coerce.number().pipe(z.union([z.literal(400), z.literal(422)])))
    .default(400),
  bodyLimit: int(1024).default(16 * 1024 * 1024),
  shutdownTimeout: z.coerce.number().min(0).max(86_400).default(10),
  requestTimeout: z.coerce.number().min(0).max(604_800).default(DEFAULT_REQUEST_TIMEOUT_S),
  stepTimeout: z.coerce.number().min(0).max(86_400).default(DEFAULT_STEP_TIMEOUT_S),
  reasoningFormat: z.enum(["auto", "none"]).default("auto"),
  reasoningField: z.enum(["reasoning_content", "reasoning", "both"]).default("reasoning_content"),
  reasoningBudget: int(-1).default(-1),
  cacheDir: z.string().min(1).optional(),
  requestLog: z.string().min(1).optional(),
  responsesStore: z.string().min(1).optional(),
  responsesRetention: z.coerce.number().min(0).max(36_500).default(DEFAULT_RESPONSES_RETENTION_DAYS),
  responsesMax: int(1).default(DEFAULT_RESPONSES_MAX),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  verbose: booleanFlag.default(false),
  apiKey: repeatable(parseApiKeyFlags),
  adminKey: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      try {
        return parseSecret(value, "--admin-key");
      } catch (error) {
        ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  // A flag's comma-separated text, or the config file's list.
  corsOrigins: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((value, ctx) => (value === undefined ? undefined : parsedOrIssue(() => parseCorsOrigins(value), [], ctx))),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const envName = (flag: string) => {
  const spec = FLAGS[flag as keyof typeof FLAGS] as { readonly type: string; readonly env?: string };
  return spec.env ?? `PARLEY_${flag.toUpperCase().replaceAll("-", "_")}`;
};

/**
 * Parses `serve` arguments and the environment. Throws an Error with a readable message.
 * `base`: settings that flags and env override (the config file's `server:` section, see config-file.ts).
 */
export function loadConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env, base: Readonly<Record<string, unknown>> = {}): Config {
  const { values } = parseArgs({ args: [...args], options: FLAGS, strict: true, allowPositionals: false });
  const raw: Record<string, unknown> = { ...base };
  for (const flag of Object.keys(FLAGS) as (keyof typeof FLAGS)[]) {
    const fromEnv = env[envName(flag)];
    const value = values[flag] ?? (fromEnv === "" ? undefined : fromEnv); // an empty variable is unset
    if (value !== undefined) raw[camel(flag)] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  --${String(i.path[0] ?? "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return Object.freeze(parsed.data);
}

export function serveHelp(): string {
  const rows = Object.entries(FLAGS).map(([flag, spec]) => `  --${flag}${spec.type === "string" ? " <value>" : ""}\n      ${spec.help} [env ${envName(flag)}]`);
  return `Usage: parley serve [options]\n\n${rows.join("\n")}\n`;
}
