/**
 * Per-key limits over a sliding 60-second window, kept in this process's memory (several Parley
 * replicas each count on their own). Checked when a chat-completions request starts:
 * - requestsPerMinute: requests admitted in the last 60 s;
 * - maxConcurrent: admitted requests not yet ended;
 * - tokensPerMinute: tokens charged in the last 60 s (a request is charged its usage when it ends,
 *   so one request may overshoot; the next ones wait).
 * Over a limit: a 429 (`rate_limit_error`, `rate_limit_exceeded`) with `Retry-After` in seconds.
 */
import { ParleyError } from "../../domain/errors.ts";
import type { Principal } from "./key-store.ts";

export const WINDOW_MS = 60_000;

interface KeyState {
  /** Start times of admitted requests in the window, oldest first. */
  readonly requests: number[];
  /** Charged tokens in the window, oldest first. */
  readonly tokens: { at: number; count: number }[];
  inFlight: number;
}

/** One admitted request: charge its tokens and release its slot when it ends (once). */
export interface Admission {
  charge(tokens: number): void;
  release(): void;
}

export interface LimiterOptions {
  /** The clock, in ms (default `Date.now`; tests pass their own). */
  readonly now?: () => number;
}

export class Limiter {
  readonly #states = new Map<number, KeyState>();
  readonly #now: () => number;

  constructor(options: LimiterOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Admits a request for `principal` or throws a 429 ParleyError with `retryAfter`. */
  admit(principal: Principal): Admission {
    const { requestsPerMinute, tokensPerMinute, maxConcurrent } = principal.limits;
    const now = this.#now();
    const state = this.#state(principal.index, now);
    if (maxConcurrent !== undefined && state.inFlight >= maxConcurrent) {
      throw limited(`Too many concurrent requests for this key (limit ${maxConcurrent}).`, 1);
    }
    if (requestsPerMinute !== undefined && state.requests.length >= requestsPerMinute) {
      const freeAt = (state.requests[state.requests.length - requestsPerMinute] ?? now) + WINDOW_MS;
      throw limited(`Rate limit reached for this key: ${requestsPerMinute} requests per minute.`, seconds(freeAt - now));
    }
    if (tokensPerMinute !== undefined) {
      let used = state.tokens.reduce((sum, t) => sum + t.count, 0);
      if (used >= tokensPerMinute) {
        // Wait until enough charges leave the window to go under the limit.
        let freeAt = now;
        for (const t of state.tokens) {
          used -= t.count;
          freeAt = t.at + WINDOW_MS;
          if (used < tokensPerMinute) break;
        }
        throw limited(`Rate limit reached for this key: ${tokensPerMinute} tokens per minute.`, seconds(freeAt - now));
      }
    }
    state.requests.push(now);
    state.inFlight++;
    let released = false;
    return {
      charge: (tokens) => {
        if (tokens > 0) state.tokens.push({ at: this.#now(), count: tokens });
      },
      release: () => {
        if (released) return;
        released = true;
        state.inFlight--;
      },
    };
  }

  #state(index: number, now: number): KeyState {
    let state = this.#states.get(index);
    if (state === undefined) {
      state = { requests: [], tokens: [], inFlight: 0 };
      this.#states.set(index, state);
    }
    const cutoff = now - WINDOW_MS;
    while ((state.requests[0] ?? Infinity) <= cutoff) state.requests.shift();
    while ((state.tokens[0]?.at ?? Infinity) <= cutoff) state.tokens.shift();
    return state;
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

function limited(message: string, retryAfter: number): ParleyError {
  return new ParleyError("server_busy", message, { code: "rate_limit_exceeded", retryAfter });
}
