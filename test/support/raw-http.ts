/**
 * Raw HTTP for tests where the wire itself is the point: bytes written as given on a TCP socket,
 * the response read until the server closes the connection (or a timeout).
 */
import { connect } from "node:net";

export interface RawResponse {
  /** Status code of the first response line (0 if none came). */
  readonly status: number;
  readonly headers: string;
  readonly body: string;
  /** Milliseconds until the server closed the connection (or the timeout). */
  readonly closedAfterMs: number;
}

/**
 * Writes `chunks` to `url`'s host and port, `gapMs` apart, and reads until the server closes the
 * connection or `timeoutMs` passes.
 */
export async function rawRequest(url: string, chunks: readonly (string | Buffer)[], options: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const start = performance.now();
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve) => {
    socket.on("data", (data) => received.push(data));
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const writing = (async () => {
    for (const chunk of chunks) {
      if (socket.destroyed) return;
      socket.write(chunk);
      if (options.gapMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
    }
  })();
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, options.timeoutMs ?? 10_000).unref());
  await Promise.race([closed, timeout]);
  const closedAfterMs = performance.now() - start;
  socket.destroy();
  await writing.catch(() => undefined);
  const text = Buffer.concat(received).toString("utf8");
  const split = text.indexOf("\r\n\r\n");
  const head = split === -1 ? text : text.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: split === -1 ? "" : text.slice(split + 4), closedAfterMs };
}
