// The database side of state transfer (docs/design.md, section 9, "A database that returns"): a
// database that accepts a view newly listing it as joining clears its store (entries and
// recent-commits records; the acceptor state and the largest version stay) and records that it
// is joining, before the acceptor state, in the APPLYs' line; one that continues as joining keeps
// its store; a chosen view that promotes or removes it ends the joining. db.transfer writes an
// in-sync replica's entries under the Thomas rule and its records unless held or below their
// life's watermark; db.transfer-done records the end; both are fenced and refused with
// NOT_JOINING when the database is not joining. All of it survives a restart of LevelDB.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseEndpoint } from '../cluster/cluster-file.js';
import { CommitLog, commitGroupKey } from '../database/commit-log.js';
import { DatabaseService, INCARNATION_BEFORE_BOOT, initialView, openAcceptor, type DatabaseStore } from '../database/server.js';
import { Storage } from '../database/storage.js';
import { sameSyncState, syncOnAccept, syncOnChosen, transferDoneRefusal, transferRefusal } from '../database/sync-state.js';
import { OccdbError } from '../errors/catalogue.js';
import { Connection } from '../protocol/connection.js';
import type { CommitRecord } from '../protocol/schemas.js';
import { createLogger } from '../runtime/log.js';
import { Acceptor } from '../view/acceptor.js';
import type { Ballot, Member, View } from '../view/types.js';
import { TEST_FROM } from './helpers/members.js';
import { GatedStore, MemoryStore } from './helpers/memory-store.js';
import { killProcess, spawnOccdb, waitForPing, writeTestCluster } from './helpers/processes.js';

const STARTUP_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-state-transfer-'));
const children = new Set<ChildProcess>();

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

/** MIDDLEWARE2 as epoch 0 lists it. */
const SECOND: Member = { id: 2, incarnation: INCARNATION_BEFORE_BOOT };
/** A middleware life no view lists. */
const STRANGER: Member = { id: 3, incarnation: '1.abc' };
/** The database under test: DATABASE3, which epoch 0 leaves out (its replicas are DATABASE1-2). */
const SELF = 3;
const EPOCH_0 = initialView({ middlewares: [{ id: 1 }, { id: 2 }], databases: [{ id: 1 }, { id: 2 }] });
const members = EPOCH_0.members;
/** Epoch 1 brings DATABASE3 back as joining. */
const JOIN: View = { epoch: 1, members, replicas: [1, 2], joining: [SELF] };
/** Epoch 2 keeps it joining: it continues. */
const CONTINUE: View = { epoch: 2, members, replicas: [1, 2], joining: [SELF] };
/** Epoch 2 promotes it. */
const PROMOTE: View = { epoch: 2, members, replicas: [1, 2, SELF], joining: [] };
/** Epoch 2 removes it. */
const REMOVE: View = { epoch: 2, members, replicas: [1, 2], joining: [] };

const ballot = (round: number): Ballot => ({ round, proposer: 2, incarnation: '1.abc' });
let directories = 0;

function newService(store: DatabaseStore, acceptor = Acceptor.start(EPOCH_0)): DatabaseService {
  const logger = createLogger({ name: 'test', level: 'error', console: false });
  return new DatabaseService(`DATABASE${SELF}`, store, logger, () => ({ role: 'database', id: SELF, pid: process.pid, ports: {}, uptimeMs: 0 }), acceptor, { id: SELF });
}

/** Has the service promise and accept `view`, as a proposer's two phases would; both queued at once. */
async function accept(service: DatabaseService, view: View, round = 1): Promise<void> {
  const [, accepted] = await Promise.all([
    service.handle({ id: 90, type: 'db.prepare', epoch: view.epoch, ballot: ballot(round) }),
    service.handle({ id: 91, type: 'db.accept', epoch: view.epoch, ballot: ballot(round), view }),
  ]);
  if ((accepted as { type: string }).type !== 'accepted') throw new Error(`epoch ${view.epoch} was not accepted: ${JSON.stringify(accepted)}`);
}

/** Accepts `view` and learns it chosen. */
async function choose(service: DatabaseService, view: View): Promise<void> {
  await accept(service, view);
  await service.handle({ id: 92, type: 'db.chosen', view });
}

