// The history checker: each anomaly it must catch, on the smallest history that shows it, and
// histories it must pass (serial, with deletes, concurrent but serializable, shuffled).

import test from 'ava';
import type { ExecutionContext } from 'ava';
import { checkHistory, describeResult, type Anomaly, type CheckResult, type History, type Operation, type TxnRecord } from './history/checker.js';
import { seededRandom } from '../bench/random.js';

// ---- helpers ----

type TxnExtras = Partial<Pick<TxnRecord, 'outcome' | 'commitTs' | 'startMs' | 'endMs'>>;

/** A transaction from compact read and write lists: `r('x', 0)` reads x = 0. */
function txn(id: string, reads: Operation[], writes: Operation[], extras: TxnExtras = {}): TxnRecord {
  return { id, outcome: 'committed', reads, writes, ...extras };
}

function op(key: string, value: number | null): Operation {
  return { key, value };
}

function anomaliesOfKind<K extends Anomaly['kind']>(result: CheckResult, kind: K): Array<Extract<Anomaly, { kind: K }>> {
  return result.anomalies.filter((anomaly): anomaly is Extract<Anomaly, { kind: K }> => anomaly.kind === kind);
}

function assertClean(t: ExecutionContext, result: CheckResult): void {
  t.true(result.ok, describeResult(result));
  t.deepEqual(result.anomalies, []);
}

/** The one cycle of a result, its transaction ids sorted. */
function cycleTxns(t: ExecutionContext, result: CheckResult): string[] {
  const cycles = anomaliesOfKind(result, 'cycle');
  t.is(cycles.length, 1, describeResult(result));
  return [...cycles[0].txns].sort();
}


function shuffled<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}

/**
 * Runs random transactions one at a time against an in-memory store and records what a client
 * would have seen, so the history is serializable by construction. It mixes read-modify-writes,
 * read-only transactions, blind writes and deletes, repeated reads and reads of a transaction's
 * own write, aborts (nothing applied) and unknown outcomes (applied or not, no commit
 * timestamp). It stays checkable: every value is unique; a key is deleted at most once and only
 * if it existed initially, so a read of null names its writer; a blind write (which only a
 * commit timestamp can place) never follows a version that has no timestamp.
 */
function serialHistory(seed: number, txnCount: number, keyCount: number): History {
  return serialRun(seed, txnCount, keyCount).history;
}

/** One installed version: its value and its writer (null for the initial state). */
interface AppliedVersion {
  value: number | null;
  writer: string | null;
  committed: boolean;
}

function serialRun(seed: number, txnCount: number, keyCount: number): { history: History; versionsOf: Map<string, AppliedVersion[]> } {
  const random = seededRandom(seed);
  const pick = (count: number): number => Math.floor(random() * count);
  const keys = Array.from({ length: keyCount }, (_, index) => `k${index}`);
  const initial: Record<string, number | null> = {};
  const state = new Map<string, number | null>();
  const deletable = new Set<string>();
  const placeable = new Set<string>(keys);
  const versionsOf = new Map<string, AppliedVersion[]>();
  keys.forEach((key, index) => {
    const value = index % 2 === 0 ? 1_000_000 + index : null;
    if (value !== null) {
      initial[key] = value;
      deletable.add(key);
    }
    state.set(key, value);
    versionsOf.set(key, [{ value, writer: null, committed: true }]);
  });
  let nextValue = 1;
  const transactions: TxnRecord[] = [];
  for (let index = 0; index < txnCount; index++) {
    const roll = random();
    const outcome = roll < 0.85 ? 'committed' : roll < 0.93 ? 'aborted' : 'unknown';
    const applied = outcome === 'committed' || (outcome === 'unknown' && random() < 0.5);
    const reads: Operation[] = [];
    const writes = new Map<string, number | null>();
    const touched = new Set<string>();
    const keysWanted = 1 + pick(3);
    for (let attempt = 0; touched.size < keysWanted && attempt < 100; attempt++) touched.add(keys[pick(keyCount)]);
    for (const key of touched) {
      const style = random();
      const current = state.get(key)!;
      if (style < 0.15 && outcome === 'committed' && placeable.has(key)) {
        writes.set(key, nextValue++);
        continue;
      }
      reads.push(op(key, current));
      if (random() < 0.2) reads.push(op(key, current));
      if (style < 0.35) continue;
      if (style < 0.42 && deletable.has(key)) {
        deletable.delete(key);
        writes.set(key, null);
      } else {
        if (random() < 0.2) nextValue++; // an intermediate write: never recorded, never read
        writes.set(key, nextValue++);
      }
      if (random() < 0.2) reads.push(op(key, writes.get(key)!));
    }
    const record: TxnRecord = { id: `T${index}`, outcome, reads, writes: [...writes].map(([key, value]) => op(key, value)) };
    record.startMs = index * 10;
    record.endMs = index * 10 + 5;
    if (outcome === 'committed') record.commitTs = [index + 1, 1 + (index % 3)];
    if (applied) {
      for (const [key, value] of writes) {
        state.set(key, value);
        versionsOf.get(key)!.push({ value, writer: record.id, committed: outcome === 'committed' });
        if (outcome === 'committed') placeable.add(key);
        else placeable.delete(key);
      }
    }
    transactions.push(record);
  }
  return { history: { transactions, initial }, versionsOf };
}

