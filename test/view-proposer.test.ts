// One proposer attempt against the design, rule by rule: it counts a majority of every database
// of the cluster file, proposes the value accepted with the highest ballot if there is one,
// reports chosen only on a majority of accepts and with who accepted, and ends outbid or
// adopting when an acceptor knows better.
import test from 'ava';
import { ProposerAttempt, type ProposerEffect } from '../view/proposer.js';
import type { Ballot, View } from '../view/types.js';

const PREVIOUS: View = { epoch: 3, members: [{ id: 1, incarnation: '1.a' }, { id: 2, incarnation: '1.b' }], replicas: [1, 2, 3, 4, 5], joining: [] };
const MINE: View = { epoch: 4, members: [{ id: 1, incarnation: '1.a' }], replicas: [1, 2, 3, 4, 5], joining: [] };
const THEIRS: View = { epoch: 4, members: [{ id: 2, incarnation: '1.b' }], replicas: [1, 2, 3], joining: [] };
const OLDER: View = { epoch: 4, members: [{ id: 3, incarnation: '1.c' }], replicas: [4, 5], joining: [] };
const BALLOT: Ballot = { round: 5, proposer: 1, incarnation: '1.a' };
const ACCEPTORS = [1, 2, 3, 4, 5];

function started(): ProposerAttempt {
  const attempt = new ProposerAttempt({ previous: PREVIOUS, ballot: BALLOT, proposal: MINE, acceptors: ACCEPTORS });
  attempt.start();
  return attempt;
}

function promise(attempt: ProposerAttempt, from: number, accepted: { round: number; view: View } | null = null): ProposerEffect[] {
  return attempt.handle({
    type: 'promise',
    from,
    epoch: 4,
    ballot: BALLOT,
    accepted: accepted && { ballot: { round: accepted.round, proposer: 2, incarnation: '1.b' }, view: accepted.view },
  });
}

function accepted(attempt: ProposerAttempt, from: number): ProposerEffect[] {
  return attempt.handle({ type: 'accepted', from, epoch: 4, ballot: BALLOT });
}

test('proposer: starts by sending its prepare for the next epoch to every acceptor', (t) => {
  const attempt = new ProposerAttempt({ previous: PREVIOUS, ballot: BALLOT, proposal: MINE, acceptors: ACCEPTORS });
  t.deepEqual(attempt.start(), [{ type: 'send-prepare', to: ACCEPTORS, epoch: 4, ballot: BALLOT }]);
});

test('proposer: needs promises from a majority of all acceptors, not of those that answered', (t) => {
  const attempt = started();
  t.deepEqual(promise(attempt, 1), []);
  t.deepEqual(promise(attempt, 2), [], 'two of five is a majority of those answering but not of the cluster file');
  t.deepEqual(promise(attempt, 2), [], 'a repeated promise counts once');
  t.deepEqual(promise(attempt, 3), [{ type: 'send-accept', to: ACCEPTORS, epoch: 4, ballot: BALLOT, view: MINE }]);
});

test('proposer: proposes the value accepted with the highest ballot among the promises, not its own', (t) => {
  const attempt = started();
  promise(attempt, 1, { round: 2, view: OLDER });
  promise(attempt, 2, { round: 4, view: THEIRS });
  t.like(promise(attempt, 3)[0], { type: 'send-accept', view: THEIRS });
});

test('proposer: proposes its own view when no promise carries an accepted value', (t) => {
  const attempt = started();
  promise(attempt, 1);
  promise(attempt, 4);
  t.like(promise(attempt, 5)[0], { type: 'send-accept', view: MINE });
});

test('proposer: chosen only on accepts from a majority, and it reports which acceptors accepted', (t) => {
  const attempt = started();
  for (const from of [1, 2, 3]) promise(attempt, from);
  t.deepEqual(accepted(attempt, 5), []);
  t.deepEqual(accepted(attempt, 5), [], 'a repeated accept counts once');
  t.deepEqual(accepted(attempt, 2), []);
  t.deepEqual(accepted(attempt, 4), [{ type: 'chosen', view: MINE, acceptedBy: [2, 4, 5] }]);
  t.is(attempt.phase, 'chosen');
  t.deepEqual(accepted(attempt, 1), [], 'the attempt is over');
});

test('proposer: answers to another ballot, another epoch or from a stranger are ignored', (t) => {
  const attempt = started();
  for (const from of [1, 2]) promise(attempt, from);
  t.deepEqual(attempt.handle({ type: 'promise', from: 3, epoch: 4, ballot: { ...BALLOT, round: 4 }, accepted: null }), []);
  t.deepEqual(attempt.handle({ type: 'promise', from: 3, epoch: 5, ballot: BALLOT, accepted: null }), []);
  t.deepEqual(attempt.handle({ type: 'promise', from: 9, epoch: 4, ballot: BALLOT, accepted: null }), []);
  t.is(attempt.phase, 'preparing');
});

test('proposer: a refusal for a higher promise ends the attempt outbid, with the ballot to beat', (t) => {
  const attempt = started();
  const higher: Ballot = { round: 6, proposer: 2, incarnation: '1.b' };
  t.deepEqual(attempt.handle({ type: 'refused', from: 2, epoch: 4, ballot: BALLOT, reason: 'outbid', promised: higher }), [{ type: 'outbid', ballot: higher }]);
  t.is(attempt.phase, 'outbid');
  t.deepEqual(promise(attempt, 1), [], 'the attempt is over');
});

test('proposer: a refusal because the epoch is already chosen ends the attempt adopting the chosen view', (t) => {
  const attempt = started();
  for (const from of [1, 2, 3]) promise(attempt, from);
  t.deepEqual(attempt.handle({ type: 'refused', from: 4, epoch: 4, ballot: BALLOT, reason: 'already-chosen', view: THEIRS }), [{ type: 'adopt', view: THEIRS }]);
  t.is(attempt.phase, 'adopted');
});

test('proposer: an acceptor behind by a gap is told the view the attempt builds on, then asked again', (t) => {
  const attempt = started();
  const behind: View = { ...PREVIOUS, epoch: 2 };
  t.deepEqual(attempt.handle({ type: 'refused', from: 3, epoch: 4, ballot: BALLOT, reason: 'gap', chosen: behind }), [
    { type: 'send-chosen', to: [3], view: PREVIOUS },
    { type: 'send-prepare', to: [3], epoch: 4, ballot: BALLOT },
  ]);
});

test('proposer: a resend asks again only the acceptors that have not answered this phase', (t) => {
  const attempt = started();
  promise(attempt, 2);
  t.deepEqual(attempt.handle({ type: 'resend' }), [{ type: 'send-prepare', to: [1, 3, 4, 5], epoch: 4, ballot: BALLOT }]);
  promise(attempt, 4);
  promise(attempt, 5);
  accepted(attempt, 1);
  t.deepEqual(attempt.handle({ type: 'resend' }), [{ type: 'send-accept', to: [2, 3, 4, 5], epoch: 4, ballot: BALLOT, view: MINE }]);
});
