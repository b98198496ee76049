// The optimistic core against DESIGN.md, sentence by sentence: the voting rule, one test per
// case of the serializability argument, and the invariants that argument relies on.
import test from 'ava';
import { InFlightTable } from '../occ/in-flight.js';
import { OccNode, type OccEffect } from '../occ/node.js';
import { decideVote } from '../occ/vote.js';
import { Workspace } from '../occ/workspace.js';
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
  const voter = new OccNode({ id: 2, replicas: [1], members: [1] });
  only(voter.handle({ type: 'vote-requested', from: 1, txid: 'T', ts: [50, 1], readSet: [['x', [0, 0]]], writeKeys: [] }), 'vote');
  const effects = voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] });
  const w = only(effects, 'send-validate').ts;
  t.true(isBefore([50, 1], w), `W was stamped ${w.join('.')}, not after T`);
});

test('case 2: if W was in flight at its coordinator when T\'s VALIDATE arrived, that coordinator votes NO', (t) => {
  const voter = new OccNode({ id: 2, replicas: [1], members: [1] });
  const w = only(voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] }), 'send-validate').ts;
  const vote = only(voter.handle({ type: 'vote-requested', from: 1, txid: 'T', ts: [w[0] + 5, 1], readSet: [['x', [0, 0]]], writeKeys: [] }), 'vote');
  t.is(vote.vote, 'no');
});

test('case 2 holds during the write phase: W stays in flight until every replica acknowledged', (t) => {
  const voter = new OccNode({ id: 2, replicas: [1, 2, 3], members: [] });
  const effects = voter.handle({ type: 'commit-requested', txid: 'W', readSet: [['x', [0, 0]]], writes: [{ key: 'x', value: 1 }] });
  only(effects, 'read-versions');
  const apply = only(voter.handle({ type: 'versions-read', txid: 'W', versions: [[0, 0]] }), 'apply');
  const askT = () => only(voter.handle({ type: 'vote-requested', from: 1, txid: `T${Math.random()}`, ts: [apply.ts[0] + 10, 1], readSet: [['x', [0, 0]]], writeKeys: [] }), 'vote').vote;
  t.is(askT(), 'no');
  t.deepEqual(voter.handle({ type: 'replica-acked', txid: 'W', replica: 1 }), []);
  t.is(askT(), 'no');
  t.deepEqual(voter.handle({ type: 'replica-acked', txid: 'W', replica: 3 }), []);
  t.is(askT(), 'no', 'still in flight with one replica left');
  only(voter.handle({ type: 'replica-acked', txid: 'W', replica: 2 }), 'committed');
  t.is(askT(), 'yes', 'gone from the table once all replicas acknowledged');
});

test('case 3: the version check comes only after the last vote, and a changed version aborts', (t) => {
  const coordinator = new OccNode({ id: 1, replicas: [1], members: [2, 3] });
  const validate = only(coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [4, 2]]], writes: [{ key: 'y', value: 1 }] }), 'send-validate');
  t.deepEqual([...validate.to].sort(), [2, 3]);
  t.deepEqual(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes', clock: 9 }), [], 'no version check before every vote is in');
  only(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 3, vote: 'yes', clock: 9 }), 'read-versions');
  const aborted = only(coordinator.handle({ type: 'versions-read', txid: 'T', versions: [[7, 3]] }), 'aborted');
  t.is(aborted.reason, 'stale-read');
  t.is(coordinator.inFlight.size, 0, 'an aborted transaction leaves nothing in flight');
});

test('case 3, the other way: unchanged versions after all YES votes commit and apply to every replica', (t) => {
  const coordinator = new OccNode({ id: 1, replicas: [1, 2], members: [2] });
  coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [4, 2]]], writes: [{ key: 'x', value: 5 }] });
  only(coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes' }), 'read-versions');
  const apply = only(coordinator.handle({ type: 'versions-read', txid: 'T', versions: [[4, 2]] }), 'apply');
  t.deepEqual(apply.replicas, [1, 2]);
  t.deepEqual(apply.writes, [{ key: 'x', value: 5 }]);
});

