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

/**
 * Pieces joined by spaces into lines of at most `width` characters, breaking only between
 * pieces; continuation lines are indented by `indent`. A piece longer than a line gets one alone.
 */
export function wrapPieces(pieces: readonly string[], width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const piece of pieces) {
    if (line !== '' && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = ' '.repeat(indent) + piece;
    } else {
      line = line === '' ? piece : `${line} ${piece}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