/**
 * Makes one committed transaction read an older version of a key than the one it saw: the
 * version `back` steps before, provided it is not null and the version after it was written by
 * a committed transaction. Returns the changed history and what was changed, or undefined if the
 * chosen read has no such older version.
 */
function withStaleRead(
  run: { history: History; versionsOf: Map<string, AppliedVersion[]> },
  txnIndex: number,
  readWriter: boolean,
  back: number,
): { history: History; txn: string; key: string } | undefined {
  const record = run.history.transactions[txnIndex];
  if (record.outcome !== 'committed') return undefined;
  const ownValueOf = new Map(record.writes.map((write) => [write.key, write.value]));
  const external = record.reads.find((read) => ownValueOf.has(read.key) === readWriter && ownValueOf.get(read.key) !== read.value);
  if (external === undefined) return undefined;
  const versions = run.versionsOf.get(external.key)!;
  const seenAt = versions.findIndex((version) => version.value === external.value);
  const staleAt = seenAt - back;
  if (staleAt < 0 || versions[staleAt].value === null || !versions[staleAt + 1].committed) return undefined;
  const staleValue = versions[staleAt].value;
  const reads = record.reads.map((read) => (read.key === external.key && read.value === external.value ? op(read.key, staleValue) : read));
  const transactions = run.history.transactions.map((other, index) => (index === txnIndex ? { ...other, reads } : other));
  return { history: { ...run.history, transactions }, txn: record.id, key: external.key };
}

// ---- anomalies it must catch ----

test('lost update: two transactions read x = 0 and both write x', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [txn('T1', [op('x', 0)], [op('x', 1)]), txn('T2', [op('x', 0)], [op('x', 2)])],
  };
  const result = checkHistory(history);
  t.false(result.ok);
  const [lost] = anomaliesOfKind(result, 'lost-update');
  t.deepEqual(lost.txns, ['T1', 'T2']);
  t.is(lost.key, 'x');
  t.is(lost.readFrom, null);
  t.deepEqual(cycleTxns(t, result), ['T1', 'T2']);
});

test('lost update with commit timestamps: also a cycle, and no order noise', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [
      txn('T1', [op('x', 0)], [op('x', 1)], { commitTs: [1, 1] }),
      txn('T2', [op('x', 0)], [op('x', 2)], { commitTs: [2, 1] }),
    ],
  };
  const result = checkHistory(history);
  t.deepEqual(result.anomalies.map((anomaly) => anomaly.kind), ['lost-update', 'cycle']);
  t.deepEqual(cycleTxns(t, result), ['T1', 'T2']);
});

test('write skew: both read x and y from the initial state, one writes x, the other y (G2-item)', (t) => {
  const history: History = {
    initial: { x: 0, y: 0 },
    transactions: [
      txn('T1', [op('x', 0), op('y', 0)], [op('x', 1)]),
      txn('T2', [op('x', 0), op('y', 0)], [op('y', 2)]),
    ],
  };
  const result = checkHistory(history);
  t.false(result.ok);
  t.deepEqual(result.anomalies.map((anomaly) => anomaly.kind), ['cycle']);
  const [cycle] = anomaliesOfKind(result, 'cycle');
  t.is(cycle.phenomenon, 'G2-item');
  t.deepEqual([...cycle.txns].sort(), ['T1', 'T2']);
  t.deepEqual(cycle.component, ['T1', 'T2']);
  t.true(cycle.cycle.every((edge) => edge.edge === 'rw'));
});

