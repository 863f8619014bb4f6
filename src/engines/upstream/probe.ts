/**
 * Which dialect an upstream speaks, found by asking it, for upstreams whose config sets none.
 * In order, stopping at the first answer that decides:
 *
 * 1. `GET <base>/models`: the entry for the configured model (else the first) — `owned_by`
 *    `vllm`, `sglang`, `llamacpp` (llama.cpp's server) or `parley`; a `parley` field (Parley's
 *    model entries carry one) also means Parley.
 * 2. `GET <root>/props` (root: the base URL without its `/v1`): llama.cpp's server answers with
 *    `default_generation_settings` / `total_slots`.
 * 3. `GET <root>/get_server_info`: SGLang answers with its server arguments (`model_path`, `tp_size`, …).
 * 4. `GET <root>/version`: vLLM answers `{"version": "x.y.z"}` (older than 0.10.2 reads
 *    `guided_*`, not `structured_outputs`: it gets the `openai` dialect, with a warning).
 *
 * An upstream that answers none of these recognisably is `openai` (the safe dialect: every field
 * outside OpenAI's API is refused rather than silently ignored). The parsing functions are pure;
 * `probeDialect` does the requests through an injected `get`; `DialectResolver` probes the
 * replicas in order at start, logs what it found, and, when none could be reached, uses `openai`
 * and probes again on a request `reprobeMs` later.
 */
import type { Logger } from "../../util/logger.ts";
import { request as undiciRequest, type Dispatcher } from "undici";
import type { UpstreamDialect } from "./dialect.ts";
import { parseJson, readBounded } from "./response-events.ts";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** What one GET returned: its status and its body parsed as JSON (undefined when it is not JSON). */
export interface ProbeResponse {
  readonly status: number;
  readonly json: unknown;
}

export interface ProbeResult {
  readonly dialect: UpstreamDialect;
  /** How it was decided, for the log: e.g. `GET /v1/models: owned_by "vllm"`. */
  readonly evidence: string;
  /** Something the operator should know (an old vLLM). */
  readonly warning?: string;
}

const OWNERS: Readonly<Record<string, UpstreamDialect>> = { vllm: "vllm", sglang: "sglang", llamacpp: "llama-server", "llama.cpp": "llama-server", parley: "parley" };

/** Step 1: the dialect a `/models` list names for `model`, if any. */
export function dialectFromModels(body: unknown, model: string): { dialect: UpstreamDialect; owner: string } | undefined {
  if (!isObject(body) || !Array.isArray(body.data)) return undefined;
  const entries = body.data.filter(isObject);
  const entry = entries.find((e) => e.id === model) ?? entries[0];
  if (entry === undefined) return undefined;
  const owner = typeof entry.owned_by === "string" ? entry.owned_by : "";
  const dialect = OWNERS[owner.toLowerCase()];
  if (dialect !== undefined) return { dialect, owner };
  if (isObject(entry.parley)) return { dialect: "parley", owner };
  return undefined;
}

/** Step 2: llama.cpp's server's `/props`. */
export function isLlamaServerProps(body: unknown): boolean {
  return isObject(body) && (isObject(body.default_generation_settings) || typeof body.total_slots === "number");
}

/** Step 3: SGLang's `/get_server_info`. */
export function isSglangServerInfo(body: unknown): boolean {
  return isObject(body) && typeof body.model_path === "string" && ("tp_size" in body || "version" in body);
}

/** Step 4: vLLM's `/version`: the version string, if the body is one. */
export function vllmVersion(body: unknown): string | undefined {
  if (!isObject(body) || typeof body.version !== "string" || Object.keys(body).length !== 1) return undefined;
  return /^\d+\.\d+/.test(body.version) ? body.version : undefined;
}

/** Whether a vLLM version reads `structured_outputs` (added in 0.10.2; `guided_*` were removed in 0.12). */
export function vllmReadsStructuredOutputs(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map((part) => Number.parseInt(part, 10) || 0);
  return major > 0 || minor > 10 || (minor === 10 && patch >= 2);
}

/** The base URL without a trailing `/v1` (where servers put `/props`, `/version`, …). */
export function serverRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * Probes one base URL. Resolves undefined when the upstream could not be reached at all (so the
 * caller may try another replica, or later); an upstream that answers but is not recognised is
 * `openai`.
 */
export async function probeDialect(baseUrl: string, model: string, get: (url: string) => Promise<ProbeResponse>): Promise<ProbeResult | undefined> {
  const base = baseUrl.replace(/\/+$/, "");
  const root = serverRoot(base);
  let reached = false;
  const tryGet = async (url: string): Promise<unknown> => {
    try {
      const response = await get(url);
      reached = true;
      return response.status >= 200 && response.status < 300 ? response.json : undefined;
    } catch {
      return undefined;
    }
  };
  const models = dialectFromModels(await tryGet(`${base}/models`), model);
  if (models !== undefined) {
    const evidence = `GET ${base}/models: owned_by ${JSON.stringify(models.owner)}`;
    if (models.dialect !== "vllm") return { dialect: models.dialect, evidence };
    return oldVllm(vllmVersion(await tryGet(`${root}/version`)), evidence) ?? { dialect: "vllm", evidence };
  }
  if (!reached) return undefined;
  if (isLlamaServerProps(await tryGet(`${root}/props`))) return { dialect: "llama-server", evidence: `GET ${root}/props answered as llama.cpp's server` };
  if (isSglangServerInfo(await tryGet(`${root}/get_server_info`))) return { dialect: "sglang", evidence: `GET ${root}/get_server_info answered as SGLang` };
  const version = vllmVersion(await tryGet(`${root}/version`));
  if (version !== undefined) {
    const evidence = `GET ${root}/version: vLLM ${version}`;
    return oldVllm(version, evidence) ?? { dialect: "vllm", evidence };
  }
  return { dialect: "openai", evidence: `${base} answered, but not as vLLM, SGLang, llama.cpp's server or Parley` };
}

