// Fencing at the database: it serves a middleware life only while the newest view it accepted
// (else its newest chosen view) lists that very life. An APPLY is checked when it arrives and
// again when its group is written; a read with `from` when it arrives and again before it is
// answered; a read without `from` (an operator's) is not fenced. db.confirm answers for the
// acceptor state durable now. The skip-fencing fault turns all of it off, on purpose.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseEndpoint } from '../cluster/cluster-file.js';
import { admits, fenceView } from '../database/fencing.js';
import { DatabaseService, INCARNATION_BEFORE_BOOT, initialView, type DatabaseFaults } from '../database/server.js';
import { OccdbError } from '../errors/catalogue.js';
import { Connection } from '../protocol/connection.js';
import { createLogger } from '../runtime/log.js';
import { Acceptor } from '../view/acceptor.js';
import type { Ballot, Member, View } from '../view/types.js';
import { TEST_FROM } from './helpers/members.js';
import { GatedStore, MemoryStore } from './helpers/memory-store.js';
import { capturedOutput, killProcess, spawnOccdb, waitForPing, writeTestCluster } from './helpers/processes.js';

const STARTUP_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-fencing-'));
const children = new Set<ChildProcess>();

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

/** MIDDLEWARE2 as epoch 0 lists it: the coordinator the views below keep. */
const SECOND: Member = { id: 2, incarnation: INCARNATION_BEFORE_BOOT };
const ballot: Ballot = { round: 1, proposer: 2, incarnation: '1.abc' };
/** Epoch 1 without MIDDLEWARE1 (TEST_FROM): what a proposer removing it would propose. */
const withoutFirst: View = { epoch: 1, members: [SECOND], replicas: [1], joining: [] };
const FENCED_FIRST = { code: 'FENCED', message: 'DATABASE1 accepted view 1 without MIDDLEWARE1 incarnation 0.0' } as const;

function newService(store: MemoryStore, faults: DatabaseFaults = {}): DatabaseService {
  const logger = createLogger({ name: 'test', level: 'error', console: false });
  const acceptor = Acceptor.start(initialView({ middlewares: [{ id: 1 }, { id: 2 }], databases: [{ id: 1 }] }));
  return new DatabaseService('DATABASE1', store, logger, () => ({ role: 'database', id: 1, pid: process.pid, ports: {}, uptimeMs: 0 }), acceptor, { id: 1, faults });
}

/**
 * Has the service promise and accept `view` for its epoch, as a proposer's two phases would;
 * both are queued at once, so whatever arrives after this call is queued behind the accept.
 */
async function accept(service: DatabaseService, view: View): Promise<void> {
  await Promise.all([
    service.handle({ id: 90, type: 'db.prepare', epoch: view.epoch, ballot }),
    service.handle({ id: 91, type: 'db.accept', epoch: view.epoch, ballot, view }),
  ]);
}

function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => 'answered', (error: unknown) => (error instanceof OccdbError ? { code: error.code, message: error.message } : error));
}

test('the fence view is the accepted view if there is one, else the chosen one, and it admits only the very life it lists', (t) => {
  const chosen = initialView({ middlewares: [{ id: 1 }, { id: 2 }], databases: [{ id: 1 }] });
  t.is(fenceView({ chosen, promised: null, accepted: null }), chosen);
  t.is(fenceView({ chosen, promised: ballot, accepted: { ballot, view: withoutFirst } }), withoutFirst);
  t.true(admits(chosen, TEST_FROM));
  t.false(admits(withoutFirst, TEST_FROM));
  t.false(admits(chosen, { id: 1, incarnation: '1.abc' }), 'another life of the same middleware');
  t.false(admits(chosen, { id: 3, incarnation: INCARNATION_BEFORE_BOOT }), 'a middleware the view does not name');
});

test('an APPLY or a batch from a life the accepted view leaves out is refused with FENCED when it arrives, and nothing of it is written', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await accept(service, withoutFirst);
  t.deepEqual(await refusal(service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 1 }] })), FENCED_FIRST);
  t.deepEqual(await refusal(service.handle({ id: 2, type: 'db.apply-batch', from: TEST_FROM, watermark: 9, applies: [{ ts: [6, 1], writes: [{ key: 'y', value: 1 }] }] })), FENCED_FIRST);
  t.deepEqual(await service.handle({ id: 3, type: 'db.apply', from: SECOND, ts: [7, 2], writes: [{ key: 'z', value: 1 }] }), { written: 1 }, 'a member is served');
  t.deepEqual((await store.scan(undefined, 10)).entries.map((entry) => entry.key), ['z']);
  t.deepEqual(store.commits([]).map((record) => record.ts), [[7, 2]], 'no record of the refused APPLYs');
  t.is(store.syncs, 1);
});

