// The optimistic core under views (occ/node.ts; docs/design.md, "Failures"), one test per rule:
// a node validates only in an installed view and only with voters of the same epoch; a stop
// aborts what is undecided and lets what is decided finish; an INSTALL moves the clock and
// says which reads the node can no longer vouch for; removal drops everything; a read-only
// commit is confirmed by the databases; a vote on a read of this node's decided-but-unfinished
// write waits until that write is finished.
import test from 'ava';
import { DEFERRED_VOTES_MAX, OccNode, type OccEffect, type OccNodeOptions } from '../occ/node.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import type { Key } from '../transaction/types.js';

function only<T extends OccEffect['type']>(effects: OccEffect[], type: T): Extract<OccEffect, { type: T }> {
  const found = effects.filter((effect) => effect.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} effect, got ${JSON.stringify(effects)}`);
  return found[0] as Extract<OccEffect, { type: T }>;
}

function ofType<T extends OccEffect['type']>(effects: OccEffect[], type: T): Array<Extract<OccEffect, { type: T }>> {
  return effects.filter((effect) => effect.type === type) as Array<Extract<OccEffect, { type: T }>>;
}

/** MIDDLEWARE1, validating in epoch 0 with one peer, MIDDLEWARE2, and one replica. */
function member(options: Partial<OccNodeOptions> = {}): OccNode {
  return new OccNode({ joined: true, id: 1, replicas: [1], members: [2], ...options });
}

let asked = 0;
/** MIDDLEWARE2 asks for a vote on its transaction, which read `readSet` (stamped 2.2 unless told: it leaves the clock alone); the effects. */
function askVote(node: OccNode, readSet: Array<[Key, Timestamp]>, options: { epoch?: number; ts?: Timestamp; txid?: string } = {}): OccEffect[] {
  const txid = options.txid ?? `R${++asked}`;
  return node.handle({ type: 'vote-requested', epoch: options.epoch ?? node.epoch, from: 2, txid, ts: options.ts ?? [2, 2], readSet, writeKeys: [], nowMs: 0 });
}

function voteOf(node: OccNode, readSet: Array<[Key, Timestamp]>, options: { epoch?: number; ts?: Timestamp } = {}): string {
  return only(askVote(node, readSet, options), 'vote').vote;
}

/** Starts `txid` writing `key`; it stays undecided until MIDDLEWARE2 votes. Its timestamp. */
function startWriter(node: OccNode, txid: string, key: Key): Timestamp {
  return only(node.handle({ type: 'commit-requested', txid, readSet: [], writes: [{ key, value: txid }] }), 'send-validate').ts;
}

/** Starts `txid` writing `key` and has MIDDLEWARE2 vote YES: decided, its APPLY not acknowledged. Its timestamp. */
function decideWriter(node: OccNode, txid: string, key: Key): Timestamp {
  const ts = startWriter(node, txid, key);
  only(node.handle({ type: 'vote-received', txid, voter: 2, vote: 'yes' }), 'apply');
  return ts;
}

/** Stops the node and installs `epoch` with `members` at `clock`. */
function reinstall(node: OccNode, epoch: number, clock: number, replaced: boolean, members: number[] = [1, 2]): void {
  node.handle({ type: 'view-stop' });
  node.handle({ type: 'view-install', epoch, members, clock, replaced });
}

// ---- validating only in an installed view ----

test('views: a node is stopped until its first view is installed: a commit aborts with view-change and nothing is sent', (t) => {
  const node = new OccNode({ id: 1, replicas: [1], members: [2] });
  t.true(node.stopped);
  const effects = node.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] });
  t.deepEqual(effects.map((effect) => effect.type), ['aborted']);
  t.is(only(effects, 'aborted').reason, 'view-change');
  t.is(node.coordinatingCount, 0);
  t.is(node.inFlight.size, 0);
});

test('views: a node stopped before its first view votes NO, and still moves its clock past the request', (t) => {
  const node = new OccNode({ id: 1, replicas: [1], members: [2] });
  const vote = only(askVote(node, [], { epoch: 0, ts: [70, 2] }), 'vote');
  t.is(vote.vote, 'no');
  t.true(node.clock.value >= 70);
});

test('views: constructed as joined, a node validates in the epoch it is given (default 0)', (t) => {
  t.false(member().stopped);
  t.is(member().epoch, 0);
  const node = member({ epoch: 3 });
  t.is(node.epoch, 3);
  t.is(only(node.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').epoch, 3);
});

test('views: a vote asked in another epoch, older or newer, is NO; the clock still moves past the request', (t) => {
  const node = member({ epoch: 3 });
  t.is(voteOf(node, [['x', [1, 1]]], { epoch: 2 }), 'no');
  t.is(voteOf(node, [['x', [1, 1]]], { epoch: 4, ts: [90, 2] }), 'no');
  t.true(node.clock.value >= 90);
  t.is(voteOf(node, [['x', [1, 1]]], { epoch: 3 }), 'yes', 'the same request in this epoch');
});

test('views: validation requests carry the epoch of the view installed last', (t) => {
  const node = member();
  reinstall(node, 1, 10, false);
  t.is(only(node.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').epoch, 1);
  t.is(node.epoch, 1);
});

// ---- view-stop ----

test('views: view-stop aborts every undecided transaction with view-change (voting, re-reading versions, confirming)', (t) => {
  const node = member();
  startWriter(node, 'A', 'a');
  node.handle({ type: 'commit-requested', txid: 'B', readSet: [['b', [1, 1]]], writes: [{ key: 'b', value: 1 }] });
  only(node.handle({ type: 'vote-received', txid: 'B', voter: 2, vote: 'check' }), 'read-versions');
  node.handle({ type: 'commit-requested', txid: 'C', readSet: [['c', [1, 1]]], writes: [] });
  only(node.handle({ type: 'vote-received', txid: 'C', voter: 2, vote: 'yes' }), 'confirm');
  const effects = node.handle({ type: 'view-stop' });
  t.deepEqual(ofType(effects, 'aborted').map((aborted) => [aborted.txid, aborted.reason]), [['A', 'view-change'], ['B', 'view-change'], ['C', 'view-change']]);
  t.true(node.stopped);
  t.is(node.inFlight.size, 0);
  t.deepEqual(node.handle({ type: 'versions-read', txid: 'B', versions: [[1, 1]] }), [], 'a late answer commits nothing');
  t.deepEqual(node.handle({ type: 'confirmed', txid: 'C' }), []);
});

test('views: view-stop keeps a decided transaction, which finishes and commits while stopped', (t) => {
  const node = member();
  const d = decideWriter(node, 'D', 'd');
  t.deepEqual(node.handle({ type: 'view-stop' }), []);
  t.is(node.inFlight.size, 1, 'still in flight: its writes are not on every database yet');
  t.deepEqual(only(node.handle({ type: 'replica-acked', txid: 'D', replica: 1 }), 'committed'), { type: 'committed', txid: 'D', ts: d });
  t.is(node.coordinatingCount, 0);
});

test('views: a view-stop naming the new view\'s databases stops awaiting an acknowledgement from one it leaves out: a write acked by the others finishes', (t) => {
  const node = member({ replicas: [1, 2, 3] });
  decideWriter(node, 'W', 'x');
  node.handle({ type: 'replica-acked', txid: 'W', replica: 1 });
  node.handle({ type: 'replica-acked', txid: 'W', replica: 2 });
  t.is(node.coordinatingCount, 1, 'DATABASE3 has not acknowledged');
  const effects = node.handle({ type: 'view-stop', databases: [1, 2] });
  t.like(only(effects, 'committed'), { txid: 'W' });
  t.is(node.coordinatingCount, 0);
});

test('views: a view-stop naming a database the old view lacked (joining) sends it the decided writes, and awaits its acknowledgement too', (t) => {
  const node = member({ replicas: [1, 2] });
  decideWriter(node, 'W', 'x');
  node.handle({ type: 'replica-acked', txid: 'W', replica: 1 });
  const apply = only(node.handle({ type: 'view-stop', databases: [1, 2, 3] }), 'apply');
  t.deepEqual(apply.replicas, [3]);
  t.deepEqual(node.handle({ type: 'replica-acked', txid: 'W', replica: 2 }), []);
  t.like(only(node.handle({ type: 'replica-acked', txid: 'W', replica: 3 }), 'committed'), { txid: 'W' });
});

test('views: after a view-install naming its databases, a commit applies to those databases only', (t) => {
  const node = member({ replicas: [1, 2, 3] });
  node.handle({ type: 'view-stop', databases: [1, 3] });
  node.handle({ type: 'view-install', epoch: 1, members: [1, 2], clock: 5, replaced: false, databases: [1, 3] });
  const ts = startWriter(node, 'W', 'x');
  t.true(ts[0] > 5);
  t.deepEqual(only(node.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' }), 'apply').replicas, [1, 3]);
});

test('views: view-stop aborts each undecided transaction once and for view-change, even when one\'s own vote waited for another', (t) => {
  const node = member();
  startWriter(node, 'W', 'x');
  const asked = node.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [0, 0]]], writes: [{ key: 'y', value: 1 }] });
  t.deepEqual(asked.map((effect) => effect.type), ['send-validate'], 'T\'s own vote waits for W');
  const aborted = ofType(node.handle({ type: 'view-stop' }), 'aborted');
  t.deepEqual(aborted.map((effect) => [effect.txid, effect.reason]), [['W', 'view-change'], ['T', 'view-change']]);
  t.is(node.aborts, 2);
});

test('views: view-stop answers NO to the votes that were waiting, whether for an undecided or a decided-but-unfinished writer', (t) => {
  const node = member();
  const w = startWriter(node, 'W', 'x');
  const d = decideWriter(node, 'D', 'd');
  t.deepEqual(askVote(node, [['x', [0, 0]]], { txid: 'behind-W', ts: [w[0] + 10, 2] }), [], 'waits for W to be decided');
  t.deepEqual(askVote(node, [['d', d]], { txid: 'behind-D' }), [], 'read D\'s write: waits for D to finish');
  const votes = ofType(node.handle({ type: 'view-stop' }), 'vote');
  t.deepEqual(votes.map((vote) => [vote.txid, vote.vote]).sort(), [['behind-D', 'no'], ['behind-W', 'no']], 'W aborted, yet no YES: nothing validates across the stop');
  t.deepEqual(ofType(node.handle({ type: 'replica-acked', txid: 'D', replica: 1 }), 'vote'), [], 'answered once');
});

test('views: while stopped, a commit aborts with view-change and a vote is NO', (t) => {
  const node = member();
  node.handle({ type: 'view-stop' });
  t.is(only(node.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'aborted').reason, 'view-change');
  t.is(voteOf(node, [['x', [1, 1]]]), 'no');
});

// ---- view-install ----

test('views: view-install moves the clock to the install clock, so every later timestamp is above it', (t) => {
  const node = member();
  reinstall(node, 1, 500, false);
  t.true(node.clock.value >= 500);
  t.true(startWriter(node, 'T', 'x')[0] > 500);
  t.false(node.stopped);
});

test('views: view-install makes the view\'s members, this node apart, the voters', (t) => {
  const node = member();
  reinstall(node, 1, 10, false, [1, 3, 4]);
  t.deepEqual(node.memberIds, [3, 4]);
  t.deepEqual(only(node.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').to, [3, 4]);
});

test('views: the first install after a start is the join: reads at or below its clock get CHECK, above it YES', (t) => {
  const node = new OccNode({ id: 1, replicas: [1], members: [] });
  node.handle({ type: 'view-install', epoch: 4, members: [1, 2], clock: 50, replaced: false });
  t.false(node.stopped);
  t.is(voteOf(node, [['x', [49, 2]]]), 'check');
  t.is(voteOf(node, [['x', [50, 2]]]), 'check', 'a write of an earlier life may be at the clock itself');
  t.is(voteOf(node, [['x', [51, 2]]]), 'yes');
});

test('views: an install that replaced a member makes reads at or below its clock CHECK (the member took its memory along)', (t) => {
  const node = member();
  t.is(voteOf(node, [['x', [30, 2]]]), 'yes', 'vouched for before');
  reinstall(node, 1, 40, true);
  t.is(voteOf(node, [['x', [30, 2]]]), 'check');
  t.is(voteOf(node, [['x', [40, 2]]]), 'check');
  t.is(voteOf(node, [['x', [41, 2]]]), 'yes');
});

test('views: an install that replaced nobody keeps vouching for what the node vouched for', (t) => {
  const node = member();
  reinstall(node, 1, 40, false, [1, 2, 3]);
  t.is(voteOf(node, [['x', [30, 2]]]), 'yes');
});

test('views: an INSTALL of an older epoch, or of this epoch once validating again, changes nothing', (t) => {
  const node = member({ epoch: 3 });
  startWriter(node, 'T', 'x');
  t.deepEqual(node.handle({ type: 'view-install', epoch: 2, members: [1], clock: 900, replaced: true }), []);
  t.deepEqual(node.handle({ type: 'view-install', epoch: 3, members: [1], clock: 900, replaced: true }), [], 'a resent INSTALL');
  t.is(node.epoch, 3);
  t.deepEqual(node.memberIds, [2]);
  t.true(node.clock.value < 900);
  t.is(voteOf(node, [['y', [5, 2]]]), 'yes', 'not replaced either');
});

test('views: an INSTALL while a transaction of this node is unfinished is a shell bug', (t) => {
  const node = member();
  decideWriter(node, 'D', 'd');
  node.handle({ type: 'view-stop' });
  t.throws(() => node.handle({ type: 'view-install', epoch: 1, members: [1, 2], clock: 10, replaced: false }), { message: /not finished/ });
});

// ---- removed ----

test('views: removed aborts undecided transactions with removed, reports decided ones outcome-unknown, and leaves nothing in flight', (t) => {
  const node = member();
  startWriter(node, 'A', 'a');
  const d = decideWriter(node, 'D', 'd');
  node.handle({ type: 'commit-requested', txid: 'T', readSet: [['a', [0, 0]]], writes: [{ key: 't', value: 1 }] }); // its own vote waits for A
  const effects = node.handle({ type: 'removed' });
  t.deepEqual(ofType(effects, 'aborted').map((aborted) => [aborted.txid, aborted.reason]), [['A', 'removed'], ['T', 'removed']]);
  t.deepEqual(ofType(effects, 'outcome-unknown'), [{ type: 'outcome-unknown', txid: 'D', ts: d }]);
  t.is(ofType(effects, 'committed').length, 0);
  t.is(node.coordinatingCount, 0);
  t.is(node.inFlight.size, 0);
  t.true(node.stopped);
  t.deepEqual(node.memberIds, []);
  t.deepEqual(node.handle({ type: 'replica-acked', txid: 'D', replica: 1 }), [], 'a late acknowledgement reports nothing');
});

test('views: removed answers NO to every vote that was waiting', (t) => {
  const node = member();
  const d = decideWriter(node, 'D', 'd');
  t.deepEqual(askVote(node, [['d', d]], { txid: 'behind-D' }), []);
  t.like(only(node.handle({ type: 'removed' }), 'vote'), { txid: 'behind-D', to: 2, vote: 'no' });
});

// ---- read-only commits are confirmed ----

test('views: a read-only commit asks for a confirmation after its last vote, with its timestamp (the databases count it in their largest version), and commits only once confirmed', (t) => {
  const node = member();
  const validate = only(node.handle({ type: 'commit-requested', txid: 'R', readSet: [['x', [1, 1]]], writes: [] }), 'send-validate');
  t.deepEqual(node.handle({ type: 'vote-received', txid: 'R', voter: 2, vote: 'yes' }), [{ type: 'confirm', txid: 'R', ts: validate.ts }]);
  t.is(node.commits, 0);
  const r = only(node.handle({ type: 'confirmed', txid: 'R' }), 'committed');
  t.is(r.txid, 'R');
  t.deepEqual(r.ts, validate.ts);
  t.is(node.commits, 1);
  t.deepEqual(node.handle({ type: 'confirmed', txid: 'R' }), [], 'confirmed twice: committed once');
});

test('views: a read-only commit whose confirmation fails aborts', (t) => {
  const node = member({ members: [] });
  t.like(only(node.handle({ type: 'commit-requested', txid: 'R', readSet: [['x', [1, 1]]], writes: [] }), 'confirm'), { txid: 'R' }, 'its own vote was the last');
  t.like(only(node.handle({ type: 'confirm-failed', txid: 'R' }), 'aborted'), { txid: 'R', reason: 'replica-unavailable' });
  t.is(node.coordinatingCount, 0);
});

test('views: a confirmation answer for a transaction not waiting for one does nothing', (t) => {
  const node = member();
  startWriter(node, 'W', 'x');
  t.deepEqual(node.handle({ type: 'confirmed', txid: 'W' }), []);
  t.deepEqual(node.handle({ type: 'confirm-failed', txid: 'W' }), []);
  t.deepEqual(node.handle({ type: 'confirmed', txid: 'nobody' }), []);
  t.is(node.coordinatingCount, 1);
});

test('views: fault skipReadConfirmation commits a read-only transaction at its last vote, unconfirmed', (t) => {
  const node = member({ faults: { skipReadConfirmation: true } });
  node.handle({ type: 'commit-requested', txid: 'R', readSet: [['x', [1, 1]]], writes: [] });
  const effects = node.handle({ type: 'vote-received', txid: 'R', voter: 2, vote: 'yes' });
  t.deepEqual(effects.map((effect) => effect.type), ['committed']);
});

// ---- the vote on a read of an own decided-but-unfinished write waits ----

test('views: a peer\'s vote that read this node\'s decided-but-unfinished write waits until that write is finished, then is given', (t) => {
  const node = member();
  const w = decideWriter(node, 'W', 'x');
  t.deepEqual(askVote(node, [['x', w]], { txid: 'R' }), [], 'W is not on every database yet');
  const effects = node.handle({ type: 'replica-acked', txid: 'W', replica: 1 });
  t.deepEqual(effects.map((effect) => effect.type), ['committed', 'vote'], 'finished first, then the vote');
  t.like(only(effects, 'vote'), { txid: 'R', to: 2, vote: 'yes' });
});

test('views: this node\'s own vote on a transaction that read its decided-but-unfinished write waits too', (t) => {
  const node = member();
  const w = decideWriter(node, 'W', 'x');
  t.deepEqual(node.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', w]], writes: [{ key: 'y', value: 1 }] }).map((effect) => effect.type), ['send-validate']);
  t.deepEqual(node.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes' }), [], 'the peer voted; the coordinator\'s own vote is still awaited');
  const effects = node.handle({ type: 'replica-acked', txid: 'W', replica: 1 });
  t.deepEqual(effects.map((effect) => effect.type), ['committed', 'apply']);
  t.is(only(effects, 'apply').txid, 'T');
});

test('views: the wait is only for a read of the unfinished write itself: a read of another key is answered at once', (t) => {
  const node = member();
  decideWriter(node, 'W', 'x');
  t.is(voteOf(node, [['y', [3, 2]]]), 'yes');
});

test('views: when too many votes wait already, a vote that would wait for an unfinished write is NO', (t) => {
  const node = member();
  const w = decideWriter(node, 'W', 'x');
  for (let index = 0; index < DEFERRED_VOTES_MAX; index++) t.deepEqual(askVote(node, [['x', w]], { txid: `R${index}` }).length, 0);
  t.is(voteOf(node, [['x', w]]), 'no');
});

test('views: fault skipFinishedWait turns the wait off: both votes are given at once', (t) => {
  const node = member({ faults: { skipFinishedWait: true } });
  const w = decideWriter(node, 'W', 'x');
  t.is(voteOf(node, [['x', w]]), 'yes', 'the peer\'s vote, while W is unfinished');
  node.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', w]], writes: [{ key: 'y', value: 1 }] });
  t.is(only(node.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes' }), 'apply').txid, 'T', 'the own vote was given at once');
  t.is(node.inFlight.size, 2, 'W is still unfinished');
});

// ---- watermarks ----

test('views: unfinishedCounterMin is the smallest counter of an unfinished transaction of this node, and above the clock when there is none', (t) => {
  const node = member({ clockStart: 10 });
  t.is(node.unfinishedCounterMin(), 11);
  const a = startWriter(node, 'A', 'a');
  const d = decideWriter(node, 'D', 'd');
  t.is(node.unfinishedCounterMin(), a[0], 'an undecided one counts');
  node.handle({ type: 'vote-received', txid: 'A', voter: 2, vote: 'no' });
  t.is(node.unfinishedCounterMin(), d[0], 'a decided one counts until it is finished');
  askVote(node, [], { ts: [80, 2] });
  t.is(node.unfinishedCounterMin(), d[0], 'the clock moving on does not pass an unfinished transaction');
  node.handle({ type: 'replica-acked', txid: 'D', replica: 1 });
  t.is(node.unfinishedCounterMin(), node.clock.value + 1);
  t.true(node.unfinishedCounterMin() > 80);
});