/** A store that holds what a database held before it failed: two entries and their records, the largest version 9.1. */
async function staleStore<T extends DatabaseStore>(store: T): Promise<T> {
  const service = newService(store);
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [9, 1], writes: [{ key: 'stale', value: 9 }] });
  await service.handle({ id: 2, type: 'db.apply', from: SECOND, ts: [4, 2], writes: [{ key: 'aborted', value: 4 }] });
  return store;
}

function record(ts: [number, number], coordinator: Member, keys: string[]): CommitRecord {
  return { ts, coordinator, keys };
}

function codeOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => 'answered', (error: unknown) => (error instanceof OccdbError ? error.code : error));
}

// ---- the rules, pure ----

test('accepting a view that lists the database as joining, when the chosen view before does not, clears it and makes it joining since that epoch', (t) => {
  t.deepEqual(syncOnAccept(SELF, EPOCH_0, JOIN, null), { clear: true, sync: { joiningSince: 1, complete: false } });
  const demoted: View = { epoch: 1, members, replicas: [1, 2], joining: [] };
  t.deepEqual(syncOnAccept(SELF, { ...EPOCH_0, replicas: [1, 2, SELF] }, { ...demoted, joining: [SELF] }, null), { clear: true, sync: { joiningSince: 1, complete: false } }, 'from the replicas too');
  t.deepEqual(syncOnAccept(SELF, EPOCH_0, { ...JOIN, joining: [] }, null), { clear: false }, 'a view that does not list it as joining');
  t.deepEqual(syncOnAccept(SELF, EPOCH_0, JOIN, { joiningSince: 0, complete: true }), { clear: true, sync: { joiningSince: 1, complete: false } }, 'a sync state of an earlier joining counts for nothing');
});

test('accepting a view that lists the database as joining, when the chosen view before does too, clears nothing: it continues', (t) => {
  t.deepEqual(syncOnAccept(SELF, JOIN, CONTINUE, { joiningSince: 1, complete: false }), { clear: false });
  t.deepEqual(syncOnAccept(SELF, JOIN, PROMOTE, { joiningSince: 1, complete: true }), { clear: false });
});

test('accepting again a view of the epoch it is joining since clears nothing: the clear of that epoch was made', (t) => {
  t.deepEqual(syncOnAccept(SELF, EPOCH_0, JOIN, { joiningSince: 1, complete: false }), { clear: false });
  t.deepEqual(syncOnAccept(SELF, EPOCH_0, JOIN, { joiningSince: 1, complete: true }), { clear: false }, 'a transfer recorded complete is kept');
});

test('learning a chosen view that lists the database as joining while it is not joining (it did not accept that view) clears it, as the accept would have', (t) => {
  t.deepEqual(syncOnChosen(SELF, JOIN, null), { clear: true, sync: { joiningSince: JOIN.epoch, complete: false } });
});

test('learning a chosen view: listed as joining, the sync state stays; as a replica or not at all, it goes back to null', (t) => {
  const joining = { joiningSince: 1, complete: true };
  t.deepEqual(syncOnChosen(SELF, CONTINUE, joining), { clear: false, sync: joining });
  t.deepEqual(syncOnChosen(SELF, PROMOTE, joining), { clear: false, sync: null });
  t.deepEqual(syncOnChosen(SELF, REMOVE, joining), { clear: false, sync: null });
  t.deepEqual(syncOnChosen(SELF, PROMOTE, null), { clear: false, sync: null });
  t.true(sameSyncState(null, null));
  t.false(sameSyncState(null, joining));
  t.true(sameSyncState({ joiningSince: 1, complete: true }, joining));
  t.false(sameSyncState({ joiningSince: 1, complete: false }, joining));
});

test('a transfer page is taken only while joining and not complete; the end only for the epoch it is joining since', (t) => {
  t.is(transferRefusal('DATABASE3', { joiningSince: 1, complete: false }), null);
  t.like(transferRefusal('DATABASE3', null), { code: 'NOT_JOINING' });
  t.like(transferRefusal('DATABASE3', { joiningSince: 1, complete: true }), { code: 'NOT_JOINING' });
  t.is(transferDoneRefusal('DATABASE3', { joiningSince: 1, complete: false }, 1), null);
  t.is(transferDoneRefusal('DATABASE3', { joiningSince: 1, complete: true }, 1), null, 'again: idempotent');
  t.like(transferDoneRefusal('DATABASE3', { joiningSince: 1, complete: false }, 2), { code: 'NOT_JOINING', message: 'DATABASE3 is joining since epoch 1, not 2' });
  t.like(transferDoneRefusal('DATABASE3', null, 1), { code: 'NOT_JOINING' });
});

