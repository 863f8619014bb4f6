/**
 * Headless Chromium for browser tests, driven over the DevTools protocol with undici's WebSocket
 * (no puppeteer/playwright: one page, one navigation and one evaluation need ~100 lines, and their
 * own browser downloads cannot work offline). Uses the system's Chromium (Debian's `chromium`);
 * `findChromium()` returns undefined where there is none, so a test can skip with a reason.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { WebSocket } from "undici";

/** `PARLEY_CHROMIUM`, else the first of chromium, chromium-browser, google-chrome(-stable) on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.PARLEY_CHROMIUM !== undefined && env.PARLEY_CHROMIUM !== "" ? [env.PARLEY_CHROMIUM] : [];
  for (const dir of (env.PATH ?? "").split(delimiter).filter((d) => d !== "")) {
    for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) candidates.push(join(dir, name));
  }
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What a page printed to its console, and its uncaught exceptions, for failure messages. */
export interface PageResult {
  /** The value of `expression` (JSON-serialisable). */
  readonly value: unknown;
  readonly console: readonly string[];
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** One Chromium process; `close()` ends it and removes its profile. */
export class HeadlessChromium {
  readonly #process: ChildProcess;
  readonly #profile: string;
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve: (m: CdpMessage) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Set<(m: CdpMessage) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess, profile: string, socket: WebSocket) {
    this.#process = child;
    this.#profile = profile;
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as CdpMessage;
      if (message.id !== undefined) {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(`CDP: ${message.error.message}`));
        else waiter?.resolve(message);
      } else for (const listener of this.#listeners) listener(message);
    });
  }

  /** Starts `binary` headless (flags for a closed network, as root), within `timeoutMs`. */
  static async launch(binary: string, timeoutMs = 20_000): Promise<HeadlessChromium> {
    const profile = await mkdtemp(join(tmpdir(), "parley-chromium-"));
    const flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "about:blank",
    ];
    // Its own process group, so closing it ends its helper processes too (they write to the profile).
    const child = spawn(binary, flags, { stdio: ["ignore", "ignore", "pipe"], detached: true });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let seen = "";
        const timer = setTimeout(() => reject(new Error(`chromium printed no DevTools endpoint within ${timeoutMs} ms:\n${seen.slice(-2000)}`)), timeoutMs);
        child.stderr?.setEncoding("utf8");
        child.stderr?.on("data", (text: string) => {
          seen += text;
          const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
          if (match?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`chromium exited (${code}) before it listened:\n${seen.slice(-2000)}`));
        });
        child.once("error", reject);
      });
      child.stderr?.resume(); // keep draining, so chromium never blocks on a full pipe
      const socket = new WebSocket(endpoint);
      await new Promise<void>((resolve, reject) => {
        socket.addEventListener("open", () => resolve());
        socket.addEventListener("error", () => reject(new Error(`could not connect to ${endpoint}`)));
      });
      return new HeadlessChromium(child, profile, socket);
    } catch (error) {
      killGroup(child, "SIGKILL");
      await removeProfile(profile);
      throw error;
    }
  }

  /**
   * Opens `url` in a new tab, waits for its load event, then evaluates `expression` there (awaiting
   * it if it is a promise) within `timeoutMs`.
   */
  async evaluate(url: string, expression: string, timeoutMs = 60_000): Promise<PageResult> {
    const { targetId } = (await this.#send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await this.#send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    const logs: string[] = [];
    const onEvent = (m: CdpMessage) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === "Runtime.consoleAPICalled") {
        const args = (m.params?.args ?? []) as { value?: unknown; description?: string }[];
        logs.push(args.map((a) => (a.value !== undefined ? String(a.value) : (a.description ?? ""))).join(" "));
      } else if (m.method === "Runtime.exceptionThrown") {
        logs.push(`exception: ${JSON.stringify(m.params?.exceptionDetails)}`);
      }
    };
    this.#listeners.add(onEvent);
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = (async () => {
        await this.#send("Runtime.enable", {}, sessionId);
        await this.#send("Page.enable", {}, sessionId);
        const loaded = this.#event("Page.loadEventFired", sessionId);
        const nav = (await this.#send("Page.navigate", { url }, sessionId)) as { errorText?: string };
        if (nav.errorText !== undefined) throw new Error(`navigation to ${url} failed: ${nav.errorText}`);
        await loaded;
        const evaluated = (await this.#send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId)) as {
          result: { value?: unknown };
          exceptionDetails?: unknown;
        };
        if (evaluated.exceptionDetails !== undefined) throw new Error(`page threw: ${JSON.stringify(evaluated.exceptionDetails)}\nconsole:\n${logs.join("\n")}`);
        return evaluated.result.value;
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`page ${url} took over ${timeoutMs} ms; console:\n${logs.join("\n")}`)), timeoutMs);
      });
      return { value: await Promise.race([work, timeout]), console: logs };
    } finally {
      clearTimeout(timer);
      this.#listeners.delete(onEvent);
      await this.#send("Target.closeTarget", { targetId }).catch(() => undefined);
    }
  }

  /** Ends the browser and removes its profile. */
  async close(): Promise<void> {
    this.#socket.close();
    for (const waiter of this.#pending.values()) waiter.reject(new Error("chromium closed"));
    this.#pending.clear();
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.#process.once("exit", () => resolve()));
      killGroup(this.#process, "SIGTERM");
      const timer = setTimeout(() => killGroup(this.#process, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    killGroup(this.#process, "SIGKILL"); // helpers that outlived the browser process
    await removeProfile(this.#profile);
  }

  #send(method: string, params: Record<string, unknown>, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: (m) => resolve(m.result ?? {}), reject });
      this.#socket.send(JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }));
    });
  }

  #event(method: string, sessionId: string): Promise<void> {
    return new Promise((resolve) => {
      const listener = (m: CdpMessage) => {
        if (m.method !== method || m.sessionId !== sessionId) return;
        this.#listeners.delete(listener);
        resolve();
      };
      this.#listeners.add(listener);
    });
  }
}

/** Signals the browser's whole process group (it was spawned detached); quiet if it is gone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Removes a profile, retrying while a helper process that is still exiting writes to it. */
function removeProfile(profile: string): Promise<void> {
  return rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
