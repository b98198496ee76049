// The recent-commits log: every APPLY written leaves a record of its transaction in its own
// batch (even one the Thomas rule kept nothing of); a watermark trims only its coordinator
// life's records at or below it; db.commits answers the records of the lives a view leaves
// out and the largest version written, after a restart too; db.recover copies entries under
// the Thomas rule key by key and drops the records it names. Reserved keys never show in a scan.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Level } from 'level';
import { databaseEndpoint } from '../cluster/cluster-file.js';
import { CommitLog, commitGroupKey, decodeGroup, encodeGroup, type CommitLogChange, type EncodedGroup, type LoggedApply, type StoredGroup } from '../database/commit-log.js';
import { DatabaseService, INCARNATION_BEFORE_BOOT, initialView, type DatabaseStore } from '../database/server.js';
import { Storage } from '../database/storage.js';
import { OccdbError } from '../errors/catalogue.js';
import { Connection } from '../protocol/connection.js';
import type { CommitRecord, Entry } from '../protocol/schemas.js';
import { createLogger } from '../runtime/log.js';
import { Acceptor } from '../view/acceptor.js';
import type { Member } from '../view/types.js';
import { TEST_FROM } from './helpers/members.js';
import { GatedStore, MemoryStore } from './helpers/memory-store.js';
import { killProcess, spawnOccdb, waitForPing, writeTestCluster } from './helpers/processes.js';

const STARTUP_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-commit-log-'));
const children = new Set<ChildProcess>();

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

/** MIDDLEWARE2 as epoch 0 lists it. */
const SECOND: Member = { id: 2, incarnation: INCARNATION_BEFORE_BOOT };
let directories = 0;

function newService(store: DatabaseStore): DatabaseService {
  const logger = createLogger({ name: 'test', level: 'error', console: false });
  const acceptor = Acceptor.start(initialView({ middlewares: [{ id: 1 }, { id: 2 }], databases: [{ id: 1 }] }));
  return new DatabaseService('DATABASE1', store, logger, () => ({ role: 'database', id: 1, pid: process.pid, ports: {}, uptimeMs: 0 }), acceptor);
}

function openFresh(): Promise<Storage> {
  directories += 1;
  return Storage.open(path.join(temporaryRoot, `storage${directories}`));
}

function record(ts: [number, number], coordinator: Member, keys: string[]): CommitRecord {
  return { ts, coordinator, keys };
}

test('an observed version (a confirmed read-only commit) raises the largest version at once, the next group stores it, and taking that group\'s state never lowers it', (t) => {
  const log = new CommitLog();
  log.observe([30, 1]);
  t.deepEqual(log.maxVersion, [30, 1]);
  const change = log.planGroup([{ ts: [4, 2], writes: [{ key: 'k', value: 4 }], from: SECOND }]);
  log.observe([35, 1]); // confirmed while the group is written
  log.commit(change);
  t.deepEqual([...change.puts.values()].at(-1)?.state?.maxVersion, [30, 1], 'the group stores what was observed when it was planned');
  t.deepEqual(log.maxVersion, [35, 1], 'and the one observed meanwhile stays');
  const reread = new CommitLog([...change.puts.entries()]);
  t.deepEqual(reread.maxVersion, [30, 1], 'after a restart: what a group stored');
});

test('group keys sort in writing order, whatever the number of digits', (t) => {
  const sequences = [10, 9, 100, 0, Number.MAX_SAFE_INTEGER];
  const keys = sequences.map(commitGroupKey);
  t.deepEqual([...keys].sort(), [0, 9, 10, 100, Number.MAX_SAFE_INTEGER].map(commitGroupKey));
  t.true(keys.every((key) => key.startsWith('!')), 'a reserved key');
});

