/**
 * Renders benchmark results as Markdown tables (pipe-separated, columns padded so they also read
 * well in a terminal, and paste straight into the README).
 */

export type Align = "left" | "right";

export interface Column {
  readonly header: string;
  /** Default "right" (numbers); "left" for labels. */
  readonly align?: Align;
}

/** Renders `rows` (cells already formatted as strings) under `columns`. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) => Math.max(column.header.length, 3, ...rows.map((row) => (row[i] ?? "").length)));
  const pad = (text: string, i: number) => {
    const width = widths[i] ?? 0;
    return (columns[i]?.align ?? "right") === "left" ? text.padEnd(width) : text.padStart(width);
  };
  const line = (cells: readonly string[]) => `| ${columns.map((_, i) => pad(cells[i] ?? "", i)).join(" | ")} |`;
  const rule = `|${columns.map((column, i) => ((column.align ?? "right") === "left" ? ` ${"-".repeat(widths[i] ?? 3)} ` : ` ${"-".repeat((widths[i] ?? 3) - 1)}: `)).join("|")}|`;
  return [line(columns.map((c) => c.header)), rule, ...rows.map(line)].join("\n");
}

/** A number with `digits` decimals and thousands separators; "–" for NaN / undefined. */
export function num(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio as "1.23×"; "–" when undefined. */
export function times(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : `${value.toFixed(2)}×`;
}