test('aborted read: a committed transaction read a value only an aborted one wrote', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [txn('T1', [], [op('x', 1)], { outcome: 'aborted' }), txn('T2', [op('x', 1)], [])],
  };
  const result = checkHistory(history);
  const [dirty] = anomaliesOfKind(result, 'aborted-read');
  t.deepEqual(dirty.txns, ['T2', 'T1']);
  t.is(dirty.txn, 'T2');
  t.is(dirty.writer, 'T1');
  t.false(result.ok);
});

test('garbage read: a value nobody wrote, including an intermediate value', (t) => {
  // T1 wrote x twice (5 then 6); only its final write is recorded, so reading 5 is garbage.
  const history: History = {
    initial: { x: 0 },
    transactions: [txn('T1', [], [op('x', 6)]), txn('T2', [op('x', 5)], []), txn('T3', [op('y', 99)], [])],
  };
  const result = checkHistory(history);
  const garbage = anomaliesOfKind(result, 'garbage-read');
  t.deepEqual(
    garbage.map((anomaly) => [anomaly.txn, anomaly.key, anomaly.value]),
    [['T2', 'x', 5], ['T3', 'y', 99]],
  );
  t.false(result.ok);
});

test('fractured read: T2 sees x from T1 but y from before T1 (G-single)', (t) => {
  const history: History = {
    initial: { x: 0, y: 0 },
    transactions: [txn('T1', [], [op('x', 1), op('y', 1)]), txn('T2', [op('x', 1), op('y', 0)], [])],
  };
  const result = checkHistory(history);
  t.deepEqual(cycleTxns(t, result), ['T1', 'T2']);
  const [cycle] = anomaliesOfKind(result, 'cycle');
  t.is(cycle.phenomenon, 'G-single');
  t.deepEqual(
    cycle.cycle.map((edge) => `${edge.from}-${edge.edge}(${edge.key})->${edge.to}`).sort(),
    ['T1-wr(x)->T2', 'T2-rw(y)->T1'],
  );
});

test('non-repeatable read: T2 reads x twice and gets two values without writing x', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [txn('T1', [], [op('x', 1)]), txn('T2', [op('x', 0), op('x', 1)], [])],
  };
  const result = checkHistory(history);
  const [nonRepeatable] = anomaliesOfKind(result, 'non-repeatable-read');
  t.deepEqual(nonRepeatable.txns, ['T2']);
  t.is(nonRepeatable.key, 'x');
  t.deepEqual(nonRepeatable.values, [0, 1]);
  t.false(result.ok);
});

test('reads after a transaction\'s own write see that write; anything else is reported', (t) => {
  const clean: History = { initial: { x: 0 }, transactions: [txn('T1', [op('x', 0), op('x', 1), op('x', 1)], [op('x', 1)])] };
  assertClean(t, checkHistory(clean));
  const broken: History = {
    initial: { x: 0 },
    transactions: [txn('T1', [op('x', 0), op('x', 1), op('x', 0)], [op('x', 1)])],
  };
  const [inconsistent] = anomaliesOfKind(checkHistory(broken), 'internal-inconsistency');
  t.is(inconsistent.txn, 'T1');
  t.is(inconsistent.value, 0);
});

test('read-only anomaly: T1 and T2 alone are serializable, the read-only T3 closes a cycle', (t) => {
  // Fekete et al.: T2 reads x, y and writes x; T1 writes y after T2 read it; T3 sees T1's y but not T2's x.
  const writers = [
    txn('T1', [op('y', 0)], [op('y', 20)]),
    txn('T2', [op('x', 0), op('y', 0)], [op('x', -11)]),
  ];
  const withoutReader: History = { initial: { x: 0, y: 0 }, transactions: writers };
  assertClean(t, checkHistory(withoutReader));
  const history: History = { initial: { x: 0, y: 0 }, transactions: [...writers, txn('T3', [op('x', 0), op('y', 20)], [])] };
  const result = checkHistory(history);
  t.deepEqual(cycleTxns(t, result), ['T1', 'T2', 'T3']);
  t.deepEqual(result.anomalies.map((anomaly) => anomaly.kind), ['cycle']);
});

test('real-time violation: T2 starts after T1 ended but misses its write (only with realTime)', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [
      txn('T1', [], [op('x', 1)], { startMs: 0, endMs: 10 }),
      txn('T2', [op('x', 0)], [], { startMs: 20, endMs: 30 }),
    ],
  };
  assertClean(t, checkHistory(history));
  const result = checkHistory(history, { realTime: true });
  t.deepEqual(cycleTxns(t, result), ['T1', 'T2']);
  const [cycle] = anomaliesOfKind(result, 'cycle');
  t.true(cycle.realTime);
  t.deepEqual(
    cycle.cycle.map((edge) => `${edge.from}-${edge.edge}->${edge.to}`).sort(),
    ['T1-rt->T2', 'T2-rw->T1'],
  );
});