test('a group\'s records are stored under one key, with the log\'s state; a watermark trims by that state, without writing again the groups it takes records from, and a group with nothing left in the log is deleted', (t) => {
  const log = new CommitLog();
  const first = log.planGroup([{ ts: [1, 1], writes: [{ key: 'a', value: 1 }], from: TEST_FROM }, { ts: [2, 2], writes: [{ key: 'b', value: 2 }], from: SECOND }, { ts: [3, 1], writes: [{ key: 'c', value: 3 }], from: TEST_FROM }]);
  t.deepEqual([...first.puts.keys()], [commitGroupKey(0)], 'one put for three records');
  t.deepEqual(first.puts.get(commitGroupKey(0)), { records: [record([1, 1], TEST_FROM, ['a']), record([2, 2], SECOND, ['b']), record([3, 1], TEST_FROM, ['c'])], state: { watermarks: [], maxVersion: [3, 1] } });
  log.commit(first);
  const trimSome = log.planGroup([{ ts: [4, 1], writes: [], from: TEST_FROM, watermark: 3 }]);
  t.deepEqual([...trimSome.puts.keys()], [commitGroupKey(1)], 'the first group is not written again');
  t.deepEqual(trimSome.puts.get(commitGroupKey(1)), { records: [record([4, 1], TEST_FROM, [])], state: { watermarks: [[TEST_FROM.id, TEST_FROM.incarnation, 3]], maxVersion: [4, 1] } });
  t.deepEqual([...trimSome.deletes], []);
  t.is(trimSome.removed, 2);
  log.commit(trimSome);
  t.deepEqual(log.notIn([]).map((kept) => kept.ts), [[2, 2], [4, 1]]);
  const trimAll = log.planGroup([{ ts: [5, 2], writes: [{ key: 'd', value: 5 }], from: SECOND, watermark: 2 }]);
  t.deepEqual([...trimAll.deletes], [commitGroupKey(0)], 'nothing of the first group is left in the log');
  t.deepEqual(trimAll.puts.get(commitGroupKey(2)), {
    records: [record([5, 2], SECOND, ['d'])],
    state: { watermarks: [[TEST_FROM.id, TEST_FROM.incarnation, 3], [SECOND.id, SECOND.incarnation, 2]], maxVersion: [5, 2] },
  });
  log.commit(trimAll);
  t.deepEqual(log.notIn([]).map((kept) => kept.ts), [[4, 1], [5, 2]]);
  t.is(log.size, 2);
  t.deepEqual(log.maxVersion, [5, 2]);
});

/** A log's groups as storage keeps them: each change's puts and deletes applied. */
function storeChange(disk: Map<string, StoredGroup>, change: CommitLogChange): void {
  for (const group of change.deletes) disk.delete(group);
  for (const [group, stored] of change.puts) disk.set(group, structuredClone(stored));
}

test('a log read back from its stored groups holds what it held: trimmed records left in a kept group stay trimmed, and the largest version is the newest group\'s', (t) => {
  const log = new CommitLog();
  const disk = new Map<string, StoredGroup>();
  const batches: LoggedApply[][] = [
    [{ ts: [1, 1], writes: [], from: TEST_FROM }, { ts: [2, 2], writes: [], from: SECOND }],
    [{ ts: [3, 1], writes: [], from: TEST_FROM, watermark: 1 }],
    [{ ts: [4, 2], writes: [], from: SECOND }],
  ];
  for (const batch of batches) {
    const change = log.planGroup(batch);
    storeChange(disk, change);
    log.commit(change);
  }
  t.true(disk.get(commitGroupKey(0))!.records.some((kept) => kept.ts[0] === 1), 'the trimmed record is still in its group\'s value');
  const reloaded = new CommitLog([...disk]);
  t.deepEqual(reloaded.notIn([]), log.notIn([]));
  t.deepEqual(reloaded.notIn([]).map((kept) => kept.ts), [[2, 2], [3, 1], [4, 2]]);
  t.deepEqual(reloaded.maxVersion, [4, 2]);
});

