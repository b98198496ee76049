// The coordinator shell: a read of a key that one of this middleware's own transactions
// being validated writes waits until that transaction is decided, instead of reading the
// version the writer may be about to replace (which would doom the reader to a restart); a
// decided write still being applied is read from memory; a key another middleware's
// transaction writes, once voted for, is read at least at that writer's version.
import test from 'ava';
import { Coordinator } from '../middleware/coordinator.js';
import type { ReplicaSet } from '../middleware/replicas.js';
import type { Connection } from '../protocol/connection.js';
import { createLogger } from '../runtime/log.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import type { Write } from '../transaction/types.js';

/** One replica whose APPLYs are held until the test lets them through. */
function heldReplica() {
  const held: Array<() => void> = [];
  const replicas = {
    ids: [1],
    versions: async (keys: string[]) => keys.map((): Timestamp => [0, 0]),
    apply: (_replica: number, _ts: Timestamp, _writes: Write[]) => new Promise<void>((resolve) => held.push(resolve)),
  } as unknown as ReplicaSet;
  return { replicas, releaseAll: () => held.splice(0).forEach((resolve) => resolve()) };
}

function coordinator(replicas: ReplicaSet, peerConnection: (member: number) => Connection = () => { throw new Error('no peers in this test'); }): Coordinator {
  const logger = createLogger({ name: 'MIDDLEWARE1', level: 'error', console: false });
  const result = new Coordinator({ id: 1, replicas, peerConnection, logger });
  result.joined();
  return result;
}

/** A coordinator with one peer, MIDDLEWARE2, whose votes are held until the test gives them. */
function withHeldPeer(replicas: ReplicaSet): { node: Coordinator; voteYes: () => void } {
  const held: Array<(vote: { vote: 'yes'; clock: number }) => void> = [];
  const peer = { request: () => new Promise((resolve) => held.push(resolve)) } as unknown as Connection;
  const node = coordinator(replicas, () => peer);
  node.memberJoined(2, 0);
  return { node, voteYes: () => held.splice(0).forEach((resolve) => resolve({ vote: 'yes', clock: 0 })) };
}

const settledWithin = async (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

test('a read of a key an own transaction being validated writes waits until it is decided, then takes the decided write from memory', async (t) => {
  const { replicas, releaseAll } = heldReplica();
  const { node, voteYes } = withHeldPeer(replicas);
  const committed = node.commit(node.newTxid(), [], [{ key: 'x', value: 1 }]);

  t.true(await settledWithin(node.whenUnwritten(['y']), 1_000), 'a key nobody writes is read at once');
  const readOfX = node.whenUnwritten(['y', 'x']);
  t.false(await settledWithin(readOfX, 100), 'x is written by a transaction being validated: the read waits');
  t.is(node.decidedWrite('x'), undefined, 'nothing is read from a transaction that may still abort');

  voteYes();
  t.true(await settledWithin(readOfX, 1_000), 'once the writer is decided the read goes ahead, its APPLY still held');
  t.like(node.decidedWrite('x'), { write: { key: 'x', value: 1 } });
  t.is(node.decidedWrite('y'), undefined);

  releaseAll();
  t.is((await committed).outcome, 'committed');
  t.is(node.decidedWrite('x'), undefined, 'applied everywhere: the replicas have it');
});

test('a read waits for every own writer of its keys, not only the first to be decided', async (t) => {
  const { replicas, releaseAll } = heldReplica();
  const { node, voteYes } = withHeldPeer(replicas);
  const first = node.commit(node.newTxid(), [], [{ key: 'x', value: 1 }]);
  const readOfXY = node.whenUnwritten(['x', 'y']);
  voteYes();
  const second = node.commit(node.newTxid(), [], [{ key: 'y', value: 2 }]);
  t.false(await settledWithin(readOfXY, 100));
  voteYes();
  t.true(await settledWithin(readOfXY, 1_000));
  releaseAll();
  await Promise.all([first, second]);
});

test('a key another middleware\'s transaction writes is awaited at its version once this middleware voted for it, and not when it voted no', async (t) => {
  const { replicas } = heldReplica();
  const node = coordinator(replicas);
  node.memberJoined(2, 0);
  const yes = await node.vote({ from: 2, txid: '2.a.1', ts: [50, 2], readSet: [['x', [0, 0]]], writeKeys: ['x'] });
  t.is(yes.vote, 'yes');
  t.deepEqual(node.writesAwaited(['x', 'y']), [['x', [50, 2]]]);
  node.writesSettled([['x', [50, 2]]]);
  t.deepEqual(node.writesAwaited(['x']), [], 'a read that waited forgets the writer');

  // This middleware has finished a write of z at a larger version than the request read: NO.
  const { replicas: applied } = { replicas: { ids: [1], versions: async () => [], apply: async () => {} } as unknown as ReplicaSet };
  const other = coordinator(applied);
  t.is((await other.commit(other.newTxid(), [], [{ key: 'z', value: 1 }])).outcome, 'committed');
  other.memberJoined(2, 0);
  const no = await other.vote({ from: 2, txid: '2.a.2', ts: [90, 2], readSet: [['z', [0, 0]]], writeKeys: ['z'] });
  t.is(no.vote, 'no');
  t.deepEqual(other.writesAwaited(['z']), [], 'a transaction voted NO will not commit: nothing to wait for');
});
