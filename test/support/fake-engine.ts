/**
 * A scripted engine for tests that need the HTTP layer, the router or a client, but no model: it
 * implements the engine contract (src/engines/types.ts) and plays back a script of domain events.
 *
 * A script can fail up front (`generate` rejects, before any event: the route still answers with a
 * status code), fail in the middle of its events (the stream throws: an error frame when
 * streaming), pause between events, and be slow; whatever it does, it keeps the contract's rules
 * as the real engines do: when the request's signal aborts it stops at once, and a run that stops
 * early (aborted, or failed after starting) emits a `usage` event counting what it had generated
 * before it throws why (the abort's reason, the failure).
 *
 * Every call is recorded (`calls`: the request and its signal), so a test can check what the route
 * handed the engine and whether it aborted the work when the client left.
 */
import { ALL_BEAM_COMPANIONS, ALL_CONSTRAINTS, EXTENSION_FIELDS, type EngineCapabilities } from "../../src/domain/capabilities.ts";
import type { ChatRequest } from "../../src/domain/chat.ts";
import type { ChatEvent, FinishReason, Usage } from "../../src/domain/events.ts";
import { ParleyError } from "../../src/domain/errors.ts";
import type { ChatEngine, EngineDescription, Generation, ModelInfo } from "../../src/engines/types.ts";

/** One step of a script: an event to emit, a failure of the stream, or a pause. */
export type FakeStep =
  | ChatEvent
  /** The event stream throws `error` here (after the events before it were read). */
  | { readonly type: "fail"; readonly error: unknown }
  /** Waits `ms` before the next step; an abort ends the wait at once. */
  | { readonly type: "pause"; readonly ms: number };

/** What one `generate` call does. */
export interface FakeScript {
  /** `generate` rejects with this before any event (default: it does not). */
  readonly reject?: unknown;
  /** The steps, in order (default: none, an empty stream). */
  readonly steps?: readonly FakeStep[];
  /** The generation's warnings (default none). */
  readonly warnings?: readonly string[];
  /** A pause before every step, in ms, as a slow model's (default 0). */
  readonly stepDelayMs?: number;
  /** Prompt tokens in the usage of a run that stops early (default: the script's own usage's, else 0). */
  readonly promptTokens?: number;
}

/** A script, or a function of the request and the call's index (0 for the first call). */
export type FakeScriptSource = FakeScript | ((request: ChatRequest, call: number) => FakeScript);

export interface FakeEngineOptions {
  /** The model ids the engine serves (default `["fake-model"]`). */
  readonly models?: readonly string[];
  /** `system_fingerprint` (default `fp_fake`). */
  readonly fingerprint?: string;
  /** What each call does (default {@link defaultScript}: every choice answers "Hello!" and stops). */
  readonly script?: FakeScriptSource;
  /**
   * Loaded from the start (default true). False: `isReady()` is false and `generate` a 503 until
   * `load()` has resolved (after `loadDelayMs`), as a loading engine's.
   */
  readonly ready?: boolean;
  /** How long `load()` takes when not `ready` (default 0). */
  readonly loadDelayMs?: number;
  /** `load()` rejects with this (default: it resolves). */
  readonly loadError?: unknown;
  /** What the engine says it can do (default {@link FAKE_CAPABILITIES}: everything). */
  readonly capabilities?: EngineCapabilities;
}

/** A recorded `generate` call. */
export interface FakeCall {
  readonly request: ChatRequest;
  readonly signal: AbortSignal;
  /** Settles when the script has ended: played out, failed, or stopped by an abort. */
  readonly ended: Promise<FakeOutcome>;
}

/**
 * How a call's script ended: played to the end, failed (`reject` or a `fail` step), stopped by its
 * signal, or abandoned (the consumer stopped reading without aborting).
 */
export type FakeOutcome = "done" | "failed" | "aborted" | "abandoned";

export const FAKE_MODEL = "fake-model";

/** Every capability: a fake plays back whatever it is told, so no request feature is refused for it. */
export const FAKE_CAPABILITIES: EngineCapabilities = {
  servedBy: "the fake engine",
  constraints: ALL_CONSTRAINTS,
  tools: true,
  logprobs: { maxTop: 20 },
  promptLogprobs: true,
  bestOf: true,
  beamSearch: { combinesWith: ALL_BEAM_COMPANIONS },
  adapters: true,
  reasoningControl: true,
  textPrompts: true,
  fillInTheMiddle: true,
  embeddings: false,
  extensions: new Set(EXTENSION_FIELDS),
  refusedFields: new Set(),
};

/** Events that carry generated tokens: each counts as one completion token in an early-stopped run's usage. */
const TOKEN_EVENTS = new Set<ChatEvent["type"]>(["delta", "reasoning", "tool_call", "tool_arguments"]);

export class FakeEngine implements ChatEngine {
  readonly fingerprint: string;
  readonly capabilities: EngineCapabilities;
  readonly calls: FakeCall[] = [];
  readonly #models: readonly ModelInfo[];
  readonly #script: FakeScriptSource;
  readonly #loadDelayMs: number;
  readonly #loadError: unknown;
  #loading: Promise<void> | undefined;
  #ready: boolean;
  #closed = false;

