// The rule on which databases a view may call in sync, one test per clause: a replica must have
// been in sync or have finished its transfer, every replica and joining database must have
// accepted the view, and some database must be left in sync.
import test from 'ava';
import { replicasAllowed } from '../view/rules.js';
import type { View } from '../view/types.js';

function view(epoch: number, replicas: number[], joining: number[] = []): View {
  return { epoch, members: [{ id: 1, incarnation: '1.a' }], replicas, joining };
}

const PREVIOUS = view(4, [1, 2], [3]);

test('rules: a view keeping in-sync databases that all accepted it is allowed', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 2], [3]), new Set(), new Set([1, 2, 3])), []);
});

test('rules: a database that only answered a prepare, not in sync before, may not be a replica', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 2, 4]), new Set(), new Set([1, 2, 4])), [{ rule: 'replica-not-in-sync', database: 4 }]);
});

test('rules: a joining database becomes a replica only once its transfer completed', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 2, 3]), new Set(), new Set([1, 2, 3])), [{ rule: 'replica-not-in-sync', database: 3 }]);
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 2, 3]), new Set([3]), new Set([1, 2, 3])), []);
});

test('rules: a transfer counts only for a database that was joining', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 4]), new Set([4]), new Set([1, 4])), [{ rule: 'replica-not-in-sync', database: 4 }]);
});

test('rules: a replica that did not accept the view is not fenced by it and may not stay', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 2], [3]), new Set(), new Set([1, 3])), [{ rule: 'replica-not-accepted', database: 2 }]);
});

test('rules: a joining database that did not accept the view may not be listed', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [1, 2], [3]), new Set(), new Set([1, 2])), [{ rule: 'joining-not-accepted', database: 3 }]);
});

test('rules: a view with no database in sync is no view', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(5, [], [3]), new Set(), new Set([1, 2, 3])), [{ rule: 'no-replicas' }]);
});

test('rules: the next view is for the next epoch', (t) => {
  t.deepEqual(replicasAllowed(PREVIOUS, view(6, [1, 2], [3]), new Set(), new Set([1, 2, 3])), [{ rule: 'epoch-not-next', previous: 4, next: 6 }]);
});
