// The database as a Paxos acceptor: the wire shapes are exactly the acceptor's types; a promise
// survives kill -9 and a restart of the real process; the acceptor's reserved key never shows
// in a scan; a vote is answered only after every APPLY admitted before it is written, and
// APPLYs admitted after it are written after it; malformed votes are refused with the field.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { databaseEndpoint } from '../cluster/cluster-file.js';
import { DatabaseService, INCARNATION_BEFORE_BOOT, initialView, openAcceptor } from '../database/server.js';
import { OccdbError } from '../errors/catalogue.js';
import { Connection } from '../protocol/connection.js';
import type { BallotSchema, MemberSchema, ResultOf, ViewSchema } from '../protocol/schemas.js';
import { createLogger } from '../runtime/log.js';
import { Acceptor, type AcceptorEffect } from '../view/acceptor.js';
import type { Ballot, Member, View } from '../view/types.js';
import { TEST_FROM } from './helpers/members.js';
import { GatedStore, MemoryStore } from './helpers/memory-store.js';
import { killProcess, spawnOccdb, waitForPing, writeTestCluster } from './helpers/processes.js';

const STARTUP_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-acceptor-'));
const children = new Set<ChildProcess>();

test.after.always(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL');
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

// Compile-time agreement of the wire with view/: each side must be assignable to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agreement: [
  Same<z.infer<typeof BallotSchema>, Ballot>,
  Same<z.infer<typeof MemberSchema>, Member>,
  Same<z.infer<typeof ViewSchema>, View>,
  Same<ResultOf<'db.prepare'>, Extract<AcceptorEffect, { type: 'promise' | 'refused' }>>,
  Same<ResultOf<'db.accept'>, Extract<AcceptorEffect, { type: 'accepted' | 'refused' }>>,
] = [true, true, true, true, true];

test('the wire shapes of ballots, views and answers are exactly those of view/ (checked when the tests compile)', (t) => {
  t.deepEqual(agreement, [true, true, true, true, true]);
});

const ballot = (round: number): Ballot => ({ round, proposer: 1, incarnation: '1.abc' });

test('a promise survives kill -9 of the real process: after a restart a lower prepare is refused, and the reserved key is not in db.scan', async (t) => {
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'restart'), { middlewares: 2, databases: 3 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const start = async (): Promise<ChildProcess> => {
    const child = spawnOccdb(['database', 'DATABASE1', '--cluster', file]);
    children.add(child);
    await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
    return child;
  };

  const first = await start();
  let connection = new Connection(endpoint);
  const promise = await connection.request({ type: 'db.prepare', epoch: 1, ballot: ballot(5) }, REPLY_TIMEOUT_MS);
  t.deepEqual(promise, { type: 'promise', epoch: 1, ballot: ballot(5), accepted: null });
  await connection.request({ type: 'db.apply', from: TEST_FROM, ts: [10, 1], writes: [{ key: 'x', value: 7 }] }, REPLY_TIMEOUT_MS);
  connection.close();
  await killProcess(first, 'SIGKILL');

  await start();
  connection = new Connection(endpoint);
  try {
    const refused = await connection.request({ type: 'db.prepare', epoch: 1, ballot: ballot(3) }, REPLY_TIMEOUT_MS);
    t.deepEqual(refused, { type: 'refused', epoch: 1, ballot: ballot(3), reason: 'outbid', promised: ballot(5) });
    const status = await connection.request({ type: 'status' }, REPLY_TIMEOUT_MS);
    t.like(status, { chosenEpoch: 0, promised: ballot(5) });
    const scan = await connection.request({ type: 'db.scan', limit: 100 }, REPLY_TIMEOUT_MS);
    t.deepEqual(scan, { entries: [{ key: 'x', version: [10, 1], value: 7 }], done: true }, 'only the entry, not !acceptor');
    // A prepare for epoch 0 is refused with epoch 0's view, built from the cluster file.
    const early = await connection.request({ type: 'db.prepare', epoch: 0, ballot: ballot(9) }, REPLY_TIMEOUT_MS);
    t.like(early, { reason: 'already-chosen', view: { epoch: 0, members: [{ id: 1, incarnation: INCARNATION_BEFORE_BOOT }, { id: 2, incarnation: INCARNATION_BEFORE_BOOT }], replicas: [1, 2, 3], joining: [] } });
  } finally {
    connection.close();
  }
});

