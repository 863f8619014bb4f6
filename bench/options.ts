/**
 * Command-line flags of the load benchmark (`npm run bench -- --help`), parsed into a typed,
 * validated BenchOptions with the defaults documented on each field.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { defaultThreads } from "../src/engines/llama/threads.ts";
import { FLASH_ATTENTION, GPU_BACKENDS, type FlashAttention, type GpuBackend } from "../src/config/placement.ts";

export interface BenchOptions {
  /** `--model`: GGUF path, hf:… or https:// URL (default: Parley's built-in test model). */
  readonly model: string | undefined;
  /** `--threads` for Parley and the raw engine (default: Parley's default, 1 up to 2 cores, else cores − 1). */
  readonly threads: number;
  /** `--parallel`: Parley's slots (default 4, Parley's default). */
  readonly parallel: number;
  /** `--ctx-size`: context tokens per slot (default: Parley's, the model's, at most 4096). */
  readonly ctxSize: number | undefined;
  /** `--batch-size` (default: Parley's, 512). */
  readonly batchSize: number | undefined;
  /** `--concurrency`: the levels, comma-separated (default 1,4,8,16). */
  readonly concurrency: readonly number[];
  /** `--max-tokens`: tokens each throughput request generates (default 128). */
  readonly maxTokens: number;
  /** `--requests`: measured requests per level (default 4 × concurrency, at least 8). */
  readonly requests: number | undefined;
  /** `--duration`: seconds per level instead of a request count (default: off). */
  readonly durationSeconds: number | undefined;
  /** `--short-requests`: `max_tokens: 1` requests per level (default 8 × concurrency, at least 32; 0 skips). */
  readonly shortRequests: number | undefined;
  /** `--prefix-requests`: requests of each shared-prefix workload (default 16; 0 skips it). */
  readonly prefixRequests: number;
  /** `--prefix-words`: words in the long system prompt (default 120). */
  readonly prefixWords: number;
  /** `--prefix-concurrency` (default 4). */
  readonly prefixConcurrency: number;
  /** `--peer-url`: another OpenAI-compatible server to run the same workloads against (default none). */
  readonly peerUrl: string | undefined;
  /** `--peer-model`: the `model` the peer expects (default: the first id its /v1/models lists). */
  readonly peerModel: string | undefined;
  /** `--parley-url`: measure an already running Parley instead of starting one (default: start one). */
  readonly parleyUrl: string | undefined;
  /** `--no-raw`: skip the raw node-llama-cpp baseline. */
  readonly raw: boolean;
  /**
   * `--utf8-bias`: send every request (to every server) a logit_bias banning the tokens that are not
   * valid UTF-8 alone (./utf8-bias.ts). "auto" (default): on for Parley's random-weight test models
   * (GGUF `general.name` "Parley Test Model…"), off otherwise.
   */
  readonly utf8Bias: "auto" | "on" | "off";
  /** `--json <file>`: also write every result as JSON (default: off). */
  readonly json: string | undefined;
  /** `--gpu`: the backend for Parley and the raw engine (default `auto`, Parley's default). */
  readonly gpu: GpuBackend;
  /** `--flash-attn`: for Parley and the raw engine (default `auto`, Parley's default). */
  readonly flashAttn: FlashAttention;
}

export const USAGE = `Usage: npm run bench -- [options]

Starts Parley (a child process) on a model and measures it with a streaming load generator:
throughput per concurrency level, requests/s at max_tokens 1, a shared-prefix workload, and the
raw node-llama-cpp baseline; with --peer-url the same workloads also run against another
OpenAI-compatible server (alternating per level) and Parley/peer ratios are printed.

  --model <gguf>            GGUF path, hf:owner/repo/file.gguf or URL (default: built-in test model)
  --threads <n>             Parley's and the raw engine's threads (default: Parley's default)
  --parallel <n>            Parley's slots (default 4)
  --ctx-size <n>            context tokens per slot (default: Parley's)
  --batch-size <n>          tokens per decode batch (default: Parley's)
  --concurrency <list>      concurrency levels (default 1,4,8,16)
  --max-tokens <n>          tokens per throughput request, ignore_eos (default 128)
  --requests <n>            measured requests per level (default 4 × concurrency, at least 8)
  --duration <s>            seconds per level (throughput and max_tokens=1 runs) instead of counts
  --short-requests <n>      max_tokens=1 requests per level (default 8 × concurrency, at least 32; 0 skips)
  --prefix-requests <n>     requests per shared-prefix workload (default 16; 0 skips)
  --prefix-words <n>        words of the shared system prompt (default 120)
  --prefix-concurrency <n>  concurrency of the shared-prefix workload (default 4)
  --peer-url <base>         also measure this server, e.g. http://127.0.0.1:8099 (llama-server)
  --peer-model <id>         model name the peer expects (default: first of its /v1/models)
  --parley-url <base>       measure a running Parley instead of starting one
  --no-raw                  skip the raw-engine baseline
  --utf8-bias auto|on|off   ban tokens that are not UTF-8 alone in every request (default auto:
                            on for Parley's random-weight test models, which llama-server rejects
                            otherwise)
  --json <file>             also write all results as JSON
  --gpu <backend>           auto (default), cuda, vulkan, metal or false: Parley's and the raw
                            engine's backend
  --flash-attn on|off|auto  Parley's and the raw engine's flash attention (default auto)
`;

