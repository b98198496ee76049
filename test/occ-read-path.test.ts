// The read path of the optimistic core (occ/read-path.ts), one rule a test, against the pure
// OccNode: events in, effects out, time given on the events. Which keys come from memory and
// which from a replica, at least at which versions; which reads wait for an own writer; what
// is remembered of other middlewares' writers; and the clock after a read.
import test from 'ava';
import { OccNode, type OccEffect, type OccNodeOptions } from '../occ/node.js';
import type { ReadEntry } from '../occ/read-path.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import type { Key } from '../transaction/types.js';

function only<T extends OccEffect['type']>(effects: OccEffect[], type: T): Extract<OccEffect, { type: T }> {
  const found = effects.filter((effect) => effect.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} effect, got ${JSON.stringify(effects)}`);
  return found[0] as Extract<OccEffect, { type: T }>;
}

/** MIDDLEWARE1 with one peer, MIDDLEWARE2, whose vote keeps MIDDLEWARE1's own transactions undecided until the test gives it. */
function middleware(options: Partial<OccNodeOptions> = {}): OccNode {
  return new OccNode({ joined: true, id: 1, replicas: [1], members: [2], ...options });
}

let readIds = 0;
function read(node: OccNode, keys: Key[], nowMs = 0): { readId: number; effects: OccEffect[] } {
  const readId = ++readIds;
  return { readId, effects: node.handle({ type: 'read-requested', readId, keys, nowMs }) };
}

/** Starts an own transaction writing `writes`; it stays undecided (MIDDLEWARE2 has not voted). Returns its timestamp. */
function startWriter(node: OccNode, txid: string, writes: Array<[Key, number]>): Timestamp {
  return only(node.handle({ type: 'commit-requested', txid, readSet: [], writes: writes.map(([key, value]) => ({ key, value })) }), 'send-validate').ts;
}

/** MIDDLEWARE2 asks MIDDLEWARE1's vote on its transaction stamped `ts` writing `writeKeys`; the vote, if one is given now. */
function remoteWriter(node: OccNode, txid: string, ts: Timestamp, writeKeys: Key[], nowMs = 0, readSet: ReadonlyArray<readonly [Key, Timestamp]> = []): OccEffect[] {
  return node.handle({ type: 'vote-requested', epoch: 0, from: 2, txid, ts, readSet, writeKeys, nowMs });
}

const entry = (version: Timestamp, value: number): ReadEntry => ({ version, value });

test('a read of keys nobody is writing asks one replica for all of them, awaiting nothing, and answers what the replica gave', (t) => {
  const node = middleware();
  const { readId, effects } = read(node, ['a', 'b']);
  t.deepEqual(effects, [{ type: 'read-replica', readId, keys: ['a', 'b'], atLeast: [], waitMs: 0 }]);
  const answered = [entry([3, 2], 30), { version: [0, 0] as Timestamp }];
  t.deepEqual(node.handle({ type: 'read-answered', readId, entries: answered }), [{ type: 'read-done', readId, entries: answered }]);
  t.deepEqual(node.readsPending, { parked: 0, atReplica: 0 });
});

test('a read of a key an own transaction being validated writes is parked, and released when that writer is decided committed: from memory', (t) => {
  const node = middleware();
  const w = startWriter(node, 'W', [['x', 1]]);
  const { readId, effects } = read(node, ['x']);
  t.deepEqual(effects, [], 'read now, x would give the version W may be about to replace');
  t.deepEqual(node.readsPending, { parked: 1, atReplica: 0 });
  const decided = node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' });
  only(decided, 'apply');
  t.deepEqual(only(decided, 'read-done'), { type: 'read-done', readId, entries: [entry(w, 1)] }, 'released at the decision, its APPLY not yet acknowledged');
  t.deepEqual(node.readsPending, { parked: 0, atReplica: 0 });
});

test('a parked read released by its writer\'s decision merges memory and replica entries in the requested order', (t) => {
  const node = middleware();
  const w = startWriter(node, 'W', [['x', 1]]);
  const { readId } = read(node, ['y', 'x', 'z']);
  const replica = only(node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' }), 'read-replica');
  t.deepEqual(replica.keys, ['y', 'z']);
  const done = only(node.handle({ type: 'read-answered', readId, entries: [entry([1, 2], 10), entry([2, 2], 20)] }), 'read-done');
  t.deepEqual(done.entries, [entry([1, 2], 10), entry(w, 1), entry([2, 2], 20)]);
});

test('a parked read is released when its writer aborts, and then asks the replica', (t) => {
  const node = middleware();
  startWriter(node, 'W', [['x', 1]]);
  const { readId } = read(node, ['x']);
  const effects = node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'no' });
  only(effects, 'aborted');
  t.deepEqual(only(effects, 'read-replica'), { type: 'read-replica', readId, keys: ['x'], atLeast: [], waitMs: 0 }, 'nothing of an aborted writer is read');
});

test('a parked read waits for every own undecided writer of its keys, not only the first to be decided', (t) => {
  const node = middleware();
  const w1 = startWriter(node, 'W1', [['x', 1]]);
  const w2 = startWriter(node, 'W2', [['y', 2]]);
  const { readId } = read(node, ['x', 'y']);
  const first = node.handle({ type: 'vote-received', txid: 'W1', voter: 2, vote: 'yes' });
  t.deepEqual(first.map((effect) => effect.type), ['apply'], 'parked again, behind W2');
  const second = node.handle({ type: 'vote-received', txid: 'W2', voter: 2, vote: 'yes' });
  t.deepEqual(only(second, 'read-done'), { type: 'read-done', readId, entries: [entry(w1, 1), entry(w2, 2)] });
});

test('a decided write still being applied is served from memory; once applied everywhere, the replica serves it', (t) => {
  const node = middleware();
  const w = startWriter(node, 'W', [['x', 1]]);
  only(node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' }), 'apply');
  const fromMemory = read(node, ['x']);
  t.deepEqual(fromMemory.effects, [{ type: 'read-done', readId: fromMemory.readId, entries: [entry(w, 1)] }]);
  t.is(node.readsFromMemory, 1);
  only(node.handle({ type: 'replica-acked', txid: 'W', replica: 1 }), 'committed');
  only(read(node, ['x']).effects, 'read-replica');
});

test('of two decided writes of a key still being applied, memory serves the newer', (t) => {
  const node = middleware({ members: [] });
  node.handle({ type: 'commit-requested', txid: 'W1', readSet: [], writes: [{ key: 'x', value: 1 }] });
  const w2 = only(node.handle({ type: 'commit-requested', txid: 'W2', readSet: [], writes: [{ key: 'x', value: 2 }] }), 'apply').ts;
  t.deepEqual(only(read(node, ['x']).effects, 'read-done').entries, [entry(w2, 2)]);
});

test('a deleted key served from memory has a version and no value', (t) => {
  const node = middleware({ members: [] });
  const w = only(node.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x' }] }), 'apply').ts;
  t.deepEqual(only(read(node, ['x']).effects, 'read-done').entries, [{ version: w }]);
});

test('a newer writer of another middleware, voted for, is awaited at the replica instead of the memory entry; an older one is not', (t) => {
  const node = middleware();
  const w = startWriter(node, 'W', [['x', 1], ['y', 1]]);
  node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' });
  only(remoteWriter(node, 'R-new', [w[0] + 5, 2], ['x']), 'vote');
  only(remoteWriter(node, 'R-old', [w[0] - 1, 2], ['y']), 'vote');
  const { readId, effects } = read(node, ['x', 'y']);
  t.deepEqual(effects, [{ type: 'read-replica', readId, keys: ['x'], atLeast: [['x', [w[0] + 5, 2]]], waitMs: 5 }], 'y from memory: W is newer than its remote writer');
  const done = only(node.handle({ type: 'read-answered', readId, entries: [entry([w[0] + 5, 2], 50)] }), 'read-done');
  t.deepEqual(done.entries, [entry([w[0] + 5, 2], 50), entry(w, 1)]);
});

test('a key another middleware\'s transaction writes is awaited at its version once this middleware voted YES or CHECK for it, and not after NO', (t) => {
  const yes = middleware();
  only(remoteWriter(yes, 'R', [50, 2], ['x']), 'vote');
  t.deepEqual(only(read(yes, ['x', 'y']).effects, 'read-replica').atLeast, [['x', [50, 2]]]);

  // A first view installed at clock 10: versions at or below it are not vouched for.
  const check = middleware({ joined: false });
  check.handle({ type: 'view-install', epoch: 0, members: [1, 2], clock: 10, replaced: false });
  t.is(only(remoteWriter(check, 'R', [50, 2], ['x'], 0, [['q', [1, 1]]]), 'vote').vote, 'check');
  t.deepEqual(only(read(check, ['x']).effects, 'read-replica').atLeast, [['x', [50, 2]]], 'CHECK may still commit');

  const no = middleware({ members: [], deferVotes: false });
  only(no.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'z', value: 1 }] }), 'apply');
  t.is(only(remoteWriter(no, 'R', [90, 2], ['x'], 0, [['z', [0, 0]]]), 'vote').vote, 'no');
  t.deepEqual(only(read(no, ['x']).effects, 'read-replica').atLeast, [], 'a transaction voted NO will not commit: nothing to wait for');
});

test('a deferred vote records its remote writer when it is given, if not NO, aged from the time of its request', (t) => {
  const node = middleware({ remoteWriterTtlMs: 100 });
  const w = startWriter(node, 'W', [['q', 1]]);
  const r: Timestamp = [w[0] + 5, 2];
  t.deepEqual(remoteWriter(node, 'R', r, ['x'], 1_000, [['q', [0, 0]]]), [], 'R read q before W: its vote waits for W');
  t.deepEqual(only(read(node, ['x'], 1_050).effects, 'read-replica').atLeast, [], 'nothing is recorded while the vote waits');
  const effects = node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'no' });
  t.like(only(effects, 'vote'), { txid: 'R', vote: 'yes' }, 'W aborted: R gets YES');
  t.deepEqual(only(read(node, ['x'], 1_100).effects, 'read-replica').atLeast, [['x', r]], 'recorded at the deferred YES');
  t.deepEqual(only(read(node, ['x'], 1_101).effects, 'read-replica').atLeast, [], 'its age counts from the request (1,000), not from the vote');

  const committing = middleware();
  const w2 = startWriter(committing, 'W', [['q', 1]]);
  t.deepEqual(remoteWriter(committing, 'R', [w2[0] + 5, 2], ['x'], 0, [['q', [0, 0]]]), []);
  t.like(only(committing.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' }), 'vote'), { txid: 'R', vote: 'no' });
  t.deepEqual(only(read(committing, ['x']).effects, 'read-replica').atLeast, [], 'the deferred vote turned NO: nothing recorded');
});

test('a remote writer is forgotten after its time to live: a read then awaits nothing', (t) => {
  const node = middleware({ remoteWriterTtlMs: 100 });
  only(remoteWriter(node, 'R', [50, 2], ['x'], 10), 'vote');
  t.deepEqual(only(read(node, ['x'], 110).effects, 'read-replica').atLeast, [['x', [50, 2]]]);
  t.deepEqual(only(read(node, ['x'], 111).effects, 'read-replica').atLeast, []);
});

test('a read that awaited a remote writer settles it when the replica answers, whatever version came; a newer writer seen meanwhile stays awaited', (t) => {
  const node = middleware();
  only(remoteWriter(node, 'R1', [50, 2], ['x', 'y']), 'vote');
  const { readId } = read(node, ['x', 'y']);
  only(remoteWriter(node, 'R2', [60, 2], ['y']), 'vote');
  node.handle({ type: 'read-answered', readId, entries: [entry([3, 3], 1), entry([50, 2], 2)] });
  t.deepEqual(only(read(node, ['x', 'y']).effects, 'read-replica').atLeast, [['y', [60, 2]]], 'x: the wait ran out (R1 most likely aborted), not waited for again');
});

test('the clock moves past every version read, so whatever this middleware stamps next is ordered after it', (t) => {
  const node = middleware();
  const { readId } = read(node, ['a', 'b']);
  node.handle({ type: 'read-answered', readId, entries: [entry([90, 3], 1), entry([40, 2], 2)] });
  t.true(node.clock.value >= 90);
  t.true(startWriter(node, 'T', [['a', 2]])[0] > 90);
});

test('a failed replica read leaves nothing behind in the core, and an answer to it is a shell bug', (t) => {
  const node = middleware();
  const { readId } = read(node, ['a']);
  t.deepEqual(node.readsPending, { parked: 0, atReplica: 1 });
  t.deepEqual(node.handle({ type: 'read-failed', readId }), []);
  t.deepEqual(node.readsPending, { parked: 0, atReplica: 0 });
  t.throws(() => node.handle({ type: 'read-answered', readId, entries: [entry([1, 1], 1)] }), { message: /no replica was asked/ });
});

test('a read id is free again once its read is done or failed, and not while a replica still reads for it', (t) => {
  const node = middleware();
  const first = node.handle({ type: 'read-requested', readId: 0, keys: ['a'], nowMs: 0 });
  only(first, 'read-replica');
  t.throws(() => node.handle({ type: 'read-requested', readId: 0, keys: ['b'], nowMs: 0 }), { message: /still reads/ });
  only(node.handle({ type: 'read-answered', readId: 0, entries: [entry([1, 1], 1)] }), 'read-done');
  only(node.handle({ type: 'read-requested', readId: 0, keys: ['b'], nowMs: 0 }), 'read-replica');
  node.handle({ type: 'read-failed', readId: 0 });
  t.deepEqual(only(node.handle({ type: 'read-requested', readId: 0, keys: ['c'], nowMs: 0 }), 'read-replica').keys, ['c']);
});

test('the replica\'s wait for awaited versions is an option of the core', (t) => {
  const node = middleware({ readWaitMs: 12 });
  only(remoteWriter(node, 'R', [50, 2], ['x']), 'vote');
  t.is(only(read(node, ['x']).effects, 'read-replica').waitMs, 12);
});

test('without parking, a read of a key an own undecided writer writes goes to the replica at once (and is likely doomed)', (t) => {
  const node = middleware({ parkReads: false });
  startWriter(node, 'W', [['x', 1]]);
  t.deepEqual(only(read(node, ['x']).effects, 'read-replica').keys, ['x']);
});

test('fault readUndecidedWrites: a read is not parked and takes a write that may still abort', (t) => {
  const node = middleware({ faults: { readUndecidedWrites: true } });
  const w = startWriter(node, 'W', [['x', 1]]);
  t.deepEqual(only(read(node, ['x']).effects, 'read-done').entries, [entry(w, 1)]);
});

test('fault trustAwaitedVersions: an entry older than the version awaited claims the awaited version', (t) => {
  const node = middleware({ faults: { trustAwaitedVersions: true } });
  only(remoteWriter(node, 'R', [50, 2], ['x']), 'vote');
  const { readId } = read(node, ['x', 'y']);
  const done = only(node.handle({ type: 'read-answered', readId, entries: [entry([3, 3], 1), entry([4, 3], 2)] }), 'read-done');
  t.deepEqual(done.entries, [entry([50, 2], 1), entry([4, 3], 2)], 'x\'s value is 3.3\'s, its version R\'s');
});
