/**
 * The zod schema of the `--config` file (YAML or JSON): server settings, `models:` (local GGUFs or
 * upstream OpenAI-compatible servers), `keys:` and the admin key. Every object is strict (unknown
 * keys are errors). Cross-field rules (unique ids and aliases, keys naming known models, environment
 * variables that must be set) are checked here too, so each issue carries the path of its field.
 */
import { z } from "zod";
import { configSchema } from "./config.ts";
import { UPSTREAM_DIALECTS } from "../engines/upstream/dialect.ts";
import { FLASH_ATTENTION, KV_CACHE_TYPES } from "./placement.ts";

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const name = z.string().min(1).max(256);

/**
 * Server-level settings: the flag schema's fields, minus those that describe one model (set per
 * model in `models:`) and `config` itself. Same names as the flags, camelCase (`queueSize`).
 */
export const serverSettingsSchema = configSchema
  .omit({
    model: true,
    modelAlias: true,
    ctxSize: true,
    parallel: true,
    threads: true,
    batchSize: true,
    gpuLayers: true,
    flashAttn: true,
    kvCacheType: true,
    mlock: true,
    noMmap: true,
    lora: true,
    chatTemplateFile: true,
    draftModel: true,
    config: true,
    apiKey: true,
    adminKey: true,
  })
  .partial()
  .strict();

const loraSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "ids are letters, digits, . _ / - (at most 128)"),
  path: z.string().min(1),
  scale: z.number().default(1),
});

const localSchema = z
  .strictObject({
    path: z.string().min(1).optional(),
    hf: z
      .string()
      .regex(/^[^/\s]+\/[^/\s]+\/.+\.gguf$/i, "expected owner/repo/file.gguf")
      .optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
    ctxSize: int(16).optional(),
    parallel: int(1, 256).optional(),
    threads: int(1, 1024).optional(),
    batchSize: int(1).optional(),
    chatTemplateFile: z.string().min(1).optional(),
    /** A small GGUF of the same vocabulary drafting for this model: a path (relative to this file), hf:owner/repo/file.gguf or a URL. */
    draftModel: z.string().min(1).optional(),
    lora: z.array(loraSchema).default([]),
    gpuLayers: z.union([z.enum(["auto", "max"]), int(0)]).optional(),
    flashAttn: z.enum(FLASH_ATTENTION).optional(),
    kvCacheType: z.enum(KV_CACHE_TYPES).optional(),
    mlock: z.boolean().optional(),
    mmap: z.boolean().optional(),
    /** Seconds without requests before the model is unloaded (default: the server's `idleTtl`; 0: until evicted). */
    ttl: z.number().min(0).max(31_536_000).optional(),
    /** Never unloaded to make room, nor for idleness (default false). */
    pin: z.boolean().optional(),
    /** Loaded at start rather than on the first request that names it (default false). */
    preload: z.boolean().optional(),
  })
  .superRefine((local, ctx) => {
    const sources = (["path", "hf", "url"] as const).filter((k) => local[k] !== undefined);
    if (sources.length !== 1) ctx.addIssue({ code: "custom", message: `exactly one of path, hf or url is required (got ${sources.length === 0 ? "none" : sources.join(", ")})` });
    const seen = new Set<string>();
    local.lora.forEach((adapter, i) => {
      if (seen.has(adapter.id)) ctx.addIssue({ code: "custom", path: ["lora", i, "id"], message: `the adapter id "${adapter.id}" is registered twice` });
      seen.add(adapter.id);
    });
  });

const baseUrl = z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, ""));

/** `env` is consulted for `apiKeyEnv`: a variable that is unset (or empty) is an error. */
function upstreamSchema(env: NodeJS.ProcessEnv) {
  return z
    .strictObject({
      baseUrl: baseUrl.optional(),
      baseUrls: z.array(baseUrl).min(1).optional(),
      apiKeyEnv: envVarName(env).optional(),
      model: name,
      timeout: z.number().positive().max(86_400).optional(),
      maxConcurrent: int(1).optional(),
      headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "not an HTTP header name"), z.string()).optional(),
      unsupported: z.strictObject({ mode: z.enum(["drop", "reject"]), fields: z.array(z.string().min(1)).min(1) }).optional(),
      healthInterval: z.number().positive().max(3_600).optional(),
      dialect: z.enum(UPSTREAM_DIALECTS).optional(),
      affinity: z
        .union([
          z.boolean(),
          z.strictObject({
            loadFactor: z.number().min(1).max(10).exactOptional(),
            minPrefixChars: int(1).exactOptional(),
          }),
        ])
        .optional(),
    })
    .superRefine((upstream, ctx) => {
      if ((upstream.baseUrl === undefined) === (upstream.baseUrls === undefined)) {
        ctx.addIssue({ code: "custom", message: "exactly one of baseUrl or baseUrls is required" });
      }
    });
}