// ---- the recent-commits log ----

test('the log: a transferred record enters in one new group with the state, and raises the largest version', (t) => {
  const log = new CommitLog();
  const change = log.planTransfer([record([3, 1], TEST_FROM, ['a']), record([5, 2], SECOND, [])], [[4, 4]]);
  t.deepEqual(change.puts.get(commitGroupKey(0)), { records: [record([3, 1], TEST_FROM, ['a']), record([5, 2], SECOND, [])], state: { watermarks: [], maxVersion: [5, 2] } });
  log.commit(change);
  t.deepEqual(log.notIn([]).map((kept) => kept.ts), [[3, 1], [5, 2]]);
  t.deepEqual(log.maxVersion, [5, 2]);
});

test('the log: a transferred record the log holds already is not added again, nor one repeated in the page', (t) => {
  const log = new CommitLog();
  log.commit(log.planGroup([{ ts: [3, 1], writes: [{ key: 'a', value: 3 }], from: TEST_FROM }]));
  const change = log.planTransfer([record([3, 1], TEST_FROM, ['a']), record([6, 1], TEST_FROM, ['b']), record([6, 1], TEST_FROM, ['b'])], []);
  t.deepEqual(change.puts.get(commitGroupKey(1))!.records, [record([6, 1], TEST_FROM, ['b'])]);
  t.is(log.planTransfer([record([3, 1], TEST_FROM, ['a'])], []).puts.size, 0, 'nothing new: nothing written');
});

test('the log: a transferred record at or below its life\'s watermark is not added; another life\'s is', (t) => {
  const log = new CommitLog();
  log.commit(log.planGroup([{ ts: [8, 1], writes: [], from: TEST_FROM, watermark: 5 }]));
  const change = log.planTransfer([record([5, 1], TEST_FROM, ['a']), record([6, 1], TEST_FROM, ['b']), record([4, 2], SECOND, ['c'])], []);
  t.deepEqual(change.puts.get(commitGroupKey(1))!.records, [record([6, 1], TEST_FROM, ['b']), record([4, 2], SECOND, ['c'])]);
});

test('the log: a clear deletes every group and leaves one with no record and no watermark, keeping the largest version', (t) => {
  const log = new CommitLog();
  log.commit(log.planGroup([{ ts: [3, 1], writes: [], from: TEST_FROM }, { ts: [4, 2], writes: [], from: SECOND }]));
  log.commit(log.planGroup([{ ts: [7, 1], writes: [], from: TEST_FROM, watermark: 3 }]));
  const change = log.planClear();
  t.deepEqual([...change.deletes].sort(), [commitGroupKey(0), commitGroupKey(1)]);
  t.deepEqual([...change.puts], [[commitGroupKey(2), { records: [], state: { watermarks: [], maxVersion: [7, 1] } }]]);
  t.is(change.removed, 2);
  log.commit(change);
  t.deepEqual(log.notIn([]), []);
  t.deepEqual(log.maxVersion, [7, 1]);
  const again = log.planTransfer([record([2, 1], TEST_FROM, [])], []);
  t.is(again.puts.get(commitGroupKey(3))!.records.length, 1, 'no watermark is left to cover a record of an earlier life\'s counter');
});

// ---- the database, in memory ----

test('accepting a view that newly lists the database as joining clears its entries and records, keeps the largest version, and then records joining', async (t) => {
  const store = await staleStore(new MemoryStore());
  const service = newService(store);
  await accept(service, JOIN);
  t.deepEqual(await store.read(['stale', 'aborted']), [{ version: [0, 0] }, { version: [0, 0] }]);
  t.deepEqual(store.commits([]), []);
  t.deepEqual((await store.scan(undefined, 10)).entries, []);
  t.deepEqual(store.maxVersion, [9, 1], 'kept: it feeds the INSTALL clock');
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
  t.like(await store.readAcceptor(), { accepted: { view: JOIN } }, 'the acceptor state is kept, and holds the accept');
});

