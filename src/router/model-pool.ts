/**
 * The local models one process runs, and what they may take together: the scheduler behind
 * load-on-demand (as Ollama's `server/sched.go` owns loading and eviction). Each model's own
 * states live in managed-model.ts; the pool decides across models:
 *
 * - **One load at a time.** Loads are serialised (two at once would only add their peaks), and the
 *   room a load needs is decided inside that section, so two loads never both count on the same
 *   free memory.
 * - **Room before a load.** A model's estimate (weights + KV cache, from its GGUF) must fit in the
 *   budget beside the models still holding memory, and `maxLoaded` must allow one more. Until it
 *   does, the least recently used idle, unpinned model is unloaded (an eviction). A model with
 *   running requests is never unloaded: the load waits for one to go idle, up to `waitMs`, then
 *   fails with a 503. A model that cannot fit even once every evictable model is gone is a 400
 *   naming the budget.
 * - **Events.** Every status change, load time and eviction goes to the listeners (`GET
 *   /models/events`, `/metrics`).
 */
import { formatByteSize } from "../config/byte-size.ts";
import { ParleyError } from "../domain/errors.ts";
import type { MemoryEstimate, ModelStatus } from "../engines/types.ts";

/** Bytes the loaded models may take together; an absent side has no limit. */
export interface PoolBudget {
  readonly ram?: number;
  readonly vram?: number;
}

export interface ModelPoolOptions {
  /** Memory the local models may take together, or its promise while the machine is measured (default: no limit). */
  readonly budget?: PoolBudget | Promise<PoolBudget>;
  /** Models loaded at once at most (default: no limit). */
  readonly maxLoaded?: number;
  /** Seconds a model stays loaded without requests when neither it nor the request says (default 0: until evicted). */
  readonly idleTtlS?: number;
  /** Milliseconds a load may wait for busy models to go idle, and a request for its model to load, before a 503 (default 60 000; 0: no limit). */
  readonly waitMs?: number;
  /** Milliseconds running requests get to finish when their model is unloaded on request (default 10 000). */
  readonly unloadGraceMs?: number;
}

/** What the pool reads of a model (managed-model.ts implements it). */
export interface PooledModel {
  readonly id: string;
  readonly status: ModelStatus;
  readonly pinned: boolean;
  /** Requests using it now (running, or waiting for it to load). */
  readonly busy: boolean;
  /** When it was last used (ms, monotonic). */
  readonly lastUsed: number;
  /** Its estimate once known. */
  readonly memory: MemoryEstimate | undefined;
  /** Unloads it; resolves once its memory is free. */
  unload(reason: UnloadReason): Promise<void>;
}

export type UnloadReason = "request" | "evicted" | "idle" | "shutdown";

/** What listeners hear. */
export type PoolEvent =
  | { readonly type: "status"; readonly model: string; readonly status: ModelStatus; readonly error?: string }
  | { readonly type: "loaded"; readonly model: string; readonly seconds: number; readonly memory: MemoryEstimate }
  | { readonly type: "unloaded"; readonly model: string; readonly reason: UnloadReason }
  | { readonly type: "download"; readonly model: string; readonly receivedBytes: number; readonly totalBytes?: number }
  | { readonly type: "load_failed"; readonly model: string; readonly error: string };

const NO_MEMORY: MemoryEstimate = { ram: 0, vram: 0 };

export class ModelPool {
  readonly #models: PooledModel[] = [];
  readonly #listeners = new Set<(event: PoolEvent) => void>();
  #budget: PoolBudget = {};
  readonly #budgetKnown: Promise<void>;
  readonly #maxLoaded: number | undefined;
  readonly idleTtlS: number;
  readonly waitMs: number;
  readonly unloadGraceMs: number;
  /** The load running now; the next one waits for it. */
  #lock: Promise<void> = Promise.resolve();
  /** Woken when a model goes idle or finishes unloading. */
  #changed = new Set<() => void>();

