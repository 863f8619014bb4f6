/**
 * Differential rendering helpers: what one rendering of a conversation writes that another does
 * not. Format derivation (tools/derive.ts, reasoning/derive.ts) renders a turn with and without a
 * call or a thought and reads the markup off the difference.
 */

/**
 * What `changed` writes instead of the plain turn's `content` (a call section, or thoughts with
 * the content), trimmed of whitespace at both ends; undefined when `plain` lacks the content.
 */
export function turnDifference(plain: string, changed: string, content: string): string | undefined {
  const at = plain.indexOf(content);
  if (at === -1) return undefined;
  const head = plain.slice(0, at);
  const tail = plain.slice(at + content.length);
  let start = commonPrefix(head, changed).length;
  let end = changed.length - commonSuffix(tail, changed.slice(start)).length;
  // Differences begin and end at marker boundaries: `<|START_ACTION|>` against `<|START_RESPONSE|>`
  // differs from `A` on, but the marker is all of it.
  const opened = changed.lastIndexOf("<", start - 1);
  if (opened !== -1 && opened > changed.lastIndexOf(">", start - 1)) start = opened;
  const rest = changed.slice(end);
  const closes = rest.indexOf(">");
  if (closes !== -1 && (rest.indexOf("<") === -1 || closes < rest.indexOf("<")) && !/\s/.test(rest.slice(0, closes))) end += closes + 1;
  return end > start ? changed.slice(start, end).trim() : undefined;
}

export function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

export function commonSuffix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[a.length - 1 - i] === b[b.length - 1 - i]) i++;
  return a.slice(a.length - i);
}
