/**
 * Human-readable download progress for `parley serve --model <remote>`.
 *
 * On a TTY the reporter redraws one line in place (at most ~10 times a second); elsewhere (logs, CI,
 * pipes) it prints one line per 10% so logs stay short. Bytes are reported by node-llama-cpp's
 * downloader; this module only formats them.
 */

import { formatByteSize } from "../../config/byte-size.ts";

/** A progress snapshot: bytes of the file present so far (resumed bytes included) and its full size. */
export interface DownloadProgress {
  readonly downloadedBytes: number;
  /** Total size in bytes; 0 when the server did not send a content length. */
  readonly totalBytes: number;
}

export interface ProgressReporter {
  update(progress: DownloadProgress): void;
  /** Ends the progress output with a summary line (nothing if no bytes arrived before a failure). */
  finish(outcome: "done" | "aborted" | "failed"): void;
}

/** A writable stream, optionally a TTY (as `process.stderr` is). */
export interface ProgressOutput {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

const BAR_WIDTH = 24;
const TTY_REDRAW_MS = 100;

/** Bytes for people (config/byte-size.ts), under the name this module's users know. */
export const formatBytes = formatByteSize;

/**
 * Creates a reporter that writes to `output` (default `process.stderr`).
 * @param label what is being downloaded, e.g. the model file name.
 * @param now clock in ms, injectable for tests (default `Date.now`).
 */
export function createProgressReporter(label: string, output: ProgressOutput = process.stderr, now: () => number = Date.now): ProgressReporter {
  const tty = output.isTTY === true;
  const startedAt = now();
  let firstBytes: number | undefined;
  let last: DownloadProgress | undefined;
  let lastDecile = -1;
  let lastDraw = 0;
  let drewTtyLine = false;

  const speed = (p: DownloadProgress): string => {
    const seconds = (now() - startedAt) / 1000;
    const bytes = p.downloadedBytes - (firstBytes ?? 0);
    return seconds > 0.5 && bytes > 0 ? `, ${formatBytes(bytes / seconds)}/s` : "";
  };

  const drawTty = (p: DownloadProgress): void => {
    let line: string;
    if (p.totalBytes > 0) {
      const ratio = Math.min(1, p.downloadedBytes / p.totalBytes);
      const filled = Math.round(ratio * BAR_WIDTH);
      const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
      line = `${label} [${bar}] ${(ratio * 100).toFixed(1)}% ${formatBytes(p.downloadedBytes)}/${formatBytes(p.totalBytes)}`;
    } else {
      line = `${label} ${formatBytes(p.downloadedBytes)}`;
    }
    output.write(`\r${line}${speed(p)}\x1b[K`);
    drewTtyLine = true;
  };

  return {
    update(p) {
      firstBytes ??= p.downloadedBytes;
      last = p;
      if (tty) {
        const t = now();
        if (t - lastDraw >= TTY_REDRAW_MS || p.downloadedBytes === p.totalBytes) {
          lastDraw = t;
          drawTty(p);
        }
        return;
      }
      if (p.totalBytes <= 0) return;
      const decile = Math.floor((Math.min(1, p.downloadedBytes / p.totalBytes) * 100) / 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        output.write(`Downloading ${label}: ${decile * 10}% (${formatBytes(p.downloadedBytes)}/${formatBytes(p.totalBytes)})\n`);
      }
    },
    finish(outcome) {
      if (tty && drewTtyLine && last !== undefined) {
        drawTty(last);
        output.write("\n");
      }
      if (last === undefined || (outcome !== "done" && last.downloadedBytes === 0)) return;
      const seconds = ((now() - startedAt) / 1000).toFixed(1);
      const at = `${formatBytes(last.downloadedBytes)}${last.totalBytes > 0 ? ` of ${formatBytes(last.totalBytes)}` : ""}`;
      output.write(
        outcome === "done"
          ? `Downloaded ${label} (${formatBytes(last.downloadedBytes)}) in ${seconds}s\n`
          : outcome === "aborted"
            ? `Download of ${label} interrupted at ${at}; running again resumes it\n`
            : `Download of ${label} failed at ${at}\n`,
      );
    },
  };
}
