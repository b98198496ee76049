// The database's read rules (database/read-rules.ts) without storage or timers: the writes of
// admitted APPLYs are kept until their group is written, a version re-read waits for them, a
// read sees the newest of them over what is stored, and an at-least read knows when its
// versions are there. One test per rule.
import test from 'ava';
import { AdmittedWrites, atLeastReached, entryOf } from '../database/read-rules.js';
import type { Entry } from '../protocol/schemas.js';
import type { Timestamp } from '../timestamp/timestamp.js';

test('an APPLY\'s admitted writes are kept until they are removed, and removing them twice is a broken invariant', (t) => {
  const admitted = new AdmittedWrites();
  const first = admitted.add([3, 1], [{ key: 'a', value: 1 }, { key: 'b' }]);
  const second = admitted.add([4, 1], [{ key: 'a', value: 2 }]);
  t.is(admitted.keyCount, 2);
  t.deepEqual(first, [{ ts: [3, 1], write: { key: 'a', value: 1 } }, { ts: [3, 1], write: { key: 'b' } }]);
  admitted.remove(first);
  t.is(admitted.keyCount, 1, 'b is no longer written by an admitted APPLY; a still is');
  t.is(admitted.newest('a'), second[0]);
  t.is(admitted.newest('b'), undefined);
  admitted.remove(second);
  t.is(admitted.keyCount, 0);
  t.throws(() => admitted.remove(second), { message: /admitted write of a was removed twice/ });
  // A repeated APPLY admitted twice is two admissions: removing one leaves the other.
  const once = admitted.add([5, 1], [{ key: 'c', value: 5 }]);
  const again = admitted.add([5, 1], [{ key: 'c', value: 5 }]);
  admitted.remove(once);
  t.is(admitted.newest('c'), again[0]);
});

test('a version re-read waits only when one of its keys is written by an admitted APPLY', (t) => {
  const admitted = new AdmittedWrites();
  t.false(admitted.versionReadMustWait(['a']), 'nothing admitted');
  const handle = admitted.add([3, 1], [{ key: 'a', value: 1 }]);
  t.true(admitted.versionReadMustWait(['a']));
  t.true(admitted.versionReadMustWait(['x', 'a']), 'one pending key among others is enough');
  t.false(admitted.versionReadMustWait(['x', 'y']), 'other keys do not wait');
  t.false(admitted.versionReadMustWait([]), 'a read of no key (ping, status, scan) never waits');
  admitted.remove(handle);
  t.false(admitted.versionReadMustWait(['a']), 'once its group is written the re-read reads storage at once');
});

test('a read sees an admitted write over an older stored entry, and never over a newer one', (t) => {
  const admitted = new AdmittedWrites();
  const stored: Entry[] = [{ version: [2, 1], value: 'stored' }, { version: [9, 1], value: 'newer' }, { version: [0, 0] }];
  t.is(admitted.committedEntries(['a', 'b', 'c'], stored), stored, 'nothing admitted: the stored entries themselves');
  admitted.add([5, 1], [{ key: 'a', value: 'admitted' }, { key: 'b', value: 'late' }, { key: 'c' }]);
  t.deepEqual(admitted.committedEntries(['a', 'b', 'c', 'x'], [...stored, { version: [0, 0] }]), [
    { version: [5, 1], value: 'admitted' },
    { version: [9, 1], value: 'newer' },
    { version: [5, 1] },
    { version: [0, 0] },
  ], 'a: the admitted write; b: the APPLY arrived late, the stored entry stays; c: an admitted delete is a tombstone; x: nothing admitted');
  t.deepEqual(stored[0], { version: [2, 1], value: 'stored' }, 'the stored entries given are left alone');
  t.throws(() => admitted.committedEntries(['a', 'b'], stored), { message: /3 entries for 2 keys/ });
});

test('of several admitted writes of a key, a read sees the one with the largest timestamp, whatever the admission order', (t) => {
  const admitted = new AdmittedWrites();
  admitted.add([4, 2], [{ key: 'k', value: 'middle' }]);
  admitted.add([7, 1], [{ key: 'k', value: 'newest' }]);
  admitted.add([2, 3], [{ key: 'k', value: 'oldest' }]);
  t.deepEqual(entryOf(admitted.newest('k')!), { version: [7, 1], value: 'newest' });
  t.deepEqual(admitted.committedEntries(['k'], [{ version: [1, 1], value: 'stored' }]), [{ version: [7, 1], value: 'newest' }]);
});

test('an at-least read is answered once every version it names is reached or passed, and not before', (t) => {
  const keys = ['a', 'b', 'c'];
  const entries: Entry[] = [{ version: [5, 1], value: 1 }, { version: [3, 2] }, { version: [0, 0] }];
  t.true(atLeastReached(keys, entries, []), 'no version to wait for');
  t.true(atLeastReached(keys, entries, [['a', [5, 1]], ['b', [3, 2]]]), 'exactly the versions named');
  t.true(atLeastReached(keys, entries, [['a', [4, 9]]]), 'a newer version than the one named');
  t.false(atLeastReached(keys, entries, [['a', [5, 1]], ['b', [3, 3]]]), 'one version not there yet is enough to wait');
  t.false(atLeastReached(keys, entries, [['c', [1, 1]]]), 'a key never written');
  t.false(atLeastReached(keys, entries, [['x', [1, 1]]]), 'a key the read does not name counts as never written');
  t.throws(() => atLeastReached(keys, entries.slice(1), []), { message: /2 entries for 3 keys/ });

  // A large read: the same answers when keys are looked up in a map rather than searched.
  const manyKeys = Array.from({ length: 2000 }, (_, index) => `k${index}`);
  const manyEntries: Entry[] = manyKeys.map((_, index) => ({ version: [index, 1] }));
  const allReached: Array<[string, Timestamp]> = manyKeys.map((key, index) => [key, [index, 1]]);
  t.true(atLeastReached(manyKeys, manyEntries, allReached));
  t.false(atLeastReached(manyKeys, manyEntries, [...allReached, ['k1999', [1999, 2]]]));
  t.false(atLeastReached(manyKeys, manyEntries, [...allReached, ['missing', [1, 1]]]));
});