test('real time needs a strictly earlier end, and an unknown outcome orders nothing by its end', (t) => {
  const touching: History = {
    initial: { x: 0 },
    transactions: [
      txn('T1', [], [op('x', 1)], { startMs: 0, endMs: 10 }),
      txn('T2', [op('x', 0)], [], { startMs: 10, endMs: 30 }),
    ],
  };
  assertClean(t, checkHistory(touching, { realTime: true }));
  // U's client gave up at 10, but U committed later: T2 at 20 may miss it, T3 at 40 sees it.
  const unknown: History = {
    initial: { x: 0 },
    transactions: [
      txn('U', [], [op('x', 1)], { outcome: 'unknown', startMs: 0, endMs: 10 }),
      txn('T2', [op('x', 0)], [], { startMs: 20, endMs: 30 }),
      txn('T3', [op('x', 1)], [], { startMs: 40, endMs: 50 }),
    ],
  };
  const result = checkHistory(unknown, { realTime: true });
  assertClean(t, result);
  t.is(result.stats.observedUnknown, 1);
});

test('G0: two transactions install their versions of x and y in opposite orders', (t) => {
  const history: History = {
    initial: { x: 0, y: 0 },
    transactions: [
      txn('T1', [op('x', 0), op('y', 2)], [op('x', 1), op('y', 1)]),
      txn('T2', [op('x', 1), op('y', 0)], [op('x', 2), op('y', 2)]),
    ],
  };
  const result = checkHistory(history);
  const [cycle] = anomaliesOfKind(result, 'cycle');
  t.is(cycle.phenomenon, 'G0');
  t.deepEqual([...cycle.txns].sort(), ['T1', 'T2']);
});

test('order conflict: T2 read T1\'s version of x yet reports an earlier commit timestamp', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [
      txn('T1', [op('x', 0)], [op('x', 1)], { commitTs: [2, 1] }),
      txn('T2', [op('x', 1)], [op('x', 2)], { commitTs: [1, 2] }),
    ],
  };
  const result = checkHistory(history);
  const [conflict] = anomaliesOfKind(result, 'order-conflict');
  t.is(conflict.conflict, 'contradictory');
  t.deepEqual(conflict.txns, ['T1', 'T2']);
  t.deepEqual(cycleTxns(t, result), ['T1', 'T2']);
});

test('order conflict: T3 overwrote T1\'s version of x though T2\'s blind write came between', (t) => {
  const history: History = {
    initial: { x: 0 },
    transactions: [
      txn('T1', [op('x', 0)], [op('x', 1)], { commitTs: [1, 1] }),
      txn('T2', [], [op('x', 2)], { commitTs: [2, 1] }),
      txn('T3', [op('x', 1)], [op('x', 3)], { commitTs: [3, 1] }),
    ],
  };
  const result = checkHistory(history);
  const [conflict] = anomaliesOfKind(result, 'order-conflict');
  t.like(conflict, { conflict: 'skipped-version', txn: 'T3', readFrom: 'T1', skipped: 'T2' });
  t.deepEqual(cycleTxns(t, result), ['T2', 'T3']);
});

test('blind writes without commit timestamps cannot be ordered, and the checker says so', (t) => {
  const transactions = [txn('T1', [], [op('x', 1)]), txn('T2', [], [op('x', 2)]), txn('T3', [op('x', 2)], [])];
  const result = checkHistory({ transactions });
  const [unordered] = anomaliesOfKind(result, 'unordered-versions');
  t.deepEqual(unordered.txns, ['T1', 'T2']);
  t.is(unordered.key, 'x');
  t.false(result.ok);
  // With the timestamps the system reports, the same writes are ordered and the history is clean.
  const timed = transactions.map((record, index) => ({ ...record, commitTs: [index + 1, 1] as const }));
  assertClean(t, checkHistory({ transactions: timed }));
});

