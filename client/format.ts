// The classic client output: each PRINT value on its own line, each error as
// `ERROR in line N: message`, and nothing else, so that existing scripts that read the
// classic client's output keep working.
import type { TxnResult } from '../protocol/schemas.js';

export function formatClassic(results: TxnResult[]): string {
  const lines: string[] = [];
  for (const transaction of results) {
    for (const result of transaction.results) {
      lines.push(result.kind === 'print' ? result.value : errorLine(result.line, result.message));
    }
    // A transaction that failed as a whole (retries exhausted, a node down) may have no line
    // at fault among its results; its error must still reach the user.
    const error = transaction.error;
    if (transaction.outcome === 'failed' && error !== undefined && !isReportedByLine(transaction)) {
      lines.push(error.line !== undefined ? errorLine(error.line, error.message) : `ERROR: ${error.message}`);
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}

function errorLine(line: number, message: string): string {
  return `ERROR in line ${line}: ${message}`;
}

/** Whether the transaction's error already appears among its line results. */
function isReportedByLine(transaction: TxnResult): boolean {
  const error = transaction.error;
  if (error === undefined) return true;
  return transaction.results.some((result) =>
    result.kind === 'error' && result.code === error.code && (error.line === undefined || result.line === error.line));
}