/** A vLLM too old for `structured_outputs` would silently ignore it: it gets OpenAI's fields only, which it reads. */
function oldVllm(version: string | undefined, evidence: string): ProbeResult | undefined {
  if (version === undefined || vllmReadsStructuredOutputs(version)) return undefined;
  const warning = `vLLM ${version} predates \`structured_outputs\` (0.10.2): it is spoken to in the \`openai\` dialect (JSON Schemas through \`response_format\` only); upgrade it for the rest`;
  return { dialect: "openai", evidence: `${evidence}, version ${version}`, warning };
}

export interface DialectResolverOptions {
  /** The id clients use (for the log). */
  readonly modelId: string;
  /** The upstream's name for the model (picks its `/models` entry). */
  readonly model: string;
  /** Replicas' base URLs, probed in order until one answers. */
  readonly baseUrls: readonly string[];
  readonly get: (url: string) => Promise<ProbeResponse>;
  /** The dialect the config sets: no probe then. */
  readonly configured?: UpstreamDialect;
  readonly logger?: () => Logger | undefined;
  /** After a probe that reached no replica, how long until a request probes again, in ms (default 30 000). */
  readonly reprobeMs?: number;
}

/** The dialect in use: final once a probe got an answer (or the config set it). */
interface DialectState {
  readonly dialect: UpstreamDialect;
  /** When a probe that reached no replica may be retried (0: final). */
  readonly retryAt: number;
}

export class DialectResolver {
  readonly #options: DialectResolverOptions;
  #state: DialectState | Promise<DialectState>;
  /** The latest settled state (what `known()` reports). */
  #settled: DialectState | undefined;

  /** Starts the probe at once (unless configured), so the first request need not wait for all of it. */
  constructor(options: DialectResolverOptions) {
    this.#options = options;
    if (options.configured === undefined) this.#state = this.#probe();
    else this.#state = this.#settled = { dialect: options.configured, retryAt: 0 };
  }

  /** The dialect in use now, without waiting: undefined while the first probe runs. */
  known(): UpstreamDialect | undefined {
    return this.#settled?.dialect;
  }

  /**
   * The dialect for good: undefined while the first probe runs, and while a fallback to `openai`
   * (no replica answered) waits to be probed again by the next request.
   */
  final(): UpstreamDialect | undefined {
    return this.#settled?.retryAt === 0 ? this.#settled.dialect : undefined;
  }

  async current(): Promise<UpstreamDialect> {
    let state = await this.#state;
    if (state.retryAt !== 0 && Date.now() >= state.retryAt) {
      this.#state = this.#probe();
      state = await this.#state;
    }
    return state.dialect;
  }

  async #probe(): Promise<DialectState> {
    const state = await this.#probeReplicas();
    this.#settled = state;
    return state;
  }

  async #probeReplicas(): Promise<DialectState> {
    const { modelId, model } = this.#options;
    for (const baseUrl of this.#options.baseUrls) {
      const result = await probeDialect(baseUrl, model, this.#options.get).catch(() => undefined);
      if (result === undefined) continue;
      const log = this.#log();
      log?.info({ model: modelId, dialect: result.dialect, evidence: result.evidence }, `upstream model "${modelId}" speaks the ${result.dialect} dialect (probed; set \`dialect\` to skip the probe)`);
      if (result.warning !== undefined) log?.warn({ model: modelId }, result.warning);
      return { dialect: result.dialect, retryAt: 0 };
    }
    this.#log()?.warn(
      { model: modelId },
      `no replica of upstream model "${modelId}" answered the dialect probe: it gets the openai dialect (OpenAI's fields only) until one does; set \`dialect\` to choose`,
    );
    return { dialect: "openai", retryAt: Date.now() + (this.#options.reprobeMs ?? 30_000) };
  }

  /** The logger, once there is one (the server's exists only after its engines were built). */
  #log(): Logger | undefined {
    try {
      return this.#options.logger?.();
    } catch {
      return undefined;
    }
  }
}

/** Longest a dialect probe's request may take: 5 s. */
const PROBE_TIMEOUT_MS = 5_000;
/** Largest probe answer read: 1 MiB. */
const MAX_PROBE_BYTES = 1024 * 1024;

/** One probe request (GET `url` through `dispatcher`): its status and JSON body (undefined when not JSON). Throws when unreachable. */
export async function probeGet(url: string, dispatcher: Dispatcher, headers: Readonly<Record<string, string>>): Promise<ProbeResponse> {
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  const response = await undiciRequest(url, { dispatcher, method: "GET", headers, signal });
  const text = await readBounded(response, MAX_PROBE_BYTES);
  return { status: response.statusCode, json: text === undefined ? undefined : parseJson(text) };
}
