// The result of a client transaction, built the same way by every strategy.
import type { ErrorCode } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import type { InterpreterOutcome } from './interpreter.js';

/** A transaction that wrote nothing and printed nothing: it did not run, or ran out of retries. */
export function failedResult(middlewareId: number, retries: number, code: ErrorCode, message: string): TxnResult {
  return { outcome: 'failed', retries, results: [], middlewareId, error: { code, message } };
}

/**
 * A transaction whose commands ran to their end and whose reads were validated: committed at
 * `ts` when it keeps its writes; rolled back, with what it printed, when a command failed or
 * the block ended with ROLLBACK (its writes, if any, were never applied).
 */
export function endedResult(interpreted: InterpreterOutcome, end: 'commit' | 'rollback', ts: Timestamp, retries: number, middlewareId: number): TxnResult {
  const base = { retries, results: interpreted.results, middlewareId, ...(interpreted.quit ? { quit: true } : {}) };
  if (keepsWrites(interpreted, end)) return { outcome: 'committed', ts: [ts[0], ts[1]], ...base };
  return { outcome: 'rolled_back', error: interpreted.error ?? { code: 'TXN_ROLLED_BACK', message: 'rolled back by ROLLBACK' }, ...base };
}

/** Whether the block's writes are to be applied: it ended with COMMIT and no command failed. */
export function keepsWrites(interpreted: InterpreterOutcome, end: 'commit' | 'rollback'): boolean {
  return end === 'commit' && !interpreted.error;
}