function envVarName(env: NodeJS.ProcessEnv) {
  return z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected the name of an environment variable (the secret itself never goes in this file)")
    .superRefine((variable, ctx) => {
      if ((env[variable] ?? "") === "") ctx.addIssue({ code: "custom", message: `the environment variable ${variable} is not set` });
    });
}

function modelSchema(env: NodeJS.ProcessEnv) {
  return z
    .strictObject({
      id: name,
      aliases: z.array(name).default([]),
      local: localSchema.optional(),
      upstream: upstreamSchema(env).optional(),
      /**
       * `embedding`: the model answers `/v1/embeddings` only; `chat`: it generates text. Absent: a local
       * model is what its GGUF says (pooling metadata or an encoder architecture: embedding), an upstream `chat`.
       */
      kind: z.enum(["chat", "embedding"]).optional(),
      /** An embedding model trained for truncated vectors (Matryoshka): `dimensions` may cut them (default false). */
      matryoshka: z.boolean().optional(),
    })
    .superRefine((model, ctx) => {
      if ((model.local === undefined) === (model.upstream === undefined)) ctx.addIssue({ code: "custom", message: "exactly one of local or upstream is required" });
      if (model.matryoshka !== undefined && model.kind !== "embedding") ctx.addIssue({ code: "custom", path: ["matryoshka"], message: "only an embedding model (kind: embedding) takes matryoshka" });
      if (model.kind === "embedding" && model.local !== undefined && (model.local.lora.length > 0 || model.local.chatTemplateFile !== undefined || model.local.draftModel !== undefined)) {
        ctx.addIssue({ code: "custom", path: ["local"], message: "an embedding model takes no lora adapters, chatTemplateFile or draftModel" });
      }
    });
}

// exactOptional (here and in `affinity`): these objects pass on as they are, so an absent field stays absent.
const limitsSchema = z.strictObject({
  requestsPerMinute: int(1).exactOptional(),
  tokensPerMinute: int(1).exactOptional(),
  maxConcurrent: int(1).exactOptional(),
});

const keySchema = z
  .strictObject({
    user: name,
    key: z.string().min(8, "keys are at least 8 characters").optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "expected 64 hex digits (sha256 of the key)")
      .transform((hex) => hex.toLowerCase())
      .optional(),
    models: z.array(name).optional(),
    limits: limitsSchema.optional(),
  })
  .superRefine((key, ctx) => {
    if ((key.key === undefined) === (key.sha256 === undefined)) ctx.addIssue({ code: "custom", message: "exactly one of key or sha256 is required" });
  });

/** The whole file. */
export function configFileSchema(env: NodeJS.ProcessEnv) {
  return z
    .strictObject({
      server: serverSettingsSchema.default({}),
      models: z.array(modelSchema(env)).min(1),
      keys: z.array(keySchema).default([]),
      adminKey: z.string().min(8, "the admin key is at least 8 characters").optional(),
      adminKeyEnv: envVarName(env).optional(),
    })
    .superRefine((file, ctx) => {
      if (file.adminKey !== undefined && file.adminKeyEnv !== undefined) {
        ctx.addIssue({ code: "custom", path: ["adminKeyEnv"], message: "give adminKey or adminKeyEnv, not both" });
      }
      // Ids and aliases share one namespace: what a client sends must name exactly one model.
      const names = new Map<string, string>();
      const claim = (value: string, path: (string | number)[]) => {
        const first = names.get(value);
        if (first !== undefined) ctx.addIssue({ code: "custom", path, message: `"${value}" is already used by ${first}` });
        else
          names.set(
            value,
            path
              .map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`))
              .join("")
              .slice(1),
          );
      };
      file.models.forEach((model, i) => {
        claim(model.id, ["models", i, "id"]);
        model.aliases.forEach((alias, j) => claim(alias, ["models", i, "aliases", j]));
      });
      const secrets = new Set<string>();
      file.keys.forEach((key, i) => {
        key.models?.forEach((model, j) => {
          if (!names.has(model)) ctx.addIssue({ code: "custom", path: ["keys", i, "models", j], message: `no model has the id or alias "${model}"` });
        });
        const secret = key.key === undefined ? `sha256:${key.sha256}` : `key:${key.key}`;
        if (secrets.has(secret)) ctx.addIssue({ code: "custom", path: ["keys", i, key.key === undefined ? "sha256" : "key"], message: "this key is listed twice" });
        secrets.add(secret);
      });
    });
}

export type ConfigFileData = z.infer<ReturnType<typeof configFileSchema>>;
export type ModelEntry = ConfigFileData["models"][number];
