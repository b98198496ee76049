// The ballots and the acceptor of one database against the design, rule by rule: ballots are
// totally ordered and never shared, promises go only to higher ballots, the state is persisted
// before every grant, and a restarted database keeps what it promised.
import test from 'ava';
import { Acceptor, type AcceptorEffect } from '../view/acceptor.js';
import { compareBallots, makeIncarnation, nextBallot, type Ballot, type View } from '../view/types.js';

const INITIAL: View = { epoch: 0, members: [{ id: 1, incarnation: '1.a' }, { id: 2, incarnation: '1.b' }], replicas: [1, 2, 3], joining: [] };

function viewOf(epoch: number, replicas: number[]): View {
  return { epoch, members: [{ id: 1, incarnation: '1.a' }], replicas, joining: [] };
}

function ballot(round: number, proposer = 1, incarnation = '1.a'): Ballot {
  return { round, proposer, incarnation };
}

function types(effects: AcceptorEffect[]): string[] {
  return effects.map((effect) => effect.type);
}

function last<T>(items: T[]): T {
  return items[items.length - 1]!;
}

// ---- ballots ----

test('ballots: ordered by round, then proposer id, then incarnation (boot counter before nonce)', (t) => {
  t.true(compareBallots(ballot(1, 9, '9.z'), ballot(2, 1, '1.a')) < 0);
  t.true(compareBallots(ballot(2, 1, '9.z'), ballot(2, 2, '1.a')) < 0);
  t.true(compareBallots(ballot(2, 1, '2.a'), ballot(2, 1, '10.a')) < 0, 'boot 10 is later than boot 2, compared as numbers');
  t.true(compareBallots(ballot(2, 1, '2.a'), ballot(2, 1, '2.b')) < 0);
});

test('ballots: two proposers, or two lives of one proposer, never hold equal ballots, and the order is total and antisymmetric', (t) => {
  const lives = [makeIncarnation(1, 'a'), makeIncarnation(1, 'b'), makeIncarnation(2, 'a')];
  const ballots: Ballot[] = [];
  for (let round = 1; round <= 3; round++) for (const proposer of [1, 2]) for (const incarnation of lives) ballots.push(ballot(round, proposer, incarnation));
  for (const a of ballots) {
    for (const b of ballots) {
      const order = compareBallots(a, b);
      t.is(order === 0, a === b, 'equal only to itself');
      t.is(Math.sign(order) + Math.sign(compareBallots(b, a)), 0);
    }
  }
});

test('ballots: nextBallot beats the ballot it was given, whoever held it', (t) => {
  const toBeat = ballot(7, 9, '99.z');
  t.true(compareBallots(nextBallot(toBeat, 1, '1.a'), toBeat) > 0);
  t.is(nextBallot(null, 1, '1.a').round, 1);
});

test('incarnations: a malformed one is refused', (t) => {
  t.throws(() => makeIncarnation(1, 'has space'), { message: /incarnation/ });
  t.throws(() => makeIncarnation(-1, 'a'), { message: /incarnation/ });
});

// ---- the acceptor ----

test('acceptor: promises a first ballot, then only higher ones; a lower prepare is refused with the ballot promised', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  t.like(last(acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(2) })), { type: 'promise', epoch: 1, accepted: null });
  t.like(last(acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(3, 2) })), { type: 'promise' });
  const refused = acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(2, 9) });
  t.deepEqual(refused, [{ type: 'refused', epoch: 1, ballot: ballot(2, 9), reason: 'outbid', promised: ballot(3, 2) }]);
});

test('acceptor: every grant is preceded by a persist of the whole state that includes it; a refusal persists nothing', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  const promise = acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(2) });
  t.deepEqual(types(promise), ['persist', 'promise']);
  t.like(promise[0], { type: 'persist', state: { promised: ballot(2), accepted: null } });
  const accepted = acceptor.handle({ type: 'accept', epoch: 1, ballot: ballot(2), view: viewOf(1, [1, 2]) });
  t.deepEqual(types(accepted), ['persist', 'accepted']);
  t.like(accepted[0], { type: 'persist', state: { promised: ballot(2), accepted: { ballot: ballot(2), view: viewOf(1, [1, 2]) } } });
  t.deepEqual(types(acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(1) })), ['refused']);
});

