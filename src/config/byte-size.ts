/**
 * Byte sizes as people write them on command lines and in config files: a plain number of bytes,
 * or a number with a unit — binary (`KiB`, `MiB`, `GiB`, `TiB`, and `K`/`M`/`G`/`T`, as llama.cpp
 * and Ollama read them) or decimal (`kB`, `MB`, `GB`, `TB`). Case-insensitive; a space before the
 * unit is allowed.
 */

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

/** `text` in bytes (rounded down); throws an Error naming what was expected. */
export function parseByteSize(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) throw new Error(`expected a size in bytes, got ${text}`);
    return Math.floor(text);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match === null ? undefined : UNITS[(match[2] ?? "").toLowerCase()];
  if (match === null || unit === undefined) throw new Error(`expected a size such as 512MiB, 8GiB or 2000000000 (bytes), got "${text}"`);
  return Math.floor(Number(match[1]) * unit);
}

/** `bytes` for people: `1.5 GiB`, `512 MiB`, `900 B`. */
export function formatByteSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}