test('an APPLY admitted before an accept that removes its coordinator is refused when its group is written; another coordinator\'s APPLY in that group is written', async (t) => {
  const store = new GatedStore();
  const service = newService(store);
  store.hold();
  const first = service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [{ key: 'p', value: 1 }] });
  const accepted = accept(service, withoutFirst);
  // Both arrive while the accept waits behind the first group: the fence view is still epoch 0's, so both are admitted.
  const removed = refusal(service.handle({ id: 2, type: 'db.apply', from: TEST_FROM, ts: [2, 1], writes: [{ key: 'a', value: 2 }] }));
  const kept = service.handle({ id: 3, type: 'db.apply', from: SECOND, ts: [2, 2], writes: [{ key: 'b', value: 2 }] });
  store.release();
  t.deepEqual(await first, { written: 1 }, 'written before the accept');
  await accepted;
  t.deepEqual(await removed, FENCED_FIRST);
  t.deepEqual(await kept, { written: 1 });
  t.deepEqual(store.log, ['group 1', 'acceptor', 'acceptor', 'group 2'], 'the later group holds only the member\'s APPLY');
  t.deepEqual(await store.read(['a', 'b']), [{ version: [0, 0] }, { version: [2, 2], value: 2 }]);
  t.deepEqual(store.commits([]).map((record) => record.ts), [[1, 1], [2, 2]]);
});

test('a read or a version re-read with from is fenced; without from (an operator\'s) it is not', async (t) => {
  const service = newService(new MemoryStore());
  await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [{ key: 'k', value: 1 }] });
  t.deepEqual(await service.handle({ id: 2, type: 'db.read', keys: ['k'], from: TEST_FROM }), { entries: [{ version: [1, 1], value: 1 }] });
  await accept(service, withoutFirst);
  t.deepEqual(await refusal(service.handle({ id: 3, type: 'db.read', keys: ['k'], from: TEST_FROM })), FENCED_FIRST);
  t.deepEqual(await refusal(service.handle({ id: 4, type: 'db.versions', keys: ['k'], from: TEST_FROM })), FENCED_FIRST);
  t.deepEqual(await service.handle({ id: 5, type: 'db.read', keys: ['k'], from: SECOND }), { entries: [{ version: [1, 1], value: 1 }] });
  t.deepEqual(await service.handle({ id: 6, type: 'db.read', keys: ['k'] }), { entries: [{ version: [1, 1], value: 1 }] });
  t.deepEqual(await service.handle({ id: 7, type: 'db.versions', keys: ['k'] }), { versions: [[1, 1]] });
});

test('an at-least read admitted before its reader is removed is refused when it would be answered', async (t) => {
  const service = newService(new MemoryStore());
  const read = refusal(service.handle({ id: 1, type: 'db.read', keys: ['k'], atLeast: [['k', [5, 2]]], waitMs: 1_000, from: TEST_FROM }));
  await accept(service, withoutFirst);
  // The APPLY it waits for wakes it; by then its reader is out.
  await service.handle({ id: 2, type: 'db.apply', from: SECOND, ts: [5, 2], writes: [{ key: 'k', value: 5 }] });
  t.deepEqual(await read, FENCED_FIRST);
});

test('db.confirm answers {} while the sender is in the fence view, FENCED once it is not, and does not wait behind an APPLY group', async (t) => {
  const store = new GatedStore();
  const service = newService(store);
  store.hold();
  const pending = service.handle({ id: 1, type: 'db.apply', from: SECOND, ts: [1, 2], writes: [{ key: 'k', value: 1 }] });
  t.deepEqual(await service.handle({ id: 2, type: 'db.confirm', from: TEST_FROM, ts: [1, 1] }), {}, 'answered while the group is held');
  store.release();
  await pending;
  await accept(service, withoutFirst);
  t.deepEqual(await refusal(service.handle({ id: 3, type: 'db.confirm', from: TEST_FROM, ts: [1, 1] })), FENCED_FIRST);
  t.deepEqual(await service.handle({ id: 4, type: 'db.confirm', from: SECOND, ts: [1, 1] }), {});
});

