/**
 * The local models' lifecycle in Prometheus metrics: loads, failed loads, unloads by reason
 * (evictions are the `evicted` ones), load time, and per model its state and estimated memory.
 * Counted from the model pool's events (router/model-pool.ts); the gauges are read at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ModelStatus } from "../engines/types.ts";
import type { ManagedModel } from "../router/managed-model.ts";
import type { ModelPool } from "../router/model-pool.ts";

/** Seconds, from a tiny model's load to a large one's download-and-load. */
const LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const STATUSES: readonly ModelStatus[] = ["unloaded", "loading", "loaded", "unloading", "failed"];

/** Registers the metrics in `registry`, fed by `pool` and reading `models` (the router's local models). */
export function registerModelMetrics(registry: Registry, pool: ModelPool, models: () => readonly ManagedModel[]): void {
  const registers = [registry];
  const loads = new Counter({ name: "parley_model_loads_total", help: "Local model loads completed", labelNames: ["model"], registers });
  const failures = new Counter({ name: "parley_model_load_failures_total", help: "Local model loads that failed", labelNames: ["model"], registers });
  const unloads = new Counter({
    name: "parley_model_unloads_total",
    help: "Local model unloads, by reason: evicted (to make room for another), idle (TTL or keep_alive), request (POST /models/unload), shutdown",
    labelNames: ["model", "reason"],
    registers,
  });
  const evictions = new Counter({ name: "parley_model_evictions_total", help: "Local models unloaded to make room for another", labelNames: ["model"], registers });
  const loadTime = new Histogram({ name: "parley_model_load_seconds", help: "Time to load a local model (its file already on disk)", labelNames: ["model"], buckets: LOAD_BUCKETS, registers });
  pool.listen((event) => {
    if (event.type === "loaded") {
      loads.inc({ model: event.model });
      loadTime.observe({ model: event.model }, event.seconds);
    } else if (event.type === "load_failed") failures.inc({ model: event.model });
    else if (event.type === "unloaded") {
      unloads.inc({ model: event.model, reason: event.reason });
      if (event.reason === "evicted") evictions.inc({ model: event.model });
    }
  });
  new Gauge({
    name: "parley_model_status",
    help: "1 for each local model's current state (unloaded, loading, loaded, unloading, failed), 0 for the others",
    labelNames: ["model", "status"],
    registers,
    collect() {
      this.reset();
      for (const model of models()) for (const status of STATUSES) this.set({ model: model.id, status }, model.status === status ? 1 : 0);
    },
  });
  new Gauge({
    name: "parley_model_memory_bytes",
    help: "Estimated memory of each loaded (or loading) local model, by device (ram, vram)",
    labelNames: ["model", "device"],
    registers,
    collect() {
      this.reset();
      for (const model of models()) {
        if (model.memory === undefined || (model.status !== "loaded" && model.status !== "loading" && model.status !== "unloading")) continue;
        this.set({ model: model.id, device: "ram" }, model.memory.ram);
        this.set({ model: model.id, device: "vram" }, model.memory.vram);
      }
    },
  });
}
