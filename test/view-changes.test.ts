// The view changes a middleware proposes (view/changes.ts), one test per rule: adding a life,
// replacing an older life of the same id, dropping epoch 0's places for middlewares that never
// ran, removing lives, and the questions asked of a view (who votes, who was removed, which
// databases it has).
import test from 'ava';
import { databasesOf, isMember, neverRan, nextView, removedMembers, sameMember } from '../view/changes.js';
import type { Member, View } from '../view/types.js';

const ONE: Member = { id: 1, incarnation: '1.a' };
const TWO: Member = { id: 2, incarnation: '1.b' };
const TWO_AGAIN: Member = { id: 2, incarnation: '2.c' };
const THREE: Member = { id: 3, incarnation: '1.d' };

function view(epoch: number, members: Member[], replicas: number[] = [1, 2, 3], joining: number[] = []): View {
  return { epoch, members, replicas, joining };
}

/** Epoch 0 as a cluster starts: a place (boot 0) for each middleware of the cluster file. */
const INITIAL = view(0, [{ id: 1, incarnation: '0.x' }, { id: 2, incarnation: '0.x' }, { id: 3, incarnation: '0.x' }]);

test('changes: adding a life makes the next epoch with it among the members, databases unchanged', (t) => {
  t.deepEqual(nextView(view(4, [ONE], [1, 2], [3]), { type: 'add', member: TWO }), view(5, [ONE, TWO], [1, 2], [3]));
});

test('changes: members are kept in id order whatever order they were added in', (t) => {
  t.deepEqual(nextView(view(4, [THREE]), { type: 'add', member: ONE })?.members, [ONE, THREE]);
});

test('changes: adding a life that is already a member changes nothing (null)', (t) => {
  t.is(nextView(view(4, [ONE, TWO]), { type: 'add', member: { ...TWO } }), null);
});

test('changes: a new life of an id replaces the old one (the old life is over)', (t) => {
  const next = nextView(view(4, [ONE, TWO]), { type: 'add', member: TWO_AGAIN });
  t.deepEqual(next?.members, [ONE, TWO_AGAIN]);
});

test('changes: the first add drops epoch 0\'s places of middlewares that never ran', (t) => {
  const first = nextView(INITIAL, { type: 'add', member: TWO });
  t.deepEqual(first, view(1, [TWO]));
  const second = nextView(first!, { type: 'add', member: ONE });
  t.deepEqual(second?.members, [ONE, TWO], 'a life that ran is not dropped by a later add');
});

test('changes: removing lives makes the next epoch without them', (t) => {
  t.deepEqual(nextView(view(4, [ONE, TWO, THREE], [1], [2]), { type: 'remove', members: [TWO, THREE] }), view(5, [ONE], [1], [2]));
});

test('changes: removal names a life: removing an old life of an id leaves its newer life in place (null)', (t) => {
  t.is(nextView(view(4, [ONE, TWO_AGAIN]), { type: 'remove', members: [TWO] }), null);
});

test('changes: removing lives none of which is a member changes nothing (null)', (t) => {
  t.is(nextView(view(4, [ONE]), { type: 'remove', members: [THREE] }), null);
  t.is(nextView(view(4, [ONE]), { type: 'remove', members: [] }), null);
});

test('changes: removing the last member is a view without members', (t) => {
  t.deepEqual(nextView(view(4, [ONE]), { type: 'remove', members: [ONE] }), view(5, []));
});

test('changes: the next view shares nothing with the previous one (changing one leaves the other)', (t) => {
  const previous = view(4, [ONE], [1, 2], [3]);
  const next = nextView(previous, { type: 'add', member: TWO })!;
  next.members[0]!.incarnation = '9.z';
  next.replicas.push(7);
  next.joining.push(8);
  t.deepEqual(previous, view(4, [ONE], [1, 2], [3]));
  t.deepEqual(ONE, { id: 1, incarnation: '1.a' });
});

test('changes: a member is an id and a life: another life of the same id is not a member', (t) => {
  const current = view(4, [ONE, TWO]);
  t.true(isMember(current, { id: 2, incarnation: '1.b' }));
  t.false(isMember(current, TWO_AGAIN));
  t.false(isMember(current, THREE));
  t.true(sameMember(TWO, { ...TWO }));
  t.false(sameMember(TWO, TWO_AGAIN));
});

test('changes: removed members are the lives the previous view has and the next does not, replaced ones included', (t) => {
  t.deepEqual(removedMembers(view(4, [ONE, TWO, THREE]), view(5, [ONE, TWO_AGAIN])), [TWO, THREE]);
  t.deepEqual(removedMembers(view(4, [ONE]), view(5, [ONE, TWO])), [], 'an added life removes nobody');
});

test('changes: only boot 0 is a place of a middleware that never ran', (t) => {
  t.true(neverRan({ id: 1, incarnation: '0.x' }));
  t.false(neverRan({ id: 1, incarnation: '1.x' }));
  t.false(neverRan({ id: 1, incarnation: '10.x' }));
});

test('changes: the databases of a view are its replicas, then its joining databases', (t) => {
  t.deepEqual(databasesOf(view(4, [ONE], [2, 1], [5, 3])), [2, 1, 5, 3]);
});

test('changes: removing databases takes them out of the replicas and of joining', (t) => {
  t.deepEqual(nextView(view(4, [ONE], [1, 2], [3]), { type: 'remove-databases', databases: [2, 3] }), view(5, [ONE], [1], []));
});

test('changes: removing databases none of which is in the view changes nothing (null)', (t) => {
  t.is(nextView(view(4, [ONE], [1, 2]), { type: 'remove-databases', databases: [3] }), null);
});

test('changes: no view loses its last replica: removing it changes nothing (null), even with a joining database left', (t) => {
  t.is(nextView(view(4, [ONE], [1], [2]), { type: 'remove-databases', databases: [1] }), null);
  t.is(nextView(view(4, [ONE], [1, 2]), { type: 'remove-databases', databases: [1, 2] }), null);
});

test('changes: a database from outside the view joins; one already in it (replica or joining) changes nothing (null)', (t) => {
  t.deepEqual(nextView(view(4, [ONE], [2]), { type: 'join-database', database: 3 }), view(5, [ONE], [2], [3]));
  t.is(nextView(view(4, [ONE], [2], [3]), { type: 'join-database', database: 3 }), null);
  t.is(nextView(view(4, [ONE], [2, 3]), { type: 'join-database', database: 3 }), null);
});

test('changes: promotion moves joining databases into the replicas; a database not joining is not promoted', (t) => {
  t.deepEqual(nextView(view(4, [ONE], [2], [1, 3]), { type: 'promote', databases: [3, 1] }), view(5, [ONE], [1, 2, 3], []));
  t.deepEqual(nextView(view(4, [ONE], [2], [3]), { type: 'promote', databases: [1, 3] }), view(5, [ONE], [2, 3], []));
  t.is(nextView(view(4, [ONE], [2]), { type: 'promote', databases: [1] }), null);
});
