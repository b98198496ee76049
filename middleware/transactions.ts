// One client transaction, start to finish: read phase in a fresh workspace, validation,
// write phase; on a conflict, re-execute the whole block with fresh reads after a
// jittered back-off, so the client sees a result, never a conflict abort.
import type { Command, TxnResult } from '../protocol/schemas.js';
import { interpret } from '../transaction/interpreter.js';
import { endedResult, failedResult, keepsWrites } from '../transaction/results.js';
import { runWithRetries, type AttemptOutcome, type RetryContext } from '../transaction/retry.js';
import { Workspace } from '../transaction/workspace.js';
import type { Coordinator } from './coordinator.js';
import { TraceEvent, type Trace } from '../metrics/traces.js';

export interface TransactionContext extends RetryContext {
  coordinator: Coordinator;
  magic(args: readonly [number, number, number]): string;
}

export async function runTransaction(commands: Command[], end: 'commit' | 'rollback', context: TransactionContext, trace?: Trace): Promise<TxnResult> {
  return runWithRetries(async (attempt): Promise<AttemptOutcome> => {
    trace?.note(TraceEvent.readBegan, attempt);
    const workspace = new Workspace();
    const interpreted = await interpret(commands, {
      workspace,
      readKeys: async (keys) => {
        const entries = await context.coordinator.read(keys);
        trace?.note(TraceEvent.read, keys.length);
        for (let index = 0; index < keys.length; index++) workspace.recordRead(keys[index]!, entries[index]!.version, entries[index]!.value);
      },
      magic: context.magic,
      sleep: context.sleep,
    });

    // A transaction that ends in an error or a ROLLBACK writes nothing, but what it read
    // (and printed, or failed on) must still be a consistent snapshot: it is validated as
    // a read-only transaction.
    const writes = keepsWrites(interpreted, end) ? workspace.writeSet : [];
    const readSet = workspace.readSet;
    trace?.note(TraceEvent.readEnded, readSet.length);
    const decision = await context.coordinator.commit(context.coordinator.newTxid(), readSet, writes, trace);
    if (decision.outcome === 'leaving') {
      return { result: failedResult(context.middlewareId, attempt, 'MIDDLEWARE_LEAVING', `MIDDLEWARE${context.middlewareId} is leaving the cluster; nothing of this transaction was written; run it on another middleware`) };
    }
    if (decision.outcome === 'committed') return { result: endedResult(interpreted, end, decision.ts, attempt, context.middlewareId) };
    if (decision.outcome === 'unknown') {
      return { result: failedResult(context.middlewareId, attempt, 'TXN_OUTCOME_UNKNOWN', `MIDDLEWARE${context.middlewareId} was removed from the cluster after deciding to commit this transaction; it may or may not have committed: read its entries to know`) };
    }
    return { retry: { code: 'TXN_RETRIES_EXHAUSTED', detail: decision.detail } };
  }, context);
}