test('duplicate write: the same value written twice is reported, not guessed at', (t) => {
  const history: History = {
    transactions: [txn('T1', [], [op('x', 5)], { commitTs: [1, 1] }), txn('T2', [], [op('x', 5)], { commitTs: [2, 1] }), txn('T3', [op('x', 5)], [])],
  };
  const result = checkHistory(history);
  const [duplicate] = anomaliesOfKind(result, 'duplicate-write');
  t.deepEqual(duplicate.writers, ['T1', 'T2']);
  t.deepEqual(duplicate.readers, ['T3']);
  t.false(result.ok);
});

test('a read of null that two deletes could explain is ambiguous, not guessed at', (t) => {
  // Only final writes name their writer; x is deleted twice, so every read of null is ambiguous.
  const history: History = {
    initial: { x: 1 },
    transactions: [
      txn('T1', [op('x', 1)], [op('x', null)], { commitTs: [1, 1] }),
      txn('T2', [op('x', null)], [op('x', 2)], { commitTs: [2, 1] }),
      txn('T3', [op('x', 2)], [op('x', null)], { commitTs: [3, 1] }),
      txn('T4', [op('x', null)], [], { commitTs: [4, 1] }),
    ],
  };
  const result = checkHistory(history);
  const ambiguous = anomaliesOfKind(result, 'ambiguous-read');
  t.deepEqual(ambiguous.map((anomaly) => anomaly.txn), ['T2', 'T4']);
  t.deepEqual(ambiguous[1].candidates, ['T1', 'T3']);
  t.false(result.ok);
});

test('duplicate commit timestamps are reported', (t) => {
  const history: History = {
    transactions: [txn('T1', [], [op('x', 1)], { commitTs: [1, 1] }), txn('T2', [], [op('y', 2)], { commitTs: [1, 1] })],
  };
  const [duplicate] = anomaliesOfKind(checkHistory(history), 'duplicate-timestamp');
  t.deepEqual(duplicate.txns, ['T1', 'T2']);
});

test('describeResult names the kind, the transactions, the keys and the cycle', (t) => {
  const history: History = {
    initial: { x: 0, y: 0 },
    transactions: [
      txn('T1', [op('x', 0), op('y', 0)], [op('x', 1)]),
      txn('T2', [op('x', 0), op('y', 0)], [op('y', 2)]),
    ],
  };
  const text = describeResult(checkHistory(history));
  t.regex(text, /cycle \(G2-item\) among T1, T2/);
  t.regex(text, /T1 -rw\(y\)-> T2 -rw\(x\)-> T1/);
  t.regex(describeResult(checkHistory({ transactions: [txn('T1', [], [op('x', 1)])] })), /^Serializable/);
  // A component with more transactions than the cycle shown is named whole.
  const tangled: History = { ...history, transactions: [...history.transactions, txn('T3', [op('x', 1), op('x', 0)], [])] };
  t.regex(describeResult(checkHistory(tangled)), /among the 3 transactions T1, T2, T3/);
});

test('malformed records are refused with a message', (t) => {
  t.throws(() => checkHistory({ transactions: [txn('T1', [], []), txn('T1', [], [])] }), { message: /T1 appears twice/ });
  t.throws(() => checkHistory({ transactions: [txn('T1', [], [op('x', 1), op('x', 2)])] }), { message: /two final writes of x/ });
});

// ---- histories it must pass ----

for (const seed of [1, 2, 3, 20240601]) {
  test(`a serial history of 400 random transactions is clean (seed ${seed})`, (t) => {
    const history = serialHistory(seed, 400, 8);
    const result = checkHistory(history, { realTime: true });
    assertClean(t, result);
    t.true(result.stats.committed > 300);
    t.true(result.stats.edges > 0);
  });
}

test('stale reads injected into random serial histories are all caught (seeds 1 to 4)', (t) => {
  // A read-only read of an overwritten version is serializable on its own (the reader can move
  // earlier), but not after the overwriter ended: caught with realTime. A read-modify-write of
  // an old version loses the versions in between: caught without real time.
  let mutations = 0;
  for (const seed of [1, 2, 3, 4]) {
    const run = serialRun(seed, 200, 6);
    const random = seededRandom(seed * 7919);
    for (let attempt = 0; attempt < 200 && mutations < seed * 40; attempt++) {
      const readWriter = random() < 0.5;
      const mutated = withStaleRead(run, Math.floor(random() * 200), readWriter, 1 + Math.floor(random() * 3));
      if (mutated === undefined) continue;
      mutations++;
      const result = checkHistory(mutated.history, { realTime: !readWriter });
      t.false(result.ok, `seed ${seed}: ${mutated.txn} reading an old ${mutated.key} went unnoticed`);
      t.true(result.anomalies.some((anomaly) => anomaly.txns.includes(mutated.txn)), describeResult(result));
    }
  }
  t.true(mutations >= 100, `only ${mutations} mutations were possible`);
});

