// The retry policy both strategies share: a transaction that lost to a concurrent one (an
// aborted validation under OCC, a refused lock under 2PL) runs again from the start after a
// jittered back-off, a bounded number of times; then it fails with a clear error. The client
// never sees a conflict, only a result or that error.
import type { ErrorCode } from '../errors/catalogue.js';
import type { TxnResult } from '../protocol/schemas.js';
import { failedResult } from './results.js';

export interface TransactionLimits {
  retryCountMax: number;
  backoffMsBase: number;
  backoffMsMax: number;
}

export const TRANSACTION_LIMITS_DEFAULT: TransactionLimits = { retryCountMax: 100, backoffMsBase: 2, backoffMsMax: 250 };

/** Exponential back-off with full jitter: colliding transactions spread apart. */
export function backoffMs(attempt: number, limits: TransactionLimits, random: () => number): number {
  const ceiling = Math.min(limits.backoffMsMax, limits.backoffMsBase * 2 ** Math.min(attempt, 16));
  return Math.floor(random() * ceiling);
}

/** How one attempt ended: with the transaction's result, or lost and to be run again. */
export type AttemptOutcome =
  | { result: TxnResult }
  /** `code`: the error the transaction fails with if this was its last attempt. */
  | { retry: { code: ErrorCode; detail: string } };

export interface RetryContext {
  middlewareId: number;
  limits: TransactionLimits;
  /** Uniform in [0, 1): the back-off's jitter. */
  random(): number;
  sleep(ms: number): Promise<void>;
}

/** Runs attempts until one gives a result or the retry budget is spent. */
export async function runWithRetries(attempt: (attemptNumber: number) => Promise<AttemptOutcome>, context: RetryContext): Promise<TxnResult> {
  for (let attemptNumber = 0; ; attemptNumber++) {
    const outcome = await attempt(attemptNumber);
    if ('result' in outcome) return outcome.result;
    if (attemptNumber >= context.limits.retryCountMax) {
      const { code, detail } = outcome.retry;
      return failedResult(context.middlewareId, attemptNumber, code, `transaction ran ${attemptNumber + 1} times and lost every time (last: ${detail})`);
    }
    await context.sleep(backoffMs(attemptNumber, context.limits, context.random));
  }
}