test('the clear runs in the APPLYs\' line: an APPLY admitted before the accept lands and is cleared, one admitted after lands on the cleared store; the clear and the sync state come before the acceptor state', async (t) => {
  const store = new GatedStore();
  const service = newService(store);
  store.hold();
  const before = service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'before', value: 5 }] });
  const accepted = accept(service, JOIN);
  const after = service.handle({ id: 2, type: 'db.apply', from: TEST_FROM, ts: [6, 1], writes: [{ key: 'after', value: 6 }] });
  store.release();
  await Promise.all([before, accepted, after]);
  t.deepEqual(store.log, ['group 5', 'acceptor', 'clear', 'sync {"joiningSince":1,"complete":false}', 'acceptor', 'group 6']);
  t.deepEqual(await store.read(['before', 'after']), [{ version: [0, 0] }, { version: [6, 1], value: 6 }]);
  t.deepEqual(store.commits([]).map((kept) => kept.ts), [[6, 1]]);
});

test('an accept whose clear fails is answered STORAGE_UNAVAILABLE and leaves no acceptor state: the accept did not happen, and the next one clears', async (t) => {
  class FailingClear extends MemoryStore {
    failing = true;
    override async clear(): Promise<void> {
      if (this.failing) throw new Error('disk full');
      return super.clear();
    }
  }
  const store = await staleStore(new FailingClear());
  const service = newService(store);
  await service.handle({ id: 1, type: 'db.prepare', epoch: 1, ballot: ballot(1) });
  t.is(await codeOf(service.handle({ id: 2, type: 'db.accept', epoch: 1, ballot: ballot(1), view: JOIN })), 'STORAGE_UNAVAILABLE');
  t.like(await store.readAcceptor(), { accepted: null });
  t.is(store.syncState, null);
  store.failing = false;
  await accept(service, JOIN);
  t.deepEqual(await store.read(['stale']), [{ version: [0, 0] }]);
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
});

test('a database that continues as joining (the chosen view lists it so already) keeps its store', async (t) => {
  const store = await staleStore(new MemoryStore());
  const service = newService(store);
  await choose(service, JOIN);
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [10, 1], writes: [{ key: 'since', value: 10 }] });
  await accept(service, CONTINUE);
  t.deepEqual(await store.read(['since']), [{ version: [10, 1], value: 10 }]);
  t.deepEqual(store.commits([]).map((kept) => kept.ts), [[10, 1]]);
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
});

test('an accept of the joining epoch again (a higher ballot, before it learned the view chosen) keeps what came since the first', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await accept(service, JOIN, 1);
  await service.handle({ id: 1, type: 'db.transfer', from: SECOND, entries: [{ key: 'copied', version: [3, 2], value: 3 }], records: [] });
  await service.handle({ id: 2, type: 'db.transfer-done', from: SECOND, epoch: 1 });
  await accept(service, JOIN, 2);
  t.deepEqual(await store.read(['copied']), [{ version: [3, 2], value: 3 }]);
  t.deepEqual(store.syncState, { joiningSince: 1, complete: true });
});

test('learning a chosen view that lists it as a replica ends the joining; one that lists it as joining leaves the sync state and the store alone', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await choose(service, JOIN);
  await service.handle({ id: 1, type: 'db.transfer', from: SECOND, entries: [{ key: 'copied', version: [3, 2], value: 3 }], records: [] });
  await service.handle({ id: 2, type: 'db.chosen', view: CONTINUE });
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
  t.deepEqual(await store.read(['copied']), [{ version: [3, 2], value: 3 }]);
  await service.handle({ id: 3, type: 'db.transfer-done', from: SECOND, epoch: 1 });
  await service.handle({ id: 4, type: 'db.chosen', view: { ...PROMOTE, epoch: 3 } });
  t.is(store.syncState, null);
  t.deepEqual(await store.read(['copied']), [{ version: [3, 2], value: 3 }], 'promotion clears nothing');
  t.deepEqual(await service.handle({ id: 5, type: 'db.view' }), { chosen: { ...PROMOTE, epoch: 3 }, accepted: null, sync: null });
});

