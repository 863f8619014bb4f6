/**
 * Server-sent events on a raw Node response: `data: <json>\n\n` frames (named ones with an
 * `event:` line, as the Responses and Messages APIs use), `data: [DONE]`, and
 * respect for backpressure: the writer waits for `drain` before the next frame, so a slow client
 * is fed at its own pace (generation itself runs on; its events wait in the engine's queue, which
 * `max_tokens` × `n` bounds).
 */
import type { ServerResponse } from "node:http";

/** One event: its JSON `data` and, for named events, its `event` name; or the `[DONE]` sentinel. */
export type SseFrame = { readonly event?: string; readonly data: unknown } | typeof DONE;

/** OpenAI's end of stream: `data: [DONE]`. */
export const DONE = "[DONE]";

export class SseWriter {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** Sends the status line and headers. */
  open(headers: Record<string, string> = {}): void {
    this.#res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...headers,
    });
    this.#res.flushHeaders();
  }

  get closed(): boolean {
    return this.#res.destroyed || this.#res.writableEnded;
  }

  /** Writes one frame; resolves once the socket can take more (or the client is gone). */
  async send(frame: SseFrame): Promise<void> {
    if (frame === DONE) return this.#write(`data: ${DONE}\n\n`);
    const name = frame.event === undefined ? "" : `event: ${frame.event}\n`;
    await this.#write(`${name}data: ${JSON.stringify(frame.data)}\n\n`);
  }

  /** Ends the response. */
  end(): void {
    this.#res.end();
  }

  async #write(frame: string): Promise<void> {
    if (this.closed) return;
    if (this.#res.write(frame)) return;
    await new Promise<void>((resolve) => {
      const finish = () => {
        this.#res.off("drain", finish);
        this.#res.off("close", finish);
        resolve();
      };
      this.#res.on("drain", finish);
      this.#res.on("close", finish);
    });
  }
}

/** The abort reason when a client disconnects: expected, so logged quietly. */
export class ClientDisconnected extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientDisconnected";
  }
}

/**
 * An AbortSignal that fires when the client goes away before the response is complete (streaming or
 * not). Node's response emits `close` both on completion and on a dropped connection; only the
 * latter leaves it unfinished.
 */
export function disconnectSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new ClientDisconnected());
  });
  return controller.signal;
}
