// One client transaction, start to finish: read phase in a fresh workspace, validation,
// write phase; on a conflict, re-execute the whole block with fresh reads after a
// jittered back-off, so the client sees a result, never a conflict abort.
import type { Command, Entry, TxnResult } from '../protocol/schemas.js';
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';
import { interpret } from '../transaction/interpreter.js';
import { endedResult, failedResult, keepsWrites } from '../transaction/results.js';
import { runWithRetries, type AttemptOutcome, type RetryContext } from '../transaction/retry.js';
import type { Key } from '../transaction/types.js';
import { Workspace } from '../transaction/workspace.js';
import type { Coordinator } from './coordinator.js';
import type { ReplicaSet } from './replicas.js';

/**
 * How long a read may wait at its replica for a write another middleware is committing (see
 * occ/remote-writers.ts): about the time from a vote to the write being on disk under load.
 */
export const READ_WAIT_MS = 5;

export interface TransactionContext extends RetryContext {
  coordinator: Coordinator;
  replicas: ReplicaSet;
  magic(args: readonly [number, number, number]): string;
}

export async function runTransaction(commands: Command[], end: 'commit' | 'rollback', context: TransactionContext): Promise<TxnResult> {
  return runWithRetries(async (attempt): Promise<AttemptOutcome> => {
    const workspace = new Workspace();
    const interpreted = await interpret(commands, {
      workspace,
      readKeys: async (keys) => {
        await context.coordinator.whenUnwritten(keys);
        const awaitedAll = context.coordinator.writesAwaited(keys);
        const fromMemory = decidedEntries(keys, context.coordinator, awaitedAll);
        const fromReplica = fromMemory.size === 0 ? keys : keys.filter((key) => !fromMemory.has(key));
        const awaited = fromMemory.size === 0 ? awaitedAll : awaitedAll.filter(([key]) => !fromMemory.has(key));
        const read = fromReplica.length === 0 ? [] : await context.replicas.read(fromReplica, awaited, awaited.length > 0 ? READ_WAIT_MS : 0);
        context.coordinator.writesSettled(awaited);
        const entries = fromMemory.size === 0 ? read : keys.map((key) => fromMemory.get(key) ?? read[fromReplica.indexOf(key)]!);
        keys.forEach((key, index) => {
          const entry = entries[index]!;
          context.coordinator.observeVersion(entry.version);
          workspace.recordRead(key, entry.version, entry.value);
        });
      },
      magic: context.magic,
      sleep: context.sleep,
    });

    // A transaction that ends in an error or a ROLLBACK writes nothing, but what it read
    // (and printed, or failed on) must still be a consistent snapshot: it is validated as
    // a read-only transaction.
    const writes = keepsWrites(interpreted, end) ? workspace.writeSet : [];
    const decision = await context.coordinator.commit(context.coordinator.newTxid(), workspace.readSet, writes);
    if (decision.outcome === 'leaving') {
      return { result: failedResult(context.middlewareId, attempt, 'MIDDLEWARE_LEAVING', `MIDDLEWARE${context.middlewareId} is leaving the cluster; nothing of this transaction was written; run it on another middleware`) };
    }
    if (decision.outcome === 'committed') return { result: endedResult(interpreted, end, decision.ts, attempt, context.middlewareId) };
    return { retry: { code: 'TXN_RETRIES_EXHAUSTED', detail: decision.detail } };
  }, context);
}

/**
 * The keys this middleware itself has a committed write of still being applied: read from
 * memory, since a replica may not have the write yet (and would hold the read until it has).
 * Not when another middleware's transaction voted for since writes a newer version: that one
 * is the replica's to give.
 */
function decidedEntries(keys: readonly Key[], coordinator: Coordinator, awaited: ReadonlyArray<readonly [Key, Timestamp]>): Map<Key, Entry> {
  const entries = new Map<Key, Entry>();
  for (const key of keys) {
    const decided = coordinator.decidedWrite(key);
    if (!decided) continue;
    if (awaited.some(([awaitedKey, ts]) => awaitedKey === key && isBefore(decided.ts, ts))) continue;
    const version: [number, number] = [decided.ts[0], decided.ts[1]];
    entries.set(key, decided.write.value === undefined ? { version } : { version, value: decided.write.value as Entry['value'] });
  }
  return entries;
}