test('a NO vote or a vote timeout aborts; nothing is applied', (t) => {
  for (const vote of ['no', 'timeout'] as const) {
    const coordinator = new OccNode({ id: 1, replicas: [1], members: [2] });
    coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] });
    const effects = coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote });
    t.is(only(effects, 'aborted').reason, vote === 'no' ? 'vote-no' : 'vote-timeout');
    t.false(effects.some((effect) => effect.type === 'apply'));
  }
});

test('the coordinator votes too: its own in-flight writer makes a later reader abort at once', (t) => {
  const node = new OccNode({ id: 1, replicas: [1], members: [2] });
  node.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] });
  const effects = node.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [0, 0]]], writes: [] });
  t.is(only(effects, 'aborted').reason, 'vote-no');
});

test('the voter updates its clock from t before voting, and reports it', (t) => {
  const voter = new OccNode({ id: 2, replicas: [1], members: [1] });
  const vote = only(voter.handle({ type: 'vote-requested', from: 1, txid: 'T', ts: [77, 1], readSet: [], writeKeys: [] }), 'vote');
  t.true(vote.clock >= 77);
  t.true(voter.clock.value >= 77);
});

test('read-only transactions go through the same validation round', (t) => {
  const coordinator = new OccNode({ id: 1, replicas: [1], members: [2] });
  only(coordinator.handle({ type: 'commit-requested', txid: 'R', readSet: [['x', [1, 1]]], writes: [] }), 'send-validate');
  only(coordinator.handle({ type: 'vote-received', txid: 'R', voter: 2, vote: 'yes' }), 'read-versions');
  const effects = coordinator.handle({ type: 'versions-read', txid: 'R', versions: [[1, 1]] });
  only(effects, 'committed');
  t.false(effects.some((effect) => effect.type === 'apply'), 'a read-only transaction writes nothing');
});

test('a member that leaves is no longer waited for; a vote still awaited from it counts as given', (t) => {
  const coordinator = new OccNode({ id: 1, replicas: [1], members: [2, 3] });
  coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [], writes: [{ key: 'x', value: 1 }] });
  coordinator.handle({ type: 'vote-received', txid: 'T', voter: 2, vote: 'yes' });
  only(coordinator.handle({ type: 'member-left', member: 3 }), 'apply');
  t.deepEqual(coordinator.memberIds, [2]);
});

test('a joining member is asked by later transactions, not by ones already voting; its clock is observed', (t) => {
  const coordinator = new OccNode({ id: 1, replicas: [1], members: [2] });
  coordinator.handle({ type: 'commit-requested', txid: 'T1', readSet: [], writes: [{ key: 'x', value: 1 }] });
  coordinator.handle({ type: 'member-joined', member: 3, clock: 40 });
  t.true(coordinator.clock.value >= 40);
  only(coordinator.handle({ type: 'vote-received', txid: 'T1', voter: 2, vote: 'yes' }), 'apply');
  const validate = only(coordinator.handle({ type: 'commit-requested', txid: 'T2', readSet: [], writes: [{ key: 'y', value: 1 }] }), 'send-validate');
  t.deepEqual([...validate.to].sort(), [2, 3]);
  t.true(validate.ts[0] > 40);
});

test('faults: skipping the voting rule or the version check is possible only on purpose', (t) => {
  const voter = new OccNode({ id: 2, replicas: [1], members: [1], faults: { skipVotingRule: true } });
  voter.handle({ type: 'commit-requested', txid: 'W', readSet: [], writes: [{ key: 'x', value: 1 }] });
  t.is(only(voter.handle({ type: 'vote-requested', from: 1, txid: 'T', ts: [99, 1], readSet: [['x', [0, 0]]], writeKeys: [] }), 'vote').vote, 'yes');
  const coordinator = new OccNode({ id: 1, replicas: [1], members: [], faults: { skipVersionCheck: true } });
  only(coordinator.handle({ type: 'commit-requested', txid: 'T', readSet: [['x', [1, 1]]], writes: [{ key: 'x', value: 2 }] }), 'apply');
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