test('a stored group with nothing left in the log after a restart is deleted by the next change; the newest is kept, as it holds the state', (t) => {
  const state = { watermarks: [[TEST_FROM.id, TEST_FROM.incarnation, 5]] as Array<[number, string, number]>, maxVersion: [5, 1] as [number, number] };
  const log = new CommitLog([[commitGroupKey(0), { records: [record([1, 1], TEST_FROM, ['a'])] }], [commitGroupKey(1), { records: [record([5, 1], TEST_FROM, ['b'])], state }]]);
  t.is(log.size, 0);
  const change = log.planGroup([{ ts: [6, 1], writes: [], from: TEST_FROM }]);
  t.deepEqual([...change.deletes].sort(), [commitGroupKey(0), commitGroupKey(1)], 'the old newest goes once the new group takes the state');
  t.deepEqual([...change.puts.keys()], [commitGroupKey(2)]);
});

test('a group is stored with each life once and read back as it was; a bare array of records (before the encoding) is read too', (t) => {
  const records = [record([1, 1], TEST_FROM, ['a', 'b']), record([2, 2], SECOND, []), record([3, 1], TEST_FROM, ['c'])];
  const state = { watermarks: [[SECOND.id, SECOND.incarnation, 1]] as Array<[number, string, number]>, maxVersion: [3, 1] as [number, number] };
  const encoded = encodeGroup({ records, state });
  t.deepEqual(encoded.lives, [[TEST_FROM.id, TEST_FROM.incarnation], [SECOND.id, SECOND.incarnation]]);
  t.deepEqual(decodeGroup(JSON.parse(JSON.stringify(encoded)) as EncodedGroup), { records, state });
  t.deepEqual(decodeGroup(records), { records });
});

test('a group key is never reused: numbering goes on after the stored groups, also after every record of the last one was trimmed; with no state stored, the largest version is the one given', (t) => {
  const log = new CommitLog([[commitGroupKey(4), { records: [record([1, 1], TEST_FROM, ['b'])] }], [commitGroupKey(6), { records: [record([2, 1], TEST_FROM, ['a'])] }]], [2, 1]);
  t.deepEqual(log.maxVersion, [2, 1], 'no state stored: the largest version given');
  const change = log.planGroup([{ ts: [3, 1], writes: [{ key: 'c', value: 3 }], from: TEST_FROM, watermark: 2 }]);
  t.deepEqual([...change.deletes].sort(), [commitGroupKey(4), commitGroupKey(6)]);
  t.deepEqual([...change.puts.keys()], [commitGroupKey(7)]);
  log.commit(change);
  t.deepEqual([...log.planGroup([{ ts: [9, 1], writes: [], from: TEST_FROM }]).puts.keys()], [commitGroupKey(8)]);
});

test('a repeated APPLY whose record is held, or its life\'s watermark covers, adds nothing; a recovery that drops part of a group writes the rest again', (t) => {
  const log = new CommitLog();
  log.commit(log.planGroup([{ ts: [1, 1], writes: [], from: TEST_FROM }, { ts: [2, 1], writes: [], from: TEST_FROM }, { ts: [3, 2], writes: [], from: SECOND }]));
  t.is(log.planGroup([{ ts: [2, 1], writes: [], from: TEST_FROM }]).puts.size, 0, 'a repeat');
  log.commit(log.planGroup([{ ts: [4, 2], writes: [], from: SECOND, watermark: 3 }]));
  t.is(log.planGroup([{ ts: [3, 2], writes: [], from: SECOND }]).puts.size, 0, 'a repeat of a trimmed record');
  const drop = log.planDrop([[1, 1], [9, 9]], [[6, 2]]);
  t.deepEqual(drop.puts.get(commitGroupKey(0)), { records: [record([2, 1], TEST_FROM, [])] }, 'the rest, without the trimmed record');
  t.deepEqual(drop.puts.get(commitGroupKey(2))!.state!.maxVersion, [6, 2], 'a new group with the state');
  t.is(drop.removed, 1);
  log.commit(drop);
  t.deepEqual(log.notIn([]).map((kept) => kept.ts), [[2, 1], [4, 2]]);
  t.deepEqual(log.maxVersion, [6, 2]);
});

