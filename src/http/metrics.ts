/**
 * Prometheus metrics (`GET /metrics`, prom-client), in a Registry of their own per app, so that
 * several servers in one process (tests) never share counters. Two sources:
 * - per request, `RequestMetrics` observes what the generation routes (every dialect) already see (the
 *   status it answers, the engine's events): requests by status, tokens, latencies;
 * - at scrape time, the router's engine stats: queue length, active sequences, decode batches.
 * Engines know nothing of Prometheus.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ChatRequest } from "../domain/chat.ts";
import type { ChatEvent } from "../domain/events.ts";
import type { EngineStats } from "../engines/types.ts";

export interface MetricsOptions {
  /** The engines' load, read at each scrape (the router's `stats`). */
  readonly stats: () => EngineStats;
  /** Also export Node's process metrics (CPU, memory, event-loop lag, GC; default true). */
  readonly processMetrics?: boolean;
}

/** Seconds, 1 ms to 60 s: token gaps at the low end, whole long generations at the top. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ParleyMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"status">;
  /** Per key user: bounded by the configured keys (and `model` by the served models). */
  readonly userRequests: Counter<"user" | "model" | "status">;
  readonly promptTokens: Counter;
  readonly generatedTokens: Counter;
  readonly cachedTokens: Counter;
  readonly timeToFirstToken: Histogram;
  readonly interTokenLatency: Histogram;
  readonly e2eLatency: Histogram;

  constructor(options: MetricsOptions) {
    const registers = [this.registry];
    const { stats } = options;
    this.requests = new Counter({
      name: "parley_requests_total",
      help: "Generation requests (chat and text completions) answered, by HTTP status (499: the client left first)",
      labelNames: ["status"],
      registers,
    });
    this.userRequests = new Counter({
      name: "parley_user_requests_total",
      help: 'Generation requests answered, by API key user, model ("other": one the server does not serve) and HTTP status; only with API keys configured',
      labelNames: ["user", "model", "status"],
      registers,
    });
    this.promptTokens = new Counter({ name: "parley_prompt_tokens_total", help: "Prompt tokens of completed requests", registers });
    this.generatedTokens = new Counter({ name: "parley_generated_tokens_total", help: "Generated tokens (usage.completion_tokens) of completed requests", registers });
    this.cachedTokens = new Counter({
      name: "parley_prefix_cache_hit_tokens_total",
      help: "Prompt tokens reused from a sequence's cache rather than evaluated (usage.prompt_tokens_details.cached_tokens)",
      registers,
    });
    const histogram = (name: string, help: string) => new Histogram({ name, help, buckets: LATENCY_BUCKETS, registers });
    this.timeToFirstToken = histogram("parley_time_to_first_token_seconds", "From the request's arrival to its first output");
    this.interTokenLatency = histogram(
      "parley_inter_token_latency_seconds",
      "Between successive outputs of one choice (one token each, unless text was held back, e.g. a possible stop string); streamed-as-generated requests only",
    );
    this.e2eLatency = histogram("parley_e2e_request_latency_seconds", "From the request's arrival to its end, requests answered 200");

    const { gauge, counter } = scraped(stats, registers);
    gauge("parley_queue_length", "Requests waiting for a slot", (s) => s.queued);
    gauge("parley_active_sequences", "Sequences (slots) generating now", (s) => s.active);
    gauge("parley_sequence_slots", "Sequences (slots) in all (--parallel per context)", (s) => s.slots);
    gauge("parley_held_sequences", "Slots still held by engine work of requests that have ended (watchdog; counted in parley_active_sequences too)", (s) => s.held);
    counter("parley_reclaimed_sequences_total", "Slots taken back from finished requests that had not returned them (a bug: each is also logged)", (s) => s.reclaimed);
    counter("parley_decode_batches_total", "llama.cpp decode batches dispatched", (s) => s.batches?.batches);
    counter("parley_decode_multi_sequence_batches_total", "Decode batches that advanced more than one sequence", (s) => s.batches?.multiSequenceBatches);
    counter("parley_decode_batch_sequences_total", "Sum over decode batches of the sequences each advanced", (s) => s.batches?.sequences);
    counter("parley_decode_batch_tokens_total", "Tokens evaluated in decode batches (prompt and generated)", (s) => s.batches?.tokens);
    promptCacheMetrics(gauge, counter);
    counter("parley_draft_accepted_tokens_total", "Speculative decoding: drafted tokens kept in outputs (prediction, draft model or prompt lookup)", (s) => s.drafts?.accepted);
    counter("parley_draft_rejected_tokens_total", "Speculative decoding: drafted tokens evaluated and discarded", (s) => s.drafts?.rejected);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The observer of one generation request, from its arrival. */
  begin(): RequestMetrics {
    return new RequestMetrics(this);
  }

  /** The exposition: Prometheus text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

type ScrapedMetric = (name: string, help: string, read: (s: EngineStats) => number | undefined) => void;

/**
 * Gauges and counters whose values the engines keep, copied from their stats at scrape time (0
 * while no engine reports the value; a counter is reset then set, since the engine's count is the total).
 */
function scraped(stats: () => EngineStats, registers: Registry[]): { gauge: ScrapedMetric; counter: ScrapedMetric } {
  return {
    gauge: (name, help, read) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(stats()) ?? 0);
        },
      }),
    counter: (name, help, read) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(stats()) ?? 0);
        },
      }),
  };
}