test('db.confirm counts the read-only commit\'s timestamp in the largest version recovery reads (db.commits), and the next group keeps it; a refused one does not', async (t) => {
  const store = new MemoryStore();
  const service = newService(store);
  await service.handle({ id: 1, type: 'db.apply', from: SECOND, ts: [3, 2], writes: [{ key: 'k', value: 1 }] });
  t.deepEqual(await service.handle({ id: 2, type: 'db.confirm', from: TEST_FROM, ts: [40, 1] }), {});
  t.like(await service.handle({ id: 3, type: 'db.commits', from: SECOND, members: [SECOND] }), { maxVersion: [40, 1] });
  await service.handle({ id: 4, type: 'db.apply', from: SECOND, ts: [5, 2], writes: [{ key: 'k', value: 2 }] });
  t.like(await service.handle({ id: 5, type: 'db.commits', from: SECOND, members: [SECOND] }), { maxVersion: [40, 1] }, 'a later, smaller APPLY does not lower it');
  await accept(service, withoutFirst);
  await refusal(service.handle({ id: 6, type: 'db.confirm', from: TEST_FROM, ts: [90, 1] }));
  t.like(await service.handle({ id: 7, type: 'db.commits', from: SECOND, members: [SECOND] }), { maxVersion: [40, 1] }, 'a fenced confirmation counts nothing');
});

test('db.view answers the chosen view, the accepted value and the sync state; status carries the chosen view', async (t) => {
  const service = newService(new MemoryStore());
  const chosen = initialView({ middlewares: [{ id: 1 }, { id: 2 }], databases: [{ id: 1 }] });
  t.deepEqual(await service.handle({ id: 1, type: 'db.view' }), { chosen, accepted: null, sync: null });
  await accept(service, withoutFirst);
  t.deepEqual(await service.handle({ id: 2, type: 'db.view' }), { chosen, accepted: { ballot, view: withoutFirst }, sync: null });
  await service.handle({ id: 3, type: 'db.chosen', view: withoutFirst });
  t.deepEqual(await service.handle({ id: 4, type: 'db.view' }), { chosen: withoutFirst, accepted: null, sync: null });
  t.like(await service.handle({ id: 5, type: 'status' }), { chosenEpoch: 1, view: withoutFirst });
  t.deepEqual(await refusal(service.handle({ id: 6, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [] })), FENCED_FIRST, 'a chosen view fences as the accepted one did');
});

test('with the skip-fencing fault, an APPLY, a read and a confirmation from a removed life are served', async (t) => {
  const store = new MemoryStore();
  const service = newService(store, { skipFencing: true });
  await accept(service, withoutFirst);
  t.deepEqual(await service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'x', value: 1 }] }), { written: 1 });
  t.deepEqual(await service.handle({ id: 2, type: 'db.read', keys: ['x'], from: TEST_FROM }), { entries: [{ version: [5, 1], value: 1 }] });
  t.deepEqual(await service.handle({ id: 3, type: 'db.confirm', from: TEST_FROM, ts: [1, 1] }), {});
});

test('the real process: an accepted view fences across kill -9 and a restart; started with --fault skip-fencing it lets the APPLY through and says so', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'process'), { middlewares: 2, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const start = async (...extra: string[]): Promise<ChildProcess> => {
    const child = spawnOccdb(['database', 'DATABASE1', '--cluster', file, ...extra]);
    children.add(child);
    await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
    return child;
  };
  const apply = { type: 'db.apply', from: TEST_FROM, ts: [5, 1], writes: [{ key: 'late', value: 1 }] } as const;

  let child = await start();
  let connection = new Connection(endpoint);
  try {
    await connection.request({ type: 'db.prepare', epoch: 1, ballot }, REPLY_TIMEOUT_MS);
    t.like(await connection.request({ type: 'db.accept', epoch: 1, ballot, view: withoutFirst }, REPLY_TIMEOUT_MS), { type: 'accepted' });
    t.like(await t.throwsAsync(connection.request(apply, REPLY_TIMEOUT_MS)), FENCED_FIRST);
  } finally {
    connection.close();
  }
  await killProcess(child, 'SIGKILL');

  child = await start();
  connection = new Connection(endpoint);
  try {
    t.like(await t.throwsAsync(connection.request(apply, REPLY_TIMEOUT_MS)), FENCED_FIRST, 'the accepted view was durable');
    t.like(await t.throwsAsync(connection.request({ type: 'db.confirm', from: TEST_FROM, ts: [1, 1] }, REPLY_TIMEOUT_MS)), { code: 'FENCED' });
  } finally {
    connection.close();
  }
  await killProcess(child, 'SIGKILL');

  child = await start('--fault', 'skip-fencing');
  connection = new Connection(endpoint);
  try {
    t.deepEqual(await connection.request(apply, REPLY_TIMEOUT_MS), { written: 1 });
    t.deepEqual(await connection.request({ type: 'db.read', keys: ['late'] }, REPLY_TIMEOUT_MS), { entries: [{ version: [5, 1], value: 1 }] });
  } finally {
    connection.close();
  }
  t.regex(capturedOutput(child).stderr, /FAULTS INJECTED ON PURPOSE: skip-fencing/);
});