test('every APPLY written leaves its record, even one the Thomas rule kept nothing of, and a repeated APPLY the same one', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  t.deepEqual(await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 5 }, { key: 'y' }] }), { written: 2 });
  t.deepEqual(await service.handle({ id: 2, type: 'db.apply', from: SECOND, ts: [3, 2], writes: [{ key: 'x', value: 3 }] }), { written: 0 });
  t.deepEqual(await service.handle({ id: 3, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 5 }, { key: 'y' }] }), { written: 0 });
  t.deepEqual(store.commits([]), [record([3, 2], SECOND, ['x']), record([5, 1], TEST_FROM, ['x', 'y'])]);
});

test('a watermark trims its own coordinator life\'s records at or below it, in the batch it comes with, and never another\'s', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  for (const counter of [1, 2, 3]) await service.handle({ id: counter, type: 'db.apply', from: TEST_FROM, ts: [counter, 1], writes: [{ key: `c${counter}`, value: counter }] });
  await service.handle({ id: 4, type: 'db.apply', from: SECOND, ts: [2, 2], writes: [{ key: 'd', value: 2 }] });
  const syncsBefore = store.syncs;
  await service.handle({ id: 5, type: 'db.apply-batch', from: TEST_FROM, watermark: 2, applies: [{ ts: [4, 1], writes: [{ key: 'c4', value: 4 }] }] });
  t.is(store.syncs, syncsBefore + 1, 'one batch');
  t.deepEqual(store.commits([]).map((kept) => kept.ts), [[2, 2], [3, 1], [4, 1]]);
});

test('a watermark does not trim another incarnation of the same middleware', (t) => {
  const earlier: Member = { id: 1, incarnation: '1.old' };
  const log = new CommitLog([[commitGroupKey(0), { records: [record([1, 1], earlier, ['a']), record([2, 1], TEST_FROM, ['b'])] }]]);
  const change = log.planGroup([{ ts: [3, 1], writes: [], from: TEST_FROM, watermark: 5 }]);
  log.commit(change);
  t.deepEqual(log.notIn([]), [record([1, 1], earlier, ['a'])], 'the own records, the new one included, are at or below 5');
});

test('db.commits answers the records of the lives not among the members, and the largest version written, even by an APPLY that wrote nothing', async (t) => {
  const service = newService(new MemoryStore());
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [4, 1], writes: [{ key: 'a', value: 1 }] });
  await service.handle({ id: 2, type: 'db.apply', from: SECOND, ts: [6, 2], writes: [{ key: 'b', value: 2 }] });
  await service.handle({ id: 3, type: 'db.apply', from: TEST_FROM, ts: [9, 1], writes: [] });
  t.deepEqual(await service.handle({ id: 4, type: 'db.commits', from: SECOND, members: [SECOND] }), {
    records: [record([4, 1], TEST_FROM, ['a']), record([9, 1], TEST_FROM, [])],
    maxVersion: [9, 1],
  });
  t.deepEqual(await service.handle({ id: 5, type: 'db.commits', from: SECOND, members: [SECOND, TEST_FROM] }), { records: [], maxVersion: [9, 1] });
});

test('db.commits sees every APPLY admitted before it', async (t) => {
  const store = new GatedStore();
  const service = newService(store);
  store.hold();
  const applied = service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [4, 1], writes: [{ key: 'a', value: 1 }] });
  const commits = service.handle({ id: 2, type: 'db.commits', from: SECOND, members: [SECOND] });
  store.release();
  await applied;
  t.deepEqual(await commits, { records: [record([4, 1], TEST_FROM, ['a'])], maxVersion: [4, 1] });
});

