/**
 * An unhandled rejection ends the server (src/util/fatal-rejections.ts, installed by `parley
 * serve`): logged, a bounded graceful close, exit status 1. Checked with a stand-in event target,
 * and once in a real Node process with a real unhandled rejection.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { exitOnUnhandledRejection, UNHANDLED_REJECTION_EXIT_CODE } from "../../src/util/fatal-rejections.ts";

function harness(close: () => Promise<void>, closeTimeoutMs = 5_000) {
  const target = new EventEmitter();
  const logged: unknown[] = [];
  let closes = 0;
  const exits: number[] = [];
  let exited: (code: number) => void = () => undefined;
  const exitedOnce = new Promise<number>((resolve) => (exited = resolve));
  exitOnUnhandledRejection({
    target,
    log: (reason) => logged.push(reason),
    close: () => {
      closes++;
      return close();
    },
    closeTimeoutMs,
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
  });
  return { target, logged, exits, exitedOnce, closes: () => closes };
}

describe("unhandled rejections", () => {
  it("are logged, then the server closes and the process exits with status 1", async () => {
    let closed = false;
    const h = harness(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      closed = true;
    });
    const bug = new Error("a bug");
    h.target.emit("unhandledRejection", bug);
    assert.deepEqual(h.logged, [bug]);
    assert.deepEqual(h.exits, [], "not before the close");
    assert.equal(await h.exitedOnce, UNHANDLED_REJECTION_EXIT_CODE);
    assert.equal(UNHANDLED_REJECTION_EXIT_CODE, 1);
    assert.ok(closed);
  });

  it("a close that hangs is given up after the timeout; one that fails is logged; either way exit 1", async () => {
    const hanging = harness(() => new Promise(() => undefined), 30);
    const started = performance.now();
    hanging.target.emit("unhandledRejection", "not even an Error");
    assert.equal(await hanging.exitedOnce, 1);
    assert.ok(performance.now() - started >= 25);
    const failing = harness(() => Promise.reject(new Error("close failed")));
    failing.target.emit("unhandledRejection", new Error("first"));
    assert.equal(await failing.exitedOnce, 1);
    assert.deepEqual(
      failing.logged.map((e) => (e as Error).message),
      ["first", "close failed"],
    );
  });

  it("further rejections while closing are logged, and start no second close", async () => {
    let finish: () => void = () => undefined;
    const h = harness(() => new Promise<void>((resolve) => (finish = resolve)));
    h.target.emit("unhandledRejection", new Error("one"));
    h.target.emit("unhandledRejection", new Error("two"));
    assert.equal(h.logged.length, 2);
    assert.equal(h.closes(), 1);
    finish();
    await h.exitedOnce;
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(h.exits, [1]);
  });

  it("in a real process: a stray rejection closes, logs its stack and exits 1", () => {
    const module = pathToFileURL(join(import.meta.dirname, "../../src/util/fatal-rejections.ts")).href;
    const script = `
      import { exitOnUnhandledRejection } from ${JSON.stringify(module)};
      exitOnUnhandledRejection({
        log: (reason) => console.error("LOGGED", reason instanceof Error ? reason.stack : reason),
        close: async () => console.error("CLOSED"),
      });
      setInterval(() => {}, 1000); // a server would keep the process alive
      async function buggy() { throw new Error("stray failure"); }
      void buggy();
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    assert.equal(child.status, 1, child.stderr);
    assert.match(child.stderr, /LOGGED Error: stray failure\n\s+at buggy/);
    assert.match(child.stderr, /CLOSED/);
  });
});
