/**
 * `--cors-origins` (config file: `corsOrigins`): which web pages' origins may call Parley from a
 * browser. `*` lets any page in; otherwise a comma-separated list (or, in the config file, a list)
 * of exact origins such as `https://chat.example.com` or `http://localhost:5173`. Empty or unset:
 * no CORS at all (no headers, no preflight answers), as before the flag existed.
 */

/** `*`, or the exact origins allowed (each `scheme://host[:port]`, as a browser's `Origin` header writes it). */
export type CorsOrigins = "*" | readonly string[];

/**
 * Parses the flag's value (comma-separated) or the config file's list. Returns undefined for none.
 * Throws an Error naming the first value that is not an origin: a path, a trailing slash, a
 * wildcard inside a host (`https://*.example.com`), or `null` (sandboxed pages and `file:` URLs
 * send `Origin: null`; allowing it would let any such page in).
 */
export function parseCorsOrigins(value: string | readonly string[]): CorsOrigins | undefined {
  const items = (typeof value === "string" ? value.split(",") : value).map((item) => item.trim()).filter((item) => item !== "");
  if (items.length === 0) return undefined;
  if (items.includes("*")) {
    if (items.length > 1) throw new Error("`*` allows every origin: give it alone, not in a list");
    return "*";
  }
  for (const item of items) {
    if (!isOrigin(item)) {
      throw new Error(`"${item}" is not an origin: write scheme://host[:port] exactly as the browser sends it in \`Origin\` (no path, no trailing slash, no wildcard), or \`*\``);
    }
  }
  return Object.freeze([...new Set(items)]);
}

/** Whether `text` is a serialised http(s) origin, exactly as browsers send it. */
function isOrigin(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text && !text.includes("*");
}