  constructor(options: ModelPoolOptions = {}) {
    this.#budgetKnown = Promise.resolve(options.budget ?? {}).then((budget) => {
      this.#budget = budget;
    });
    this.#maxLoaded = options.maxLoaded;
    this.idleTtlS = options.idleTtlS ?? 0;
    this.waitMs = options.waitMs ?? 60_000;
    this.unloadGraceMs = options.unloadGraceMs ?? 10_000;
  }

  get budget(): PoolBudget {
    return this.#budget;
  }

  get maxLoaded(): number | undefined {
    return this.#maxLoaded;
  }

  add(model: PooledModel): void {
    this.#models.push(model);
  }

  /** Hears every event until the returned function is called. */
  listen(listener: (event: PoolEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: PoolEvent): void {
    for (const listener of this.#listeners) listener(event);
    if (event.type === "status") this.changed();
  }

  /** A model went idle or its state changed: loads waiting for room look again. */
  changed(): void {
    const waiters = this.#changed;
    this.#changed = new Set();
    for (const wake of waiters) wake();
  }

  /** Memory held now by the models loaded, loading or still unloading, other than `except`. */
  held(except?: PooledModel): MemoryEstimate {
    let ram = 0;
    let vram = 0;
    for (const model of this.#models) {
      if (model === except || !holdsMemory(model.status)) continue;
      ram += model.memory?.ram ?? 0;
      vram += model.memory?.vram ?? 0;
    }
    return { ram, vram };
  }

  /** Runs `load` once every load before it has ended (one load at a time). */
  async exclusive<T>(load: () => Promise<T>): Promise<T> {
    const previous = this.#lock;
    let done!: () => void;
    this.#lock = new Promise<void>((resolve) => {
      done = resolve;
    });
    await previous;
    try {
      return await load();
    } finally {
      done();
    }
  }

  /**
   * Unloads least recently used idle models until `model` (needing `estimate`) fits beside the
   * rest; waits for busy ones to go idle up to `waitMs`. Call inside `exclusive`.
   */
  async makeRoom(model: PooledModel, estimate: MemoryEstimate | undefined, signal?: AbortSignal): Promise<void> {
    await this.#budgetKnown;
    const need = estimate ?? NO_MEMORY;
    const { ram, vram } = this.#budget;
    if (ram !== undefined && need.ram > ram) throw this.#cannotFit(model, need, `it needs ${formatByteSize(need.ram)} of RAM alone, and the budget is ${formatByteSize(ram)}`);
    if (vram !== undefined && need.vram > vram) throw this.#cannotFit(model, need, `it needs ${formatByteSize(need.vram)} of GPU memory alone, and the budget is ${formatByteSize(vram)}`);
    const deadline = this.waitMs === 0 ? Number.POSITIVE_INFINITY : Date.now() + this.waitMs;
    for (;;) {
      signal?.throwIfAborted();
      const others = this.#models.filter((m) => m !== model);
      const loaded = others.filter((m) => holdsMemory(m.status)).length;
      const over = this.#exceeds(need, this.held(model));
      if (over === undefined && (this.#maxLoaded === undefined || loaded < this.#maxLoaded)) return;
      const victim = others.filter((m) => m.status === "loaded" && !m.pinned && !m.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (victim !== undefined) {
        await victim.unload("evicted");
        continue;
      }
      const unloading = others.find((m) => m.status === "unloading");
      const busy = others.filter((m) => holdsMemory(m.status) && m.busy && !m.pinned);
      if (unloading === undefined && busy.length === 0) {
        const pinned = others.filter((m) => holdsMemory(m.status) && m.pinned).map((m) => `\`${m.id}\``);
        throw this.#cannotFit(model, need, `${over ?? `at most ${this.#maxLoaded} models may be loaded`} beside the pinned models ${pinned.join(", ")}`);
      }
      if (Date.now() >= deadline) {
        throw new ParleyError(
          "unavailable",
          `The model \`${model.id}\` cannot be loaded now: to make room, ${busy.map((m) => `\`${m.id}\``).join(", ") || "a model"} must first finish running requests.`,
          { retryAfter: 5, code: "model_busy" },
        );
      }
      await this.#nextChange(deadline, signal);
    }
  }

  /** What `need` beside `held` exceeds of the budget, as words; undefined when it fits. */
  #exceeds(need: MemoryEstimate, held: MemoryEstimate): string | undefined {
    const { ram, vram } = this.#budget;
    if (ram !== undefined && held.ram + need.ram > ram) return `${formatByteSize(need.ram)} of RAM where ${formatByteSize(Math.max(0, ram - held.ram))} of the ${formatByteSize(ram)} budget is free`;
    if (vram !== undefined && held.vram + need.vram > vram)
      return `${formatByteSize(need.vram)} of GPU memory where ${formatByteSize(Math.max(0, vram - held.vram))} of the ${formatByteSize(vram)} budget is free`;
    return undefined;
  }

  #cannotFit(model: PooledModel, need: MemoryEstimate, why: string): ParleyError {
    return new ParleyError(
      "invalid_request",
      `The model \`${model.id}\` does not fit in the memory budget (--memory-budget / --max-loaded-models): ${why} (estimate: ${formatByteSize(need.ram)} RAM, ${formatByteSize(need.vram)} GPU memory).`,
      { param: "model", code: "model_exceeds_memory_budget" },
    );
  }

  #nextChange(deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#changed.delete(finish);
        resolve();
      };
      const onAbort = () => {
        finish();
        reject(signal?.reason);
      };
      const timer = setTimeout(finish, Math.min(deadline - Date.now(), 2_147_483_647));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#changed.add(finish);
    });
  }
}

/** Whether a model in `status` holds (or is about to hold) memory. */
function holdsMemory(status: ModelStatus): boolean {
  return status === "loaded" || status === "loading" || status === "unloading";
}