test('learning (without accepting) a chosen view that lists it as joining clears its store as an accept would; learning the next one that still does keeps what came since', async (t) => {
  const store = await staleStore(new MemoryStore());
  const service = newService(store);
  await service.handle({ id: 1, type: 'db.chosen', view: JOIN });
  t.deepEqual(await store.read(['stale', 'aborted']), [{ version: [0, 0] }, { version: [0, 0] }]);
  t.deepEqual(store.commits([]), []);
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
  await service.handle({ id: 2, type: 'db.apply', from: TEST_FROM, ts: [12, 1], writes: [{ key: 'new', value: 12 }] });
  await service.handle({ id: 3, type: 'db.chosen', view: CONTINUE });
  t.deepEqual(await store.read(['new']), [{ version: [12, 1], value: 12 }]);
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
});

test('learning a chosen view that leaves it out ends the joining too', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await choose(service, JOIN);
  await service.handle({ id: 1, type: 'db.chosen', view: REMOVE });
  t.is(store.syncState, null);
  t.is(await codeOf(service.handle({ id: 2, type: 'db.transfer', from: SECOND, entries: [], records: [] })), 'NOT_JOINING');
});

test('db.transfer writes each entry only over an older version (an APPLY that crossed it keeps its newer one) and answers how many it wrote', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await choose(service, JOIN);
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 'applied' }, { key: 'z', value: 'applied' }] });
  const answer = await service.handle({
    id: 2, type: 'db.transfer', from: SECOND,
    entries: [{ key: 'x', version: [4, 2], value: 'snapshot' }, { key: 'y', version: [3, 2] }, { key: 'z', version: [5, 1], value: 'applied' }, { key: 'w', version: [2, 2], value: 'snapshot' }],
    records: [],
  });
  t.deepEqual(answer, { written: 2, recorded: 0 });
  t.deepEqual(await store.read(['x', 'y', 'z', 'w']), [{ version: [5, 1], value: 'applied' }, { version: [3, 2] }, { version: [5, 1], value: 'applied' }, { version: [2, 2], value: 'snapshot' }], 'a tombstone is copied as a tombstone');
});

test('db.transfer adds the records the log does not hold and no watermark covers, in one synced batch with the entries', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await choose(service, JOIN);
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 5 }] });
  await service.handle({ id: 2, type: 'db.apply-batch', from: SECOND, watermark: 3, applies: [{ ts: [6, 2], writes: [{ key: 'y', value: 6 }] }] });
  const syncsBefore = store.syncs;
  const answer = await service.handle({
    id: 3, type: 'db.transfer', from: SECOND,
    entries: [{ key: 'v', version: [2, 2], value: 2 }],
    records: [record([5, 1], TEST_FROM, ['x']), record([2, 2], SECOND, ['v']), record([4, 2], SECOND, ['w']), record([7, 1], TEST_FROM, [])],
  });
  t.deepEqual(answer, { written: 1, recorded: 2 });
  t.is(store.syncs, syncsBefore + 1, 'one batch');
  t.deepEqual(store.commits([]).map((kept) => kept.ts), [[4, 2], [5, 1], [6, 2], [7, 1]], '5.1 held already, 2.2 below SECOND\'s watermark 3');
  t.deepEqual(store.maxVersion, [7, 1]);
});

test('db.transfer and db.transfer-done are refused with NOT_JOINING by a database that is not joining, or whose transfer is recorded complete', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  t.is(await codeOf(service.handle({ id: 1, type: 'db.transfer', from: SECOND, entries: [{ key: 'x', version: [1, 1], value: 1 }], records: [] })), 'NOT_JOINING');
  t.is(await codeOf(service.handle({ id: 2, type: 'db.transfer-done', from: SECOND, epoch: 1 })), 'NOT_JOINING');
  t.deepEqual(await store.read(['x']), [{ version: [0, 0] }], 'nothing written');
  await choose(service, JOIN);
  t.is(await codeOf(service.handle({ id: 3, type: 'db.transfer-done', from: SECOND, epoch: 2 })), 'NOT_JOINING', 'another epoch\'s joining');
  t.deepEqual(await service.handle({ id: 4, type: 'db.transfer-done', from: SECOND, epoch: 1 }), { complete: true });
  t.deepEqual(await service.handle({ id: 5, type: 'db.transfer-done', from: SECOND, epoch: 1 }), { complete: true }, 'again: the same answer');
  t.is(await codeOf(service.handle({ id: 6, type: 'db.transfer', from: SECOND, entries: [], records: [] })), 'NOT_JOINING', 'after the end');
  t.deepEqual(store.syncState, { joiningSince: 1, complete: true });
});