test('acceptor: a promise carries the value it accepted, with its ballot', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  acceptor.handle({ type: 'accept', epoch: 1, ballot: ballot(2), view: viewOf(1, [1, 3]) });
  t.like(last(acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(5, 2) })), {
    type: 'promise',
    accepted: { ballot: ballot(2), view: viewOf(1, [1, 3]) },
  });
});

test('acceptor: an accept below the promised ballot is refused and changes nothing', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(4, 2) });
  const before = acceptor.snapshot();
  t.deepEqual(acceptor.handle({ type: 'accept', epoch: 1, ballot: ballot(3), view: viewOf(1, [1]) }), [
    { type: 'refused', epoch: 1, ballot: ballot(3), reason: 'outbid', promised: ballot(4, 2) },
  ]);
  t.deepEqual(acceptor.snapshot(), before);
});

test('acceptor: the same prepare or accept again gets the same answer (the first answer may have been lost)', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  const prepare = { type: 'prepare', epoch: 1, ballot: ballot(2) } as const;
  t.deepEqual(acceptor.handle(prepare), acceptor.handle(prepare));
  const accept = { type: 'accept', epoch: 1, ballot: ballot(2), view: viewOf(1, [2]) } as const;
  t.deepEqual(acceptor.handle(accept), acceptor.handle(accept));
  t.like(last(acceptor.handle(prepare)), { type: 'promise', accepted: { ballot: ballot(2), view: viewOf(1, [2]) } });
});

test('acceptor: one ballot proposing two views for an epoch is a broken invariant', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  acceptor.handle({ type: 'accept', epoch: 1, ballot: ballot(2), view: viewOf(1, [2]) });
  t.throws(() => acceptor.handle({ type: 'accept', epoch: 1, ballot: ballot(2), view: viewOf(1, [3]) }), { message: /two different views/ });
});

test('acceptor: restored from what it persisted after a restart, it keeps its promise and its accepted value', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  acceptor.handle({ type: 'accept', epoch: 1, ballot: ballot(2), view: viewOf(1, [2]) });
  const persisted = acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(5, 3) })[0]!;
  if (persisted.type !== 'persist') return t.fail('the grant was not persisted first');
  const restarted = Acceptor.restore(persisted.state);
  t.like(last(restarted.handle({ type: 'prepare', epoch: 1, ballot: ballot(4, 9) })), { type: 'refused', reason: 'outbid', promised: ballot(5, 3) });
  t.like(last(restarted.handle({ type: 'prepare', epoch: 1, ballot: ballot(6) })), { type: 'promise', accepted: { ballot: ballot(2), view: viewOf(1, [2]) } });
});

test('acceptor: once told a view was chosen, it refuses that epoch with the chosen view and votes on the next', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(9) });
  t.deepEqual(types(acceptor.handle({ type: 'chosen', view: viewOf(1, [1, 2]) })), ['persist']);
  t.deepEqual(acceptor.handle({ type: 'chosen', view: viewOf(1, [1, 2]) }), [], 'a chosen view it knows changes nothing');
  t.like(last(acceptor.handle({ type: 'prepare', epoch: 1, ballot: ballot(10) })), { type: 'refused', reason: 'already-chosen', view: viewOf(1, [1, 2]) });
  t.like(last(acceptor.handle({ type: 'prepare', epoch: 2, ballot: ballot(1) })), { type: 'promise', epoch: 2, accepted: null }, 'a new epoch starts with no promise');
  t.throws(() => acceptor.handle({ type: 'chosen', view: viewOf(1, [3]) }), { message: /two views chosen/ });
});

test('acceptor: an epoch ahead of what it knows is refused as a gap, with its newest chosen view', (t) => {
  const acceptor = Acceptor.start(INITIAL);
  t.like(last(acceptor.handle({ type: 'accept', epoch: 2, ballot: ballot(1), view: viewOf(2, [1]) })), { type: 'refused', reason: 'gap', chosen: INITIAL });
  t.is(acceptor.openEpoch, 1);
});
