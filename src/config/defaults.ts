/**
 * Every default that more than one module relies on, in one place, each with its unit: the
 * command line's defaults (config.ts), the engines' when they are built without one (tests,
 * benches), the local slot queue's and the upstream queue's. Messages clients see in more than
 * one place are here too, so they read the same whichever engine answers.
 */

/** Requests allowed to wait for a slot (or an upstream place) before new ones get 429 (`--queue-size`). */
export const DEFAULT_QUEUE_SIZE = 64;

/** Longest wait for a first slot (or an upstream place), in seconds, before a 429 (`--queue-timeout`; 0: none). */
export const DEFAULT_QUEUE_TIMEOUT_S = 60;
export const DEFAULT_QUEUE_TIMEOUT_MS = DEFAULT_QUEUE_TIMEOUT_S * 1000;

/** Wall-clock limit of a local request from its arrival, in seconds (`--request-timeout`; 0: none). */
export const DEFAULT_REQUEST_TIMEOUT_S = 1800;
export const DEFAULT_REQUEST_TIMEOUT_MS = DEFAULT_REQUEST_TIMEOUT_S * 1000;

/** Longest one native step (a prompt batch, a token) may take, in seconds (`--step-timeout`; 0: none). */
export const DEFAULT_STEP_TIMEOUT_S = 300;
export const DEFAULT_STEP_TIMEOUT_MS = DEFAULT_STEP_TIMEOUT_S * 1000;

/** Longest a request may take upstream, in ms (an upstream model's `timeout`). */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 600_000;

/** Seconds a client is told to wait (`Retry-After`) while a model loads or the server is busy. */
export const DEFAULT_RETRY_AFTER_S = 1;

/** The 503 for a request that arrives while its model is still loading. */
export const MODEL_LOADING = "The model is still loading.";

/** The 503 for a request that arrives (or is still running) while the server shuts down. */
export const SHUTTING_DOWN = "The server is shutting down.";

/** The source the built-in test model stands for in a local model's spec (no `--model`). */
export const TEST_MODEL_SOURCE = "";

/** Days a stored Responses API response is kept (`--responses-retention`; 0: forever). */
export const DEFAULT_RESPONSES_RETENTION_DAYS = 30;

/** Stored Responses API responses kept at most; the oldest go first (`--responses-max`). */
export const DEFAULT_RESPONSES_MAX = 10_000;
