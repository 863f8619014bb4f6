/**
 * Starts Parley for the benchmark as a child process (`node bin/parley.js serve`), so the load
 * generator and the server do not share an event loop, as with any other server measured. Picks
 * a free port, waits for `GET /health` to answer 200, and stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export interface ParleyProcessOptions {
  /** `--model`: a GGUF path (or anything `parley serve --model` accepts). */
  readonly model: string;
  /** Further `parley serve` flags, e.g. ["--threads", "1", "--parallel", "4"] (default none). */
  readonly flags?: readonly string[];
  /** Seconds to wait for the model to load (default 300). */
  readonly readyTimeoutSeconds?: number;
}

export interface ParleyProcess {
  readonly url: string;
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL after 15 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL("../bin/parley.js", import.meta.url));
const LOG_LINES = 40;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startParleyProcess(options: ParleyProcessOptions): Promise<ParleyProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [BIN, "serve", "--host", "127.0.0.1", "--port", String(port), "--model", options.model, "--log-level", "warn", ...(options.flags ?? [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const keep = (data: Buffer) => {
    log.push(
      ...data
        .toString("utf8")
        .split("\n")
        .filter((line) => line.trim() !== ""),
    );
    log.splice(0, Math.max(0, log.length - LOG_LINES));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const orphanGuard = () => child.kill("SIGKILL"); // the benchmark died: do not leave a server behind
  process.once("exit", orphanGuard);
  const stop = async () => {
    process.off("exit", orphanGuard);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.kill("SIGTERM");
    await exited(child);
    clearTimeout(killer);
  };

  const deadline = Date.now() + (options.readyTimeoutSeconds ?? 300) * 1000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`parley exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log.join("\n")}`);
    }
    try {
      const response = await fetch(`${url}/health`);
      await response.arrayBuffer();
      if (response.status === 200) return { url, pid: child.pid, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`parley was not ready after ${options.readyTimeoutSeconds ?? 300} s:\n${log.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
