// How the cluster commands print: lines to a writer (stdout for results, stderr for
// problems), tables in aligned columns.

export interface Output {
  /** A line of the command's result. */
  line(text: string): void;
  /** A line about something that went wrong. */
  problem(text: string): void;
}

export const consoleOutput: Output = {
  line: (text) => process.stdout.write(text + '\n'),
  problem: (text) => process.stderr.write(text + '\n'),
};

/** Rows of cells as lines with aligned columns (the last column is not padded). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const formatRow = (row: readonly string[]): string =>
    row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return [formatRow(header), ...rows.map(formatRow)];
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