test('a serial history of 20,000 transactions over 50 keys is clean (seed 7)', (t) => {
  const history = serialHistory(7, 20_000, 50);
  const result = checkHistory(history, { realTime: true });
  assertClean(t, result);
  t.log(describeResult(result));
});

test('deletes: reads of null name their delete or the initial state, and the history is clean', (t) => {
  // Each key is deleted at most once by a committed transaction, so each null names its writer;
  // d's blind writes are placed by their commit timestamps; T8's aborted delete is not a candidate.
  const history: History = {
    initial: { a: 1, b: 2, d: 7 },
    transactions: [
      txn('T1', [op('a', 1), op('b', 2)], [op('a', null), op('b', 3)], { commitTs: [1, 1] }),
      txn('T2', [op('a', null), op('c', null)], [op('a', 4)], { commitTs: [2, 1] }),
      txn('T3', [op('a', 4), op('b', 3)], [op('b', null)], { commitTs: [3, 1] }),
      txn('T4', [op('b', null), op('c', null)], [op('c', 5)], { commitTs: [4, 1] }),
      txn('T5', [], [op('d', 8)], { commitTs: [5, 1] }),
      txn('T6', [], [op('d', null)], { commitTs: [6, 1] }),
      txn('T7', [op('d', null), op('c', 5), op('a', 4)], [], { commitTs: [7, 1] }),
      txn('T8', [op('a', 4)], [op('a', null)], { outcome: 'aborted' }),
    ],
  };
  assertClean(t, checkHistory(history));
});

test('deletes: a read of null where the key was never absent is caught', (t) => {
  const history: History = { initial: { a: 1 }, transactions: [txn('T1', [op('a', null)], [])] };
  const [garbage] = anomaliesOfKind(checkHistory(history), 'garbage-read');
  t.is(garbage.txn, 'T1');
});

test('a concurrent but serializable history is clean, in real time too', (t) => {
  // Serial order T1, T3, T5, T2, T4; the overlapping intervals allow it.
  const history: History = {
    initial: { x: 0, y: 0 },
    transactions: [
      txn('T1', [op('x', 0)], [op('x', 1)], { startMs: 0, endMs: 10, commitTs: [1, 1] }),
      txn('T2', [op('y', 0)], [op('y', 2)], { startMs: 2, endMs: 12, commitTs: [5, 2] }),
      txn('T3', [op('x', 1), op('y', 0)], [], { startMs: 5, endMs: 15, commitTs: [2, 3] }),
      txn('T5', [op('x', 1), op('y', 0)], [], { startMs: 11, endMs: 13, commitTs: [3, 1] }),
      txn('T4', [op('x', 1), op('y', 2)], [op('x', 4)], { startMs: 20, endMs: 30, commitTs: [6, 1] }),
      txn('A1', [op('x', 0)], [op('x', 77)], { outcome: 'aborted', startMs: 1, endMs: 3 }),
    ],
  };
  assertClean(t, checkHistory(history, { realTime: true }));
});

test('shuffling the records does not change the result (seed 11)', (t) => {
  const random = seededRandom(11);
  const serial = serialHistory(11, 300, 6);
  const anomalous: History = {
    initial: { x: 0, y: 0, z: 0 },
    transactions: [
      txn('T1', [op('x', 0), op('y', 0)], [op('x', 1)], { startMs: 0, endMs: 10 }),
      txn('T2', [op('x', 0), op('y', 0)], [op('y', 2)], { startMs: 1, endMs: 11 }),
      txn('T3', [op('z', 0)], [op('z', 3)], { startMs: 0, endMs: 5 }),
      txn('T4', [op('z', 0)], [op('z', 4)], { startMs: 20, endMs: 25 }),
      txn('T5', [op('x', 9)], [], { outcome: 'committed' }),
    ],
  };
  for (const history of [serial, anomalous]) {
    const expected = checkHistory(history, { realTime: true });
    for (let round = 0; round < 5; round++) {
      const reordered: History = { ...history, transactions: shuffled(history.transactions, random) };
      t.deepEqual(checkHistory(reordered, { realTime: true }), expected);
    }
  }
  t.true(checkHistory(serial).ok);
  t.false(checkHistory(anomalous).ok);
});
