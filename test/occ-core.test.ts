// The optimistic core against the design document, sentence by sentence: the voting rule, one
// test per case of the serializability argument, and the invariants that argument relies on.
import test from 'ava';
import { InFlightTable } from '../occ/in-flight.js';
import { OccNode, type OccEffect } from '../occ/node.js';
import { decideVote } from '../occ/vote.js';
import { Workspace } from '../transaction/workspace.js';
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';

function table(...txns: Array<{ txid: string; ts: Timestamp; writes: string[] }>): InFlightTable {
  const inFlight = new InFlightTable();
  for (const txn of txns) inFlight.add({ txid: txn.txid, ts: txn.ts, readSet: [], writeKeys: new Set(txn.writes) });
  return inFlight;
}

function only<T extends OccEffect['type']>(effects: OccEffect[], type: T): Extract<OccEffect, { type: T }> {
  const found = effects.filter((effect) => effect.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} effect, got ${JSON.stringify(effects)}`);
  return found[0] as Extract<OccEffect, { type: T }>;
}

// ---- the voting rule ----

test('vote: NO when an in-flight L with ts(L) < t writes a key the request read at a version older than ts(L)', (t) => {
  const vote = decideVote({ txid: 'T', ts: [10, 1], readSet: [['x', [3, 2]]] }, table({ txid: 'L', ts: [5, 2], writes: ['x'] }));
  t.like(vote, { vote: 'no', conflict: { txid: 'L', key: 'x' } });
});

test('vote: YES when the request already read L\'s own write (version = ts(L))', (t) => {
  const vote = decideVote({ txid: 'T', ts: [10, 1], readSet: [['x', [5, 2]]] }, table({ txid: 'L', ts: [5, 2], writes: ['x'] }));
  t.is(vote.vote, 'yes');
});

test('vote: YES when L is ordered after the request (ts(L) > t): the request comes first in the serial order', (t) => {
  const vote = decideVote({ txid: 'T', ts: [10, 1], readSet: [['x', [3, 2]]] }, table({ txid: 'L', ts: [11, 2], writes: ['x'] }));
  t.is(vote.vote, 'yes');
});

test('vote: YES when L writes only keys the request did not read (blind writes never conflict)', (t) => {
  const vote = decideVote({ txid: 'T', ts: [10, 1], readSet: [['y', [0, 0]]] }, table({ txid: 'L', ts: [5, 2], writes: ['x'] }));
  t.is(vote.vote, 'yes');
});

test('vote: ties on the counter are broken by middleware id', (t) => {
  const inFlight = table({ txid: 'L', ts: [10, 1], writes: ['x'] });
  t.is(decideVote({ txid: 'T', ts: [10, 2], readSet: [['x', [0, 0]]] }, inFlight).vote, 'no');
  t.is(decideVote({ txid: 'T', ts: [10, 0], readSet: [['x', [0, 0]]] }, inFlight).vote, 'yes');
});

// ---- the serializability argument, case by case ----

test('case 1: if W had no timestamp yet when T\'s VALIDATE arrived, W is stamped after T', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [1] });
  only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [50, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), 'vote');
  const effects = voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] });
  const w = only(effects, 'send-validate').ts;
  t.true(isBefore([50, 1], w), `W was stamped ${w.join('.')}, not after T`);
});

test('case 2: if W was in flight at its coordinator when T\'s VALIDATE arrived, that coordinator votes NO (or, deferring, waits for W: see below)', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [1], deferVotes: false });
  const w = only(voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').ts;
  const vote = only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [w[0] + 5, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), 'vote');
  t.is(vote.vote, 'no');
});

test('case 2 holds during the write phase: W stays in flight until every replica acknowledged', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1, 2, 3], members: [], deferVotes: false });
  const apply = only(voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'apply');
  const askT = (versionRead: Timestamp) => only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: `T${Math.random()}`, ts: [apply.ts[0] + 10, 1], readSet: [['x', versionRead]], writeKeys: [], nowMs: 0 }), 'vote').vote;
  t.is(askT([0, 0]), 'no');
  t.deepEqual(voter.handle({ type: 'replica-acked', txid: 'W', replica: 1 }), []);
  t.is(askT([0, 0]), 'no');
  t.deepEqual(voter.handle({ type: 'replica-acked', txid: 'W', replica: 3 }), []);
  t.is(askT([0, 0]), 'no', 'still in flight with one replica left');
  t.is(voter.inFlight.size, 1);
  only(voter.handle({ type: 'replica-acked', txid: 'W', replica: 2 }), 'committed');
  t.is(voter.inFlight.size, 0, 'gone from the in-flight table once all replicas acknowledged');
  t.is(askT(apply.ts), 'yes', 'a request that read W\'s write is fine');
});

test('case 3: if W had already finished at its coordinator, that coordinator votes NO on a read that missed it', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [] });
  const apply = only(voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'apply');
  only(voter.handle({ type: 'replica-acked', txid: 'W', replica: 1 }), 'committed');
  t.is(voter.inFlight.size, 0);
  const vote = only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [apply.ts[0] + 5, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), 'vote');
  t.is(vote.vote, 'no');
});

test('when every voter vouches, the coordinator commits without re-reading versions', (t) => {
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1, 2], members: [2, 3] });
  coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [4, 2]]], writes: [{ key: 'x', value: 5 }] });
  t.deepEqual(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes' }), []);
  const apply = only(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 3, vote: 'yes' }), 'apply');
  t.deepEqual(apply.replicas, [1, 2]);
});

test('case 3 fallback: a voter that cannot vouch answers CHECK; versions are re-read only after the last vote, and a change aborts', (t) => {
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1], members: [2, 3] });
  const validate = only(coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [4, 2]]], writes: [{ key: 'y', value: 1 }] }), 'send-validate');
  t.deepEqual([...validate.to].sort(), [2, 3]);
  t.deepEqual(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'check', clock: 9 }), [], 'no version check before every vote is in');
  only(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 3, vote: 'yes', clock: 9 }), 'read-versions');
  const aborted = only(coordinator.handle({ type: 'versions-read', txid: 'T', versions: [[7, 3]] }), 'aborted');
  t.is(aborted.reason, 'stale-read');
  t.is(coordinator.inFlight.size, 0, 'an aborted transaction leaves nothing in flight');
});

test('case 3 fallback, the other way: unchanged versions after the check commit and apply to every replica', (t) => {
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1, 2], members: [2] });
  coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [4, 2]]], writes: [{ key: 'x', value: 5 }] });
  only(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'check' }), 'read-versions');
  const apply = only(coordinator.handle({ type: 'versions-read', txid: 'T', versions: [[4, 2]] }), 'apply');
  t.deepEqual(apply.replicas, [1, 2]);
  t.deepEqual(apply.writes, [{ key: 'x', value: 5 }]);
});

test('a voter vouches for nothing before its first view is installed, and then not for versions an earlier life could have overwritten', (t) => {
  const restarted = new OccNode({ id: 2, replicas: [1], members: [1] });
  const ask = (epoch: number, versionRead: Timestamp, counter: number) => only(restarted.handle({ type: 'vote-requested', epoch, from: 1, txid: `T${counter}`, ts: [counter, 1], readSet: [['x', versionRead]], writeKeys: [], nowMs: 0 }), 'vote').vote;
  t.is(ask(0, [5, 1], 30), 'no', 'no view installed yet: it validates nothing');
  restarted.handle({ type: 'view-install', epoch: 1, members: [1, 2], clock: 40, replaced: false });
  t.is(ask(1, [5, 1], 60), 'check', 'version 5 predates the install clock (40): an earlier life may have overwritten it');
  t.is(ask(1, [40, 1], 61), 'check', 'at the install clock itself: still not vouched for');
  t.is(ask(1, [45, 1], 62), 'yes', 'versions written after the install are known');
});

test('finished writes are bounded: a forgotten key makes the voter answer CHECK for older reads', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [], finishedWritesMax: 1 });
  for (const key of ['a', 'b']) {
    only(voter.handle({ type: 'commit-requested', txid: key, readSet: [], writes: [{ key, value: 1 }] }), 'apply');
    voter.handle({ type: 'replica-acked', txid: key, replica: 1 });
  }
  const ask = (key: string) => only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: `T${key}`, ts: [100, 1], readSet: [[key, [0, 0]]], writeKeys: [], nowMs: 0 }), 'vote').vote;
  t.is(ask('b'), 'no', 'b is remembered');
  t.is(ask('a'), 'check', 'a was forgotten');
});

test('a NO vote or a vote timeout aborts; nothing is applied', (t) => {
  for (const vote of ['no', 'timeout'] as const) {
    const coordinator = new OccNode({ joined: true, id: 1, replicas: [1], members: [2] });
    coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] });
    const effects = coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote });
    t.is(only(effects, 'aborted').reason, vote === 'no' ? 'vote-no' : 'vote-timeout');
    t.false(effects.some((effect) => effect.type === 'apply'));
  }
});

test('the coordinator votes too: its own in-flight writer makes a later reader abort at once', (t) => {
  const node = new OccNode({ joined: true, id: 1, replicas: [1], members: [2], deferVotes: false });
  node.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] });
  const effects = node.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [0, 0]]], writes: [] });
  t.is(only(effects, 'aborted').reason, 'vote-no');
});

test('the voter updates its clock from t before voting, and reports it', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [1] });
  const vote = only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [77, 1], readSet: [], writeKeys: [], nowMs: 0 }), 'vote');
  t.true(vote.clock >= 77);
  t.true(voter.clock.value >= 77);
});

test('read-only transactions go through the same validation round', (t) => {
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1], members: [2] });
  only(coordinator.handle({ type: 'commit-requested', txid: 'R', readSet: [['x', [1, 1]]], writes: [] }), 'send-validate');
  only(coordinator.handle({ type: 'vote-received', txid: 'R', voter: 2, vote: 'check' }), 'read-versions');
  const effects = coordinator.handle({ type: 'versions-read', txid: 'R', versions: [[1, 1]] });
  only(effects, 'confirm');
  t.false(effects.some((effect) => effect.type === 'apply'), 'a read-only transaction writes nothing');
  only(coordinator.handle({ type: 'confirmed', txid: 'R' }), 'committed');
});

test('a member a view removes is not asked again, and a transaction whose vote was asked of it does not commit without that vote: the view change aborts it', (t) => {
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1], members: [2, 3] });
  coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] });
  coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes' });
  t.like(only(coordinator.handle({ type: 'view-stop' }), 'aborted'), { txid: 'T', reason: 'view-change' });
  t.deepEqual(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 3, vote: 'yes' }), [], 'a late vote of the removed member commits nothing');
  t.deepEqual(coordinator.handle({ type: 'view-install', epoch: 1, members: [1, 2], clock: 10, replaced: true }), []);
  t.deepEqual(coordinator.memberIds, [2]);
  const later = only(coordinator.handle({ type: 'commit-requested', txid: 'T2', readSet: [], writes: [{ key: 'y', value: 1 }] }), 'send-validate');
  t.deepEqual(later.to, [2]);
  t.is(later.epoch, 1);
});

test('a member a view adds is asked by later transactions; a transaction already decided finishes across the stop; the install clock is observed', (t) => {
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1], members: [2] });
  coordinator.handle({ type: 'commit-requested', txid: 'T1', readSet: [], writes: [{ key: 'x', value: 1 }] });
  only(coordinator.handle({ type: 'vote-received', txid: 'T1', voter: 2, vote: 'yes' }), 'apply');
  t.deepEqual(coordinator.handle({ type: 'view-stop' }), [], 'a decided transaction is not aborted by the stop');
  only(coordinator.handle({ type: 'replica-acked', txid: 'T1', replica: 1 }), 'committed');
  coordinator.handle({ type: 'view-install', epoch: 1, members: [1, 2, 3], clock: 40, replaced: false });
  t.true(coordinator.clock.value >= 40);
  const validate = only(coordinator.handle({ type: 'commit-requested', txid: 'T2', readSet: [], writes: [{ key: 'y', value: 1 }] }), 'send-validate');
  t.deepEqual([...validate.to].sort(), [2, 3]);
  t.true(validate.ts[0] > 40);
});

test('faults: skipping the voting rule or the version check is possible only on purpose', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [1], faults: { skipVotingRule: true } });
  voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] });
  t.is(only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [99, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), 'vote').vote, 'yes');
  const coordinator = new OccNode({ joined: true, id: 1, replicas: [1], members: [2], faults: { skipVersionCheck: true } });
  coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [1, 1]]], writes: [{ key: 'x', value: 2 }] });
  only(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'check' }), 'apply');
});

// ---- the workspace ----

test('workspace: reads come from the write set first, then from what was read; writes stay private', (t) => {
  const workspace = new Workspace();
  t.false(workspace.lookup('x').found);
  workspace.recordRead('x', [3, 1], 10);
  t.deepEqual(workspace.lookup('x'), { found: true, value: 10 });
  workspace.write('x', 11);
  t.deepEqual(workspace.lookup('x'), { found: true, value: 11 });
  workspace.delete('y');
  t.deepEqual(workspace.lookup('y'), { found: true, value: undefined });
  t.deepEqual(workspace.readSet, [['x', [3, 1]]]);
  t.deepEqual(workspace.writeSet, [{ key: 'x', value: 11 }, { key: 'y' }]);
});

// ---- deferred votes: waiting instead of NO, only ever for a smaller timestamp ----

test('deferred vote: a conflict with an in-flight writer waits; once the writer is decided committed the answer is NO', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [1] });
  const w = only(voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').ts;
  t.deepEqual(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [w[0] + 5, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), [], 'no answer yet');
  const decided = voter.handle({ type: 'vote-received', txid: 'W', voter: 1, vote: 'yes' });
  only(decided, 'apply');
  t.like(only(decided, 'vote'), { txid: 'T', to: 1, vote: 'no' }, 'answered at the decision, not after the APPLYs');
  t.like(only(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T2', ts: [w[0] + 6, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), 'vote'), { txid: 'T2', vote: 'no' }, 'a request after the decision is not held');
  const effects = voter.handle({ type: 'replica-acked', txid: 'W', replica: 1 });
  only(effects, 'committed');
  t.is(effects.filter((effect) => effect.type === 'vote').length, 0, 'nothing is answered twice');
});

test('deferred vote: when the writer aborts instead, the waiting request gets YES', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [1] });
  const w = only(voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').ts;
  t.deepEqual(voter.handle({ type: 'vote-requested', epoch: 0, from: 1, txid: 'T', ts: [w[0] + 5, 1], readSet: [['x', [0, 0]]], writeKeys: [], nowMs: 0 }), []);
  const effects = voter.handle({ type: 'vote-received', txid: 'W', voter: 1, vote: 'no' });
  only(effects, 'aborted');
  t.like(only(effects, 'vote'), { txid: 'T', to: 1, vote: 'yes' });
});

test('deferred vote: the coordinator\'s own vote on a later transaction waits for its own earlier writer', (t) => {
  const node = new OccNode({ joined: true, id: 1, replicas: [1], members: [] });
  const member = new OccNode({ joined: true, id: 1, replicas: [1], members: [2] });
  only(member.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate');
  const asked = member.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [0, 0]]], writes: [{ key: 'y', value: 2 }] });
  t.deepEqual(asked.map((effect) => effect.type), ['send-validate'], 'T\'s own vote waits for W, still being validated');
  const effects = member.handle({ type: 'vote-received', txid: 'W', voter: 2, vote: 'yes' });
  only(effects, 'apply');
  t.is(only(effects, 'aborted').txid, 'T', 'W is decided committed, so T\'s read of x is stale');
  // With W decided, a later T3 that read x too is not held at all.
  only(node.handle({ type: 'commit-requested', txid: 'W0', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'apply');
  t.is(only(node.handle({ type: 'commit-requested', txid: 'T3', readSet: [['x', [0, 0]]], writes: [{ key: 'y', value: 2 }] }), 'aborted').txid, 'T3');
});

// ---- membership and the memory of finished writes ----

/** Runs W (writing k) on `writer` to its end, with `voter` as the only other member. */
function finishWrite(writer: OccNode, voter: OccNode): Timestamp {
  const validate = only(writer.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'k', value: 1 }] }), 'send-validate');
  const vote = only(voter.handle({ type: 'vote-requested', epoch: 0, from: writer.id, txid: 'W', ts: validate.ts, readSet: [], writeKeys: ['k'], nowMs: 0 }), 'vote');
  writer.handle({ type: 'vote-received', txid: 'W', voter: voter.id, vote: vote.vote, clock: vote.clock });
  only(writer.handle({ type: 'replica-acked', txid: 'W', replica: 1 }), 'committed');
  return validate.ts;
}

test('a member a view removes (replaced) takes its memory of finished writes with it: the others re-read versions for reads it could have vouched for', (t) => {
  const a = new OccNode({ joined: true, id: 1, replicas: [1], members: [2] });
  const b = new OccNode({ joined: true, id: 2, replicas: [1], members: [1] });
  finishWrite(b, a); // W on B writes k after T (on A) read k at version zero
  // B leaves: A stops, and the installer's clock is above every member's clock (A's and B's).
  a.handle({ type: 'view-stop' });
  const installClock = Math.max(a.clock.value, b.clock.value) + 1;
  a.handle({ type: 'view-install', epoch: 1, members: [1], clock: installClock, replaced: true });
  t.deepEqual(a.handle({ type: 'commit-requested', txid: 'T', readSet: [['k', [0, 0]]], writes: [{ key: 'k', value: 100 }] }), [
    { type: 'read-versions', txid: 'T', keys: ['k'] },
  ], 'no member remembers W: the version re-read must decide');
});

test('bounded memory: a key forgotten and then written again by an older, late write is not vouched for below what was forgotten', (t) => {
  const voter = new OccNode({ joined: true, id: 2, replicas: [1], members: [], finishedWritesMax: 2 });
  voter.finished.record('k', [10, 1]);
  voter.finished.record('a', [11, 1]);
  voter.finished.record('b', [12, 1]); // k is forgotten now
  voter.finished.record('k', [5, 1]); // a slower, older write of k finishes late
  t.not(voter.finished.judge('k', [7, 2]).verdict, 'fresh', 'k was written at 10.1, after version 7.2');
});
