// The coordinator shell only carries the core's effects out and resolves promises: a read
// resolves with the core's entries (parked reads too, once the core releases them), the
// replica is asked with the keys, at-least versions and wait the core chose, a replica error
// rejects the read, and a peer's vote resolves when the core gives it. The rules themselves
// are tested against the pure core (occ-read-path.test.ts).
import test from 'ava';
import { Coordinator } from '../middleware/coordinator.js';
import type { ReplicaSet } from '../middleware/replicas.js';
import type { Connection } from '../protocol/connection.js';
import type { Entry } from '../protocol/schemas.js';
import { createLogger } from '../runtime/log.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import type { Key, Write } from '../transaction/types.js';

interface ReplicaRead {
  keys: Key[];
  atLeast: Array<[Key, Timestamp]>;
  waitMs: number;
}

/** One replica that records its reads (answering each key at version 3.9, value 7) and holds its APPLYs until released. */
function fakeReplica(readError?: Error) {
  const held: Array<() => void> = [];
  const reads: ReplicaRead[] = [];
  const replicas = {
    ids: [1],
    read: async (keys: Key[], atLeast: Array<[Key, Timestamp]> = [], waitMs = 0): Promise<Entry[]> => {
      reads.push({ keys, atLeast, waitMs });
      if (readError) throw readError;
      return keys.map(() => ({ version: [3, 9], value: 7 }));
    },
    versions: async (keys: string[]) => keys.map((): Timestamp => [0, 0]),
    apply: (_replica: number, _ts: Timestamp, _writes: Write[]) => new Promise<void>((resolve) => held.push(resolve)),
    confirm: async () => undefined,
  } as unknown as ReplicaSet;
  return { replicas, reads, releaseApplies: () => held.splice(0).forEach((resolve) => resolve()) };
}

/** A coordinator with one peer, MIDDLEWARE2, whose votes are held until the test gives them. */
function coordinator(replicas: ReplicaSet): { node: Coordinator; voteYes: () => void } {
  const held: Array<(vote: { vote: 'yes'; clock: number }) => void> = [];
  const peer = { request: () => new Promise((resolve) => held.push(resolve)) } as unknown as Connection;
  const logger = createLogger({ name: 'MIDDLEWARE1', level: 'error', console: false });
  const node = new Coordinator({ id: 1, replicas, peerConnection: () => peer, logger, onFenced: () => undefined });
  node.install(1, [1, 2], 0, false);
  return { node, voteYes: () => held.splice(0).forEach((resolve) => resolve({ vote: 'yes', clock: 0 })) };
}

const settledWithin = async (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

test('a read resolves with the replica\'s entries; a parked read resolves once the core releases it, from memory', async (t) => {
  const { replicas, reads, releaseApplies } = fakeReplica();
  const { node, voteYes } = coordinator(replicas);
  t.deepEqual(await node.read(['y']), [{ version: [3, 9], value: 7 }]);
  t.deepEqual(reads, [{ keys: ['y'], atLeast: [], waitMs: 0 }]);

  const committed = node.commit(node.newTxid(), [], [{ key: 'x', value: 1 }]);
  const readOfXY = node.read(['x', 'y']);
  t.false(await settledWithin(readOfXY, 50), 'x is written by a transaction being validated: the core parks the read');
  voteYes();
  const entries = await readOfXY;
  t.is(entries[0]!.value, 1, 'x from the decided write, its APPLY still held');
  t.deepEqual(entries[1], { version: [3, 9], value: 7 }, 'y from the replica');
  t.deepEqual(reads[1]!.keys, ['y']);
  releaseApplies();
  t.is((await committed).outcome, 'committed');
});

test('a replica error rejects the read with that error, and the core forgets the read', async (t) => {
  const { replicas } = fakeReplica(new Error('DATABASE1 is down'));
  const { node } = coordinator(replicas);
  await t.throwsAsync(node.read(['x']), { message: 'DATABASE1 is down' });
  t.deepEqual(node.node.readsPending, { parked: 0, atReplica: 0 });
});

test('a peer\'s vote resolves with the core\'s answer, and a later read asks the replica for that writer\'s version', async (t) => {
  const { replicas, reads } = fakeReplica();
  const { node } = coordinator(replicas);
  const vote = await node.vote({ from: 2, epoch: 1, txid: '2.a.1', ts: [50, 2], readSet: [['x', [0, 0]]], writeKeys: ['x'] });
  t.is(vote.vote, 'yes');
  await node.read(['x', 'y']);
  t.deepEqual(reads, [{ keys: ['x', 'y'], atLeast: [['x', [50, 2]]], waitMs: 5 }]);
});