test('db.commits and db.recover are fenced like APPLYs', async (t) => {
  const service = newService(new MemoryStore());
  const stranger: Member = { id: 3, incarnation: '1.abc' };
  const codeOf = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'answered', (error: unknown) => (error as OccdbError).code);
  t.is(await codeOf(service.handle({ id: 1, type: 'db.commits', from: stranger, members: [] })), 'FENCED');
  t.is(await codeOf(service.handle({ id: 2, type: 'db.recover', from: stranger, entries: [{ key: 'a', version: [1, 1], value: 1 }], drop: [] })), 'FENCED');
  t.deepEqual(await service.handle({ id: 3, type: 'db.read', keys: ['a'] }), { entries: [{ version: [0, 0] }] });
});

test('db.recover writes each entry only over an older version, key by key, drops the records it names, and raises the largest version', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 5 }] });
  await service.handle({ id: 2, type: 'db.apply', from: TEST_FROM, ts: [2, 1], writes: [{ key: 'y', value: 2 }] });
  const answer = await service.handle({
    id: 3, type: 'db.recover', from: SECOND,
    entries: [{ key: 'x', version: [4, 2], value: 'older' }, { key: 'y', version: [6, 2], value: 'newer' }, { key: 'z', version: [3, 2] }],
    drop: [[5, 1], [8, 8]],
  });
  t.deepEqual(answer, { written: 2, dropped: 1 });
  t.deepEqual(await store.read(['x', 'y', 'z']), [{ version: [5, 1], value: 5 }, { version: [6, 2], value: 'newer' }, { version: [3, 2] }]);
  t.deepEqual(store.commits([]).map((kept) => kept.ts), [[2, 1]]);
  t.deepEqual(store.maxVersion, [6, 2]);
  t.deepEqual(await service.handle({ id: 4, type: 'db.recover', from: SECOND, entries: [{ key: 'y', version: [6, 2], value: 'newer' }], drop: [[5, 1]] }), { written: 0, dropped: 0 }, 'a repeated recovery changes nothing');
});

test('LevelDB: an APPLY\'s entries and its record are both there after a restart, and so are the largest version and a recovery\'s writes; no scan shows a reserved key', async (t) => {
  const dir = path.join(temporaryRoot, 'restart');
  let storage = await Storage.open(dir);
  try {
    const service = newService(storage);
    await service.handle({ id: 1, type: 'db.apply-batch', from: TEST_FROM, applies: [{ ts: [3, 1], writes: [{ key: 'a', value: 3 }] }, { ts: [4, 1], writes: [{ key: 'b', value: 4 }] }] });
    await service.handle({ id: 2, type: 'db.apply-batch', from: TEST_FROM, watermark: 3, applies: [{ ts: [5, 1], writes: [{ key: 'c', value: 5 }] }] });
    await service.handle({ id: 3, type: 'db.recover', from: SECOND, entries: [{ key: 'd', version: [7, 2], value: 7 }], drop: [[4, 1]] });
  } finally {
    await storage.close();
  }
  storage = await Storage.open(dir);
  try {
    t.deepEqual(await storage.read(['a', 'b', 'c', 'd']), [{ version: [3, 1], value: 3 }, { version: [4, 1], value: 4 }, { version: [5, 1], value: 5 }, { version: [7, 2], value: 7 }]);
    t.deepEqual(storage.commits([]), [record([5, 1], TEST_FROM, ['c'])], '3.1 trimmed by the watermark, 4.1 dropped by the recovery');
    t.deepEqual(storage.maxVersion, [7, 2]);
    const service = newService(storage);
    t.deepEqual(await service.handle({ id: 4, type: 'db.commits', from: SECOND, members: [SECOND] }), { records: [record([5, 1], TEST_FROM, ['c'])], maxVersion: [7, 2] });
    t.deepEqual((await storage.scan(undefined, 100)).entries.map((entry) => entry.key), ['a', 'b', 'c', 'd']);
  } finally {
    await storage.close();
  }
});

