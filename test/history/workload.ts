// A random read/write workload in the command language whose every transaction is recorded
// for the history checker: reads are PRINTs (their values come back in the result), writes
// are ASSIGNs of values unique across the whole history.
import type { TxnResult } from '../../protocol/schemas.js';
import { Random } from '../simulation/random.js';
import type { TxnRecord } from './checker.js';

export interface PlannedTxn {
  id: string;
  text: string;
  readKeys: string[];
  writes: Array<{ key: string; value: number }>;
}

/** Plans one transaction: PRINT 1..3 keys, then ASSIGN unique values to some of them (and maybe one more key). */
export function planTransaction(random: Random, keys: readonly string[], id: string, uniqueValue: () => number, sleepSeconds = 0): PlannedTxn {
  const readKeys = random.sample(keys, random.int(1, 3));
  const readOnly = random.chance(0.2);
  const writeKeys = readOnly ? [] : readKeys.filter(() => random.chance(0.6));
  if (!readOnly && random.chance(0.2)) {
    const blind = keys.filter((key) => !readKeys.includes(key));
    if (blind.length > 0) writeKeys.push(random.pick(blind));
  }
  const writes = writeKeys.map((key) => ({ key, value: uniqueValue() }));
  const lines = [
    ...readKeys.map((key) => `PRINT ${key}`),
    ...(sleepSeconds > 0 ? [`SLEEP ${sleepSeconds}`] : []),
    ...writes.map((write) => `ASSIGN ${write.key} ${write.value}`),
  ];
  return { id, text: lines.join('\n') + '\n', readKeys, writes };
}

/** What the client observed of one planned transaction. */
export function recordOf(planned: PlannedTxn, result: TxnResult | undefined, startMs: number, endMs: number): TxnRecord {
  if (!result) return { id: planned.id, outcome: 'unknown', reads: [], writes: planned.writes, startMs, endMs };
  const values = result.results.flatMap((line) => (line.kind === 'print' ? [Number(line.value)] : []));
  const committed = result.outcome === 'committed';
  return {
    id: planned.id,
    // A failed transaction (retries exhausted) aborted every attempt: nothing of it was written.
    outcome: committed ? 'committed' : 'aborted',
    reads: committed ? planned.readKeys.map((key, index) => ({ key, value: values[index] ?? null })) : [],
    writes: planned.writes,
    ...(committed && result.ts ? { commitTs: result.ts } : {}),
    startMs,
    endMs,
  };
}