const FLAGS = {
  model: { type: "string" },
  threads: { type: "string" },
  parallel: { type: "string" },
  "ctx-size": { type: "string" },
  "batch-size": { type: "string" },
  concurrency: { type: "string" },
  "max-tokens": { type: "string" },
  requests: { type: "string" },
  duration: { type: "string" },
  "short-requests": { type: "string" },
  "prefix-requests": { type: "string" },
  "prefix-words": { type: "string" },
  "prefix-concurrency": { type: "string" },
  "peer-url": { type: "string" },
  "peer-model": { type: "string" },
  "parley-url": { type: "string" },
  "no-raw": { type: "boolean" },
  "utf8-bias": { type: "string" },
  json: { type: "string" },
  gpu: { type: "string" },
  "flash-attn": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function int(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses the flags; `undefined` when --help was asked for. Throws an Error with a readable message. */
export function parseBenchOptions(args: readonly string[]): BenchOptions | undefined {
  const { values: v } = parseArgs({ args: [...args], options: FLAGS, strict: true, allowPositionals: false });
  if (v.help) return undefined;
  const concurrency = (v.concurrency ?? "1,4,8,16").split(",").map((s) => int("concurrency", s.trim(), 1) ?? 1);
  const utf8Bias = v["utf8-bias"] ?? "auto";
  if (utf8Bias !== "auto" && utf8Bias !== "on" && utf8Bias !== "off") throw new Error(`--utf8-bias: expected auto, on or off, got ${JSON.stringify(utf8Bias)}`);
  const gpu = v.gpu ?? "auto";
  if (!(GPU_BACKENDS as readonly string[]).includes(gpu)) throw new Error(`--gpu: expected one of ${GPU_BACKENDS.join(", ")}, got ${JSON.stringify(gpu)}`);
  const flashAttn = v["flash-attn"] ?? "auto";
  if (!(FLASH_ATTENTION as readonly string[]).includes(flashAttn)) throw new Error(`--flash-attn: expected on, off or auto, got ${JSON.stringify(flashAttn)}`);
  const duration = v.duration === undefined ? undefined : Number(v.duration);
  if (duration !== undefined && !(duration > 0)) throw new Error(`--duration: expected seconds > 0, got ${JSON.stringify(v.duration)}`);
  return {
    model: v.model,
    threads: int("threads", v.threads, 1) ?? defaultThreads(availableParallelism()),
    parallel: int("parallel", v.parallel, 1) ?? 4,
    ctxSize: int("ctx-size", v["ctx-size"], 16),
    batchSize: int("batch-size", v["batch-size"], 1),
    concurrency,
    maxTokens: int("max-tokens", v["max-tokens"], 1) ?? 128,
    requests: int("requests", v.requests, 1),
    durationSeconds: duration,
    shortRequests: int("short-requests", v["short-requests"], 0),
    prefixRequests: int("prefix-requests", v["prefix-requests"], 0) ?? 16,
    prefixWords: int("prefix-words", v["prefix-words"], 1) ?? 120,
    prefixConcurrency: int("prefix-concurrency", v["prefix-concurrency"], 1) ?? 4,
    peerUrl: v["peer-url"],
    peerModel: v["peer-model"],
    parleyUrl: v["parley-url"],
    raw: !v["no-raw"],
    utf8Bias,
    json: v.json,
    gpu: gpu as GpuBackend,
    flashAttn: flashAttn as FlashAttention,
  };
}

/** Measured requests at concurrency `c`: --requests, else 4 × c (at least 8). */
export function requestsAt(options: BenchOptions, c: number): number {
  return options.requests ?? Math.max(8, 4 * c);
}

/** max_tokens=1 requests at concurrency `c`: --short-requests, else 8 × c (at least 32). */
export function shortRequestsAt(options: BenchOptions, c: number): number {
  return options.shortRequests ?? Math.max(32, 8 * c);
}
