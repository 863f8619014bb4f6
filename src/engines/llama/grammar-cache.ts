/**
 * Compiled llama.cpp grammars (output constraints, tool calls), cached per distinct key (least
 * recently used first out): repeated requests with the same schema, regex, choice list or tools
 * pay the conversion and compile cost once. Conversion and its checks (chat/grammar/grammar-source.ts)
 * run in a worker thread within a time budget, so a huge or pathological constraint costs the
 * server's event loop nothing and is refused with a 400 when it runs over.
 */
import type { Llama, LlamaGrammar } from "node-llama-cpp";
import type { GrammarBudget } from "../../chat/grammar/gbnf-analysis.ts";
import { grammarField, type GrammarSource, type GrammarSpec } from "../../chat/grammar/grammar-source.ts";
import type { GrammarTask } from "../../chat/grammar/grammar-task.ts";
import { invalidRequest, ParleyError } from "../../domain/errors.ts";
import { TaskQueueFull, TaskTimeout, TaskWorker } from "../../util/task-worker.ts";

export interface CompiledGrammar extends Omit<GrammarSource, "gbnf"> {
  readonly grammar: LlamaGrammar;
}

export interface GrammarRequest {
  /** Identifies the grammar: equal keys must build equal grammars. */
  readonly key: string;
  /** What to build (in the worker); may fail with 400s. Built only on a cache miss. */
  readonly spec: GrammarSpec;
}

export interface GrammarCacheOptions {
  /** Distinct grammars kept (default 64). */
  readonly capacity?: number;
  /** Limits on a grammar's size and ambiguity (gbnf-analysis.ts; its defaults). */
  readonly budget?: GrammarBudget;
  /** Longest one conversion may take, in ms (default 2000). */
  readonly buildTimeoutMs?: number;
}

const GRAMMAR_TASK = new URL("../../chat/grammar/grammar-task.ts", import.meta.url);

export class GrammarCache {
  readonly #llama: Llama;
  readonly #capacity: number;
  readonly #budget: GrammarBudget;
  readonly #buildTimeoutMs: number;
  readonly #worker: TaskWorker<GrammarTask, GrammarSource>;
  readonly #entries = new Map<string, Promise<CompiledGrammar>>();

  constructor(llama: Llama, options: GrammarCacheOptions = {}) {
    this.#llama = llama;
    this.#capacity = options.capacity ?? 64;
    this.#budget = options.budget ?? {};
    this.#buildTimeoutMs = options.buildTimeoutMs ?? 2000;
    this.#worker = new TaskWorker({ module: GRAMMAR_TASK, timeoutMs: this.#buildTimeoutMs, keepWarm: true });
  }

  /** The compiled grammar; one that cannot be built or compiled is a 400 naming its field. */
  async get(request: GrammarRequest): Promise<CompiledGrammar> {
    const { key } = request;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = this.#compile(request);
      entry.catch(() => this.#entries.delete(key)); // failures are not cached
    } else {
      this.#entries.delete(key); // re-inserted below as the most recently used
    }
    this.#entries.set(key, entry);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break;
      this.#entries.delete(oldest);
    }
    return entry;
  }

  close(): Promise<void> {
    return this.#worker.close();
  }

  async #compile({ spec }: GrammarRequest): Promise<CompiledGrammar> {
    const field = grammarField(spec);
    const path = field.split(".");
    let source: GrammarSource;
    try {
      source = await this.#worker.run({ spec, budget: this.#budget });
    } catch (error) {
      if (error instanceof TaskTimeout) {
        throw invalidRequest(`\`${field}\` is too large or complex to convert to a grammar within ${this.#buildTimeoutMs / 1000} s.`, path, "too_complex");
      }
      if (error instanceof TaskQueueFull) throw new ParleyError("server_busy", "Too many requests with new output constraints are waiting. Retry shortly.", { retryAfter: 1 });
      throw error;
    }
    const { gbnf, ...rest } = source;
    try {
      return { ...rest, grammar: await this.#llama.createGrammar({ grammar: gbnf }) };
    } catch (error) {
      throw invalidRequest(`\`${field}\` is not a valid llama.cpp GBNF grammar: ${(error as Error).message}.`, path);
    }
  }
}