test('db.transfer and db.transfer-done are fenced: a life the fence view does not admit gets FENCED, and nothing is written', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await accept(service, JOIN);
  t.is(await codeOf(service.handle({ id: 1, type: 'db.transfer', from: STRANGER, entries: [{ key: 'x', version: [1, 1], value: 1 }], records: [] })), 'FENCED');
  t.is(await codeOf(service.handle({ id: 2, type: 'db.transfer-done', from: STRANGER, epoch: 1 })), 'FENCED');
  t.deepEqual(await store.read(['x']), [{ version: [0, 0] }]);
  t.deepEqual(store.syncState, { joiningSince: 1, complete: false });
});

test('db.view and status report the sync state', async (t) => {
  const service = newService(new MemoryStore());
  t.like(await service.handle({ id: 1, type: 'db.view' }), { sync: null });
  t.like(await service.handle({ id: 2, type: 'status' }), { sync: null });
  await accept(service, JOIN);
  t.deepEqual(await service.handle({ id: 3, type: 'db.view' }), { chosen: EPOCH_0, accepted: { ballot: ballot(1), view: JOIN }, sync: { joiningSince: 1, complete: false } });
  await service.handle({ id: 4, type: 'db.transfer-done', from: SECOND, epoch: 1 });
  t.like(await service.handle({ id: 5, type: 'status' }), { sync: { joiningSince: 1, complete: true } });
});

// ---- LevelDB ----

function openFresh(): { dir: string; open: () => Promise<Storage> } {
  directories += 1;
  const dir = path.join(temporaryRoot, `storage${directories}`);
  return { dir, open: () => Storage.open(dir) };
}

test('LevelDB: the clear, the joining, a transfer and its end survive a restart; the acceptor state and the largest version are kept; no scan shows a reserved key', async (t) => {
  const { open } = openFresh();
  let storage = await staleStore(await open());
  try {
    const service = newService(storage);
    await choose(service, JOIN);
    await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [10, 1], writes: [{ key: 'applied', value: 10 }] });
    const transferred = await service.handle({
      id: 2, type: 'db.transfer', from: SECOND,
      entries: [{ key: 'applied', version: [9, 2], value: 'older' }, { key: 'copied', version: [8, 2], value: 8 }, { key: 'gone', version: [7, 2] }],
      records: [record([8, 2], SECOND, ['copied'])],
    });
    t.deepEqual(transferred, { written: 2, recorded: 1 }, 'the APPLY\'s newer version of "applied" is kept');
  } finally {
    await storage.close();
  }
  storage = await open();
  try {
    t.deepEqual(storage.syncState, { joiningSince: 1, complete: false });
    t.deepEqual(await storage.read(['stale', 'aborted', 'applied', 'copied', 'gone']), [{ version: [0, 0] }, { version: [0, 0] }, { version: [10, 1], value: 10 }, { version: [8, 2], value: 8 }, { version: [7, 2] }]);
    t.deepEqual(storage.commits([]).map((kept) => kept.ts), [[8, 2], [10, 1]]);
    t.deepEqual(storage.maxVersion, [10, 1]);
    t.deepEqual((await storage.scan(undefined, 100)).entries.map((entry) => entry.key), ['applied', 'copied', 'gone']);
    const service = newService(storage, await openAcceptor(storage, EPOCH_0));
    t.deepEqual(await service.handle({ id: 3, type: 'db.transfer-done', from: SECOND, epoch: 1 }), { complete: true });
  } finally {
    await storage.close();
  }
  storage = await open();
  try {
    t.deepEqual(storage.syncState, { joiningSince: 1, complete: true }, 'the end is durable');
    const service = newService(storage, await openAcceptor(storage, EPOCH_0));
    t.like(await service.handle({ id: 4, type: 'db.view' }), { chosen: JOIN, sync: { joiningSince: 1, complete: true } });
    await service.handle({ id: 5, type: 'db.chosen', view: PROMOTE });
  } finally {
    await storage.close();
  }
  storage = await open();
  try {
    t.is(storage.syncState, null, 'the promotion is durable');
  } finally {
    await storage.close();
  }
});