  constructor(options: FakeEngineOptions = {}) {
    this.fingerprint = options.fingerprint ?? "fp_fake";
    this.#models = (options.models ?? [FAKE_MODEL]).map((id) => ({ id, created: 1_700_000_000, ownedBy: "parley-test" }));
    this.#script = options.script ?? defaultScript;
    this.#ready = options.ready ?? true;
    this.#loadDelayMs = options.loadDelayMs ?? 0;
    this.#loadError = options.loadError;
    this.capabilities = options.capabilities ?? FAKE_CAPABILITIES;
  }

  load(): Promise<void> {
    this.#loading ??= (async () => {
      if (this.#ready) return;
      if (this.#loadDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#loadDelayMs));
      if (this.#loadError !== undefined) throw this.#loadError;
      this.#ready = true;
    })();
    return this.#loading;
  }

  describe(): EngineDescription {
    return { models: this.#models, banner: this.#ready ? { message: "fake engine ready", fields: { models: this.#models.map((m) => m.id) } } : undefined };
  }

  /** The models (the engine contract before `describe()`; kept for code that still asks). */
  listModels(): readonly ModelInfo[] {
    return this.#models;
  }

  isReady(): boolean {
    return this.#ready && !this.#closed;
  }

  /** Whether `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async generate(request: ChatRequest, signal: AbortSignal): Promise<Generation> {
    if (!this.isReady()) {
      throw new ParleyError("unavailable", this.#closed ? "The server is shutting down." : "The model is still loading.", { retryAfter: 1 });
    }
    const script = typeof this.#script === "function" ? this.#script(request, this.calls.length) : this.#script;
    let settle: (outcome: FakeOutcome) => void = () => undefined;
    const ended = new Promise<FakeOutcome>((resolve) => (settle = resolve));
    this.calls.push({ request, signal, ended });
    if (signal.aborted) {
      settle("aborted");
      throw signal.reason;
    }
    if (script.reject !== undefined) {
      settle("failed");
      throw script.reject;
    }
    return { events: play(script, signal, settle), warnings: script.warnings ?? [] };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

async function* play(script: FakeScript, signal: AbortSignal, settle: (outcome: FakeOutcome) => void): AsyncGenerator<ChatEvent> {
  let generated = 0;
  let reported = false;
  let outcome: FakeOutcome = "abandoned";
  const scripted = script.steps?.find((step): step is Extract<ChatEvent, { type: "usage" }> => step.type === "usage")?.usage;
  // The contract: usage even when the run stops early (what was generated counts), then why it stopped.
  const usage = (): ChatEvent => ({ type: "usage", usage: { promptTokens: script.promptTokens ?? scripted?.promptTokens ?? 0, completionTokens: generated, cachedTokens: 0 } });
  try {
    for (const step of script.steps ?? []) {
      if ((script.stepDelayMs ?? 0) > 0) await pause(script.stepDelayMs ?? 0, signal);
      if (signal.aborted) break;
      if (step.type === "pause") {
        await pause(step.ms, signal);
        continue;
      }
      if (step.type === "fail") {
        outcome = "failed";
        if (!reported) yield usage();
        throw step.error;
      }
      if (TOKEN_EVENTS.has(step.type)) generated++;
      if (step.type === "usage") reported = true;
      yield step;
    }
    if (!signal.aborted) {
      outcome = "done";
      return;
    }
    outcome = "aborted";
    if (!reported) yield usage();
    throw signal.reason;
  } finally {
    settle(outcome);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Options of {@link textSteps}. */
export interface TextStepsOptions {
  /** The choice the text belongs to (default 0). */
  readonly choice?: number;
  /** How the choice ends (default `stop`); null: it does not end (no `finish` event). */
  readonly finish?: FinishReason | null;
}

/** A choice's answer: one delta per piece, then its finish. */
export function textSteps(pieces: string | readonly string[], options: TextStepsOptions = {}): ChatEvent[] {
  const choice = options.choice ?? 0;
  const events: ChatEvent[] = (typeof pieces === "string" ? [pieces] : pieces).map((text) => ({ type: "delta", choice, text, logprobs: [] }));
  const finish = options.finish === undefined ? "stop" : options.finish;
  if (finish !== null) events.push({ type: "finish", choice, reason: finish });
  return events;
}

/** A tool call of one choice: its start, then its arguments in `fragments`. */
export function toolCallSteps(call: { readonly id: string; readonly name: string; readonly fragments: readonly string[]; readonly index?: number; readonly choice?: number }): ChatEvent[] {
  const choice = call.choice ?? 0;
  const index = call.index ?? 0;
  return [
    { type: "tool_call", choice, index, id: call.id, name: call.name, logprobs: [] },
    ...call.fragments.map((text): ChatEvent => ({ type: "tool_arguments", choice, index, text, logprobs: [] })),
  ];
}

/** The final usage event. */
export function usageStep(promptTokens: number, completionTokens: number, extra: Partial<Pick<Usage, "cachedTokens" | "reasoningTokens">> = {}): ChatEvent {
  return {
    type: "usage",
    usage: { promptTokens, completionTokens, cachedTokens: extra.cachedTokens ?? 0, ...(extra.reasoningTokens === undefined ? {} : { reasoningTokens: extra.reasoningTokens }) },
  };
}

/** Every choice (`n`) answers "Hello!" and stops; usage: 5 prompt tokens, 2 per choice. */
export function defaultScript(request: ChatRequest): FakeScript {
  const steps: ChatEvent[] = [];
  for (let choice = 0; choice < request.n; choice++) steps.push(...textSteps(["Hel", "lo!"], { choice }));
  steps.push(usageStep(5, 2 * request.n));
  return { steps };
}
