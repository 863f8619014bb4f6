/**
 * Ollama's `keep_alive`: how long the model stays loaded after this request (router/
 * managed-model.ts). Seconds as a number, or a Go duration string as Ollama reads it (`"5m"`,
 * `"1h30m"`, `"300ms"`, `"-1"`); any negative value keeps the model loaded until it is evicted or
 * unloaded on request; 0 unloads it as soon as it is idle. Normalised to seconds, -1 for "forever".
 */
import { z } from "zod";

const UNIT_SECONDS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds for a Go duration (`1h30m`, `-1s`) or a bare number of seconds; undefined if neither. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^[-+]?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const match = /^([-+]?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(trimmed);
  if (match === null) return undefined;
  let seconds = 0;
  for (const [, value, unit] of (match[2] ?? "").matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(value) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
  return match[1] === "-" ? -seconds : seconds;
}

/** The field, normalised to seconds (-1: keep loaded). */
export const keepAliveField = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const seconds = typeof value === "number" ? value : parseDuration(value);
    if (seconds === undefined || !Number.isFinite(seconds)) {
      ctx.addIssue({ code: "custom", message: '`keep_alive` is seconds, or a duration such as "5m" or "1h" (negative: keep the model loaded).' });
      return z.NEVER;
    }
    return seconds < 0 ? -1 : Math.min(seconds, 31_536_000);
  })
  .nullish();