test('LevelDB: a directory written before the largest version was kept finds it from its entries', async (t) => {
  const dir = path.join(temporaryRoot, 'older');
  // As a database of an earlier build left it: entries only.
  const older = new Level<string, Entry>(dir, { valueEncoding: 'json' });
  await older.batch([{ type: 'put', key: 'a', value: { version: [8, 2], value: 1 } }, { type: 'put', key: 'b', value: { version: [3, 1] } }]);
  await older.close();
  const storage = await Storage.open(dir);
  try {
    t.deepEqual(storage.maxVersion, [8, 2]);
    t.deepEqual(storage.commits([]), []);
  } finally {
    await storage.close();
  }
  const empty = await openFresh();
  t.deepEqual(empty.maxVersion, [0, 0], 'an empty directory');
  await empty.close();
});

test('the real process: an acknowledged APPLY\'s record and the largest version survive kill -9', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'process'), { middlewares: 2, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const start = async (): Promise<ChildProcess> => {
    const child = spawnOccdb(['database', 'DATABASE1', '--cluster', file]);
    children.add(child);
    await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
    return child;
  };
  const child = await start();
  let connection = new Connection(endpoint);
  try {
    t.deepEqual(await connection.request({ type: 'db.apply', from: TEST_FROM, ts: [12, 1], writes: [{ key: 'kept', value: 12 }] }, REPLY_TIMEOUT_MS), { written: 1 });
    child.kill('SIGKILL'); // The moment the acknowledgement arrived.
  } finally {
    connection.close();
  }
  await killProcess(child, 'SIGKILL');
  await start();
  connection = new Connection(endpoint);
  try {
    t.deepEqual(await connection.request({ type: 'db.commits', from: SECOND, members: [SECOND] }, REPLY_TIMEOUT_MS), { records: [record([12, 1], TEST_FROM, ['kept'])], maxVersion: [12, 1] });
    t.deepEqual(await connection.request({ type: 'db.scan', limit: 100 }, REPLY_TIMEOUT_MS), { entries: [{ key: 'kept', version: [12, 1], value: 12 }], done: true });
  } finally {
    connection.close();
  }
});

test('the real process killed among APPLYs in flight: after the restart an APPLY\'s entry and its record are both there or neither is', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'torn'), { middlewares: 1, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const child = spawnOccdb(['database', 'DATABASE1', '--cluster', file]);
  children.add(child);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
  const killAfterAcks = 40;
  // Several APPLYs in flight keep the database busy, so the kill lands inside some batch. Each writes a key of its own.
  const windowSize = 8;
  const connection = new Connection(endpoint);
  let acks = 0;
  const inFlight = new Set<Promise<void>>();
  try {
    for (let counter = 1; counter <= 5_000 && acks < killAfterAcks; counter++) {
      const request: Promise<void> = connection.request({ type: 'db.apply', from: TEST_FROM, ts: [counter, 1], writes: [{ key: `k${counter}`, value: counter }] }).then(
        () => {
          acks += 1;
          if (acks === killAfterAcks) child.kill('SIGKILL');
        },
        () => {},
      ).finally(() => inFlight.delete(request));
      inFlight.add(request);
      if (inFlight.size >= windowSize) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    connection.close();
  }
  await killProcess(child, 'SIGKILL');
  const restarted = spawnOccdb(['database', 'DATABASE1', '--cluster', file]);
  children.add(restarted);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, restarted);
  const reader = new Connection(endpoint);
  try {
    const { entries } = await reader.request({ type: 'db.scan', limit: 10_000 }, REPLY_TIMEOUT_MS);
    const { records, maxVersion } = await reader.request({ type: 'db.commits', from: TEST_FROM, members: [] }, REPLY_TIMEOUT_MS);
    const written = entries.map((entry) => entry.version[0]).sort((a, b) => a - b);
    t.true(written.length >= killAfterAcks, 'every acknowledged APPLY is there');
    t.deepEqual(records.map((kept) => kept.ts[0]), written);
    t.deepEqual(maxVersion, [written.at(-1)!, 1]);
  } finally {
    reader.close();
  }
});