test('LevelDB: a clear of more entries than one batch deletes them all, the largest version survives a restart, and a read after it is not served from the cache', async (t) => {
  const { open } = openFresh();
  let storage = await open();
  const count = 10_050;
  try {
    const entries = Array.from({ length: count }, (_, index) => ({ key: `k${index}`, version: [index + 1, 1] as [number, number], value: index }));
    await storage.recover(entries, []);
    t.deepEqual(await storage.read(['k0']), [{ version: [1, 1], value: 0 }], 'read once: now in the cache');
    await storage.clear();
    t.deepEqual(await storage.read(['k0']), [{ version: [0, 0] }]);
    t.deepEqual(storage.maxVersion, [count, 1]);
  } finally {
    await storage.close();
  }
  storage = await open();
  try {
    t.deepEqual((await storage.scan(undefined, 10)).entries, []);
    t.deepEqual(storage.maxVersion, [count, 1]);
    t.is(await storage.readAcceptor(), null, 'a clear writes no acceptor state');
  } finally {
    await storage.close();
  }
});

test('the real process: a view that brings the database back as joining clears it; a transfer and its end through the wire survive kill -9', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'process'), { middlewares: 2, databases: 3 });
  const endpoint = databaseEndpoint(cluster.databases[2]!);
  const start = async (): Promise<ChildProcess> => {
    const child = spawnOccdb(['database', `DATABASE${SELF}`, '--cluster', file]);
    children.add(child);
    await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
    return child;
  };
  const everyDatabase: View = { epoch: 1, members, replicas: [1, 2], joining: [] };
  const backAsJoining: View = { epoch: 2, members, replicas: [1, 2], joining: [SELF] };
  const first = await start();
  let connection = new Connection(endpoint);
  try {
    await connection.request({ type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'stale', value: 5 }] }, REPLY_TIMEOUT_MS);
    // Epoch 1 leaves it out (it failed), epoch 2 brings it back.
    await connection.request({ type: 'db.chosen', view: everyDatabase }, REPLY_TIMEOUT_MS);
    await connection.request({ type: 'db.prepare', epoch: 2, ballot: ballot(1) }, REPLY_TIMEOUT_MS);
    t.like(await connection.request({ type: 'db.accept', epoch: 2, ballot: ballot(1), view: backAsJoining }, REPLY_TIMEOUT_MS), { type: 'accepted' });
    t.deepEqual(await connection.request({ type: 'db.scan', limit: 10 }, REPLY_TIMEOUT_MS), { entries: [], done: true });
    const transferred = await connection.request({ type: 'db.transfer', from: SECOND, entries: [{ key: 'copied', version: [4, 2], value: 4 }], records: [record([4, 2], SECOND, ['copied'])] }, REPLY_TIMEOUT_MS);
    t.deepEqual(transferred, { written: 1, recorded: 1 });
    t.deepEqual(await connection.request({ type: 'db.transfer-done', from: SECOND, epoch: 2 }, REPLY_TIMEOUT_MS), { complete: true });
  } finally {
    connection.close();
  }
  await killProcess(first, 'SIGKILL');
  await start();
  connection = new Connection(endpoint);
  try {
    t.like(await connection.request({ type: 'db.view' }, REPLY_TIMEOUT_MS), { chosen: everyDatabase, accepted: { view: backAsJoining }, sync: { joiningSince: 2, complete: true } });
    t.like(await connection.request({ type: 'status' }, REPLY_TIMEOUT_MS), { sync: { joiningSince: 2, complete: true } });
    t.deepEqual(await connection.request({ type: 'db.scan', limit: 10 }, REPLY_TIMEOUT_MS), { entries: [{ key: 'copied', version: [4, 2], value: 4 }], done: true });
    t.deepEqual(await connection.request({ type: 'db.commits', from: SECOND, members: [] }, REPLY_TIMEOUT_MS), { records: [record([4, 2], SECOND, ['copied'])], maxVersion: [5, 1] });
    const refused = await t.throwsAsync(connection.request({ type: 'db.transfer', from: SECOND, entries: [], records: [] }, REPLY_TIMEOUT_MS));
    t.like(refused, { code: 'NOT_JOINING' });
  } finally {
    connection.close();
  }
});