test('a malformed prepare or accept gets BAD_MESSAGE naming the field', async (t) => {
  const service = newService(new MemoryStore());
  const serverError = (request: unknown): Promise<OccdbError> => t.throwsAsync(service.handle(request as never)) as Promise<OccdbError>;
  // Through the real process, the schema names the field.
  const { file, cluster } = await writeTestCluster(path.join(temporaryRoot, 'malformed'), { middlewares: 1, databases: 1 });
  const endpoint = databaseEndpoint(cluster.databases[0]!);
  const child = spawnOccdb(['database', 'DATABASE1', '--cluster', file]);
  children.add(child);
  await waitForPing(endpoint, STARTUP_TIMEOUT_MS, child);
  const connection = new Connection(endpoint);
  try {
    const missing = await t.throwsAsync(connection.request({ type: 'db.prepare', epoch: 1, ballot: { round: 1, proposer: 1 } } as never, REPLY_TIMEOUT_MS));
    t.like(missing, { code: 'BAD_MESSAGE' });
    t.regex(missing!.message, /db\.prepare: .* at ballot\.incarnation/);
    const badIncarnation = await t.throwsAsync(connection.request({ type: 'db.prepare', epoch: 1, ballot: { round: 1, proposer: 1, incarnation: 'one' } }, REPLY_TIMEOUT_MS));
    t.regex(badIncarnation!.message, /not an incarnation at ballot\.incarnation/);
  } finally {
    connection.close();
  }
  // A view of another epoch than the accept's is refused before the acceptor sees it.
  const view: View = { epoch: 2, members: [], replicas: [1], joining: [] };
  const error = await serverError({ id: 1, type: 'db.accept', epoch: 1, ballot: ballot(1), view });
  t.like(error, { code: 'BAD_MESSAGE' });
  t.regex(error.message, /at view\.epoch/);
});

function newService(store: MemoryStore, acceptor = Acceptor.start(initialView({ middlewares: [{ id: 1 }], databases: [{ id: 1 }] }))): DatabaseService {
  const logger = createLogger({ name: 'test', level: 'error', console: false });
  return new DatabaseService('DATABASE1', store, logger, () => ({ role: 'database', id: 1, pid: process.pid, ports: {}, uptimeMs: 0 }), acceptor);
}

test('the memory store keeps the acceptor state as LevelDB does: a service opened on it again keeps the promise', async (t) => {
  const store = new MemoryStore();
  const initial = initialView({ middlewares: [{ id: 1 }], databases: [{ id: 1 }] });
  const first = newService(store, await openAcceptor(store, initial));
  t.like(await first.handle({ id: 1, type: 'db.prepare', epoch: 1, ballot: ballot(4) }), { type: 'promise' });
  const second = newService(store, await openAcceptor(store, initial));
  t.like(await second.handle({ id: 2, type: 'db.prepare', epoch: 1, ballot: ballot(2) }), { type: 'refused', reason: 'outbid', promised: ballot(4) });
  t.deepEqual(await second.handle({ id: 3, type: 'db.chosen', view: { ...initial, epoch: 1 } }), { epoch: 1 });
  t.like(await second.handle({ id: 4, type: 'status' }), { chosenEpoch: 1, promised: null });
});

test('an accept is answered only after the APPLY admitted before it is written, and an APPLY admitted after it is written after it', async (t) => {
  const store = new GatedStore();
  const service = newService(store);
  store.hold();
  const answered: string[] = [];
  const before = service.handle({ id: 1, type: 'db.apply', from: TEST_FROM, ts: [1, 1], writes: [{ key: 'a', value: 1 }] }).then(() => answered.push('apply 1'));
  // The view keeps the APPLYs' coordinator: this test is about order, not fencing.
  const view: View = { epoch: 1, members: [TEST_FROM], replicas: [1], joining: [] };
  const accept = service.handle({ id: 2, type: 'db.accept', epoch: 1, ballot: ballot(1), view }).then((result) => {
    answered.push('accept');
    return result;
  });
  const after = service.handle({ id: 3, type: 'db.apply', from: TEST_FROM, ts: [2, 1], writes: [{ key: 'b', value: 2 }] }).then(() => answered.push('apply 2'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(answered, [], 'nothing is answered while the first group waits');
  store.release();
  await Promise.all([before, accept, after]);
  t.deepEqual(await accept, { type: 'accepted', epoch: 1, ballot: ballot(1) });
  t.deepEqual(store.log, ['group 1', 'acceptor', 'group 2'], 'the vote is its own step, between the two groups');
  t.deepEqual(answered, ['apply 1', 'accept', 'apply 2']);
  t.not(await store.readAcceptor(), null, 'the accepted view was written');
});