/** The prompt cache's gauges and counters (`--prompt-cache-ram`; 0 without a cache). */
function promptCacheMetrics(metric: ScrapedMetric, count: ScrapedMetric): void {
  type Field = keyof NonNullable<EngineStats["promptCache"]>;
  const read =
    (field: Field, scale = 1) =>
    (s: EngineStats) =>
      (s.promptCache?.[field] ?? 0) * scale;
  const gauge = (name: string, help: string, field: Field) => metric(name, help, read(field));
  const counter = (name: string, help: string, field: Field, scale = 1) => count(name, help, read(field, scale));
  gauge("parley_prompt_cache_entries", "Prompt states held in the RAM prompt cache", "entries");
  gauge("parley_prompt_cache_bytes", "Bytes of the prompt states held in the RAM prompt cache", "bytes");
  gauge("parley_prompt_cache_disk_entries", "Prompt states held in the disk prompt cache (--prompt-cache-dir)", "diskEntries");
  gauge("parley_prompt_cache_disk_bytes", "Bytes of the prompt states held in the disk prompt cache", "diskBytes");
  counter("parley_prompt_cache_hits_total", "Prompts whose prefix was restored from a saved prompt state", "hits");
  counter("parley_prompt_cache_misses_total", "Prompts a saved state could have helped for which none was found", "misses");
  counter("parley_prompt_cache_saves_total", "Slot states saved into the prompt cache before the slot was reused", "saves");
  counter("parley_prompt_cache_saved_tokens_total", "Tokens held by the slot states saved", "savedTokens");
  counter("parley_prompt_cache_saved_bytes_total", "Bytes of the slot states saved", "savedBytes");
  counter("parley_prompt_cache_restored_tokens_total", "Prompt tokens restored from saved states (counted in cached_tokens too)", "restoredTokens");
  counter("parley_prompt_cache_evictions_total", "Prompt states evicted for room", "evictions");
  counter("parley_prompt_cache_save_seconds_total", "Time spent saving slot states", "saveMs", 1 / 1000);
  counter("parley_prompt_cache_restore_seconds_total", "Time spent restoring saved states into slots", "restoreMs", 1 / 1000);
}

/** One request's timings and counts, fed from the events the route already consumes. */
export class RequestMetrics {
  readonly #metrics: ParleyMetrics;
  readonly #start = performance.now();
  #firstOutput = false;
  /** False when a choice's output is released all at once (`best_of` > n, beam search): no token gaps. */
  #incremental = true;
  /** Per choice, when its last output came. */
  readonly #lastOutput: number[] = [];
  #finished = false;

  constructor(metrics: ParleyMetrics) {
    this.#metrics = metrics;
  }

  /** The request passed validation. */
  accepted(request: ChatRequest): void {
    this.#incremental = request.search.kind === "sample" && request.search.bestOf === request.n;
  }

  /** Passes `events` through unchanged, timing outputs and counting tokens. */
  async *observe(events: AsyncIterable<ChatEvent>): AsyncIterable<ChatEvent> {
    for await (const event of events) {
      this.#note(event);
      yield event;
    }
  }

  /** Counts the request under its HTTP status (once; later calls are ignored). */
  finish(status: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#metrics.requests.inc({ status: String(status) });
    if (status === 200) this.#metrics.e2eLatency.observe((performance.now() - this.#start) / 1000);
  }

  #note(event: ChatEvent): void {
    switch (event.type) {
      case "delta":
      case "reasoning":
      case "tool_call":
      case "tool_arguments":
        this.#output(event.choice);
        break;
      case "usage": {
        const { promptTokens, completionTokens, cachedTokens } = event.usage;
        this.#metrics.promptTokens.inc(promptTokens);
        this.#metrics.generatedTokens.inc(completionTokens);
        this.#metrics.cachedTokens.inc(cachedTokens);
        break;
      }
      default:
        break;
    }
  }

  #output(choice: number): void {
    const now = performance.now();
    if (!this.#firstOutput) {
      this.#firstOutput = true;
      this.#metrics.timeToFirstToken.observe((now - this.#start) / 1000);
    }
    const last = this.#lastOutput[choice];
    if (last !== undefined && this.#incremental) this.#metrics.interTokenLatency.observe((now - last) / 1000);
    this.#lastOutput[choice] = now;
  }
}
