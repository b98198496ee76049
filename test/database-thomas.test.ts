// The Thomas write rule as a pure function (database/thomas.ts), without LevelDB: a write
// reaches storage only over a strictly older version, so APPLYs converge in any order and
// a repeated APPLY changes nothing.
import test from 'ava';
import type { Entry } from '../protocol/schemas.js';
import type { Write } from '../transaction/types.js';
import { groupKeys, planApply, planGroup, shouldWrite, writtenKeys, type GroupApply } from '../database/thomas.js';
import { TIMESTAMP_ZERO, isBefore, type Timestamp } from '../timestamp/timestamp.js';
import { Random } from './simulation/random.js';

/** A toy store: applies planned puts to a map, as storage does to LevelDB. */
function applyTo(store: Map<string, Entry>, ts: Timestamp, writes: readonly Write[]): number {
  const versions = new Map(writtenKeys(writes).flatMap((key) => {
    const entry = store.get(key);
    return entry ? [[key, entry.version] as const] : [];
  }));
  const puts = planApply(ts, writes, versions);
  for (const { key, entry } of puts) store.set(key, entry);
  return puts.length;
}

test('a write newer than the stored version is applied', (t) => {
  t.true(shouldWrite([3, 1], [4, 1]));
  t.true(shouldWrite([3, 1], [3, 2]), 'equal counters are ordered by middleware id');
  t.true(shouldWrite([0, 0], [1, 1]), 'a key never written has version zero');
  t.deepEqual(planApply([5, 2], [{ key: 'x', value: 7 }], new Map([['x', [4, 9] as const]])), [
    { key: 'x', entry: { version: [5, 2], value: 7 } },
  ]);
});

test('a write older than the stored version is skipped', (t) => {
  t.false(shouldWrite([4, 1], [3, 2]));
  t.false(shouldWrite([3, 2], [3, 1]));
  t.deepEqual(planApply([3, 1], [{ key: 'x', value: 7 }], new Map([['x', [4, 1] as const]])), []);
});

test('a write equal to the stored version is skipped, so a repeated APPLY is a no-op', (t) => {
  t.false(shouldWrite([3, 1], [3, 1]));
  const store = new Map<string, Entry>();
  const writes: Write[] = [{ key: 'a', value: 1 }, { key: 'b', value: 2 }];
  t.is(applyTo(store, [3, 1], writes), 2);
  const afterFirst = structuredClone([...store]);
  t.is(applyTo(store, [3, 1], writes), 0);
  t.deepEqual([...store], afterFirst);
});

test('two APPLYs of one key converge to the larger timestamp in both arrival orders', (t) => {
  const older = { ts: [2, 3] as const, writes: [{ key: 'k', value: 'older' }] };
  const newer = { ts: [2, 4] as const, writes: [{ key: 'k', value: 'newer' }] };
  const inOrder = new Map<string, Entry>();
  applyTo(inOrder, older.ts, older.writes);
  applyTo(inOrder, newer.ts, newer.writes);
  const reversed = new Map<string, Entry>();
  applyTo(reversed, newer.ts, newer.writes);
  applyTo(reversed, older.ts, older.writes);
  t.deepEqual(inOrder.get('k'), { version: [2, 4], value: 'newer' });
  t.deepEqual(reversed.get('k'), inOrder.get('k'));
});

test('tombstones obey the same rule as values', (t) => {
  // A delete is stored as a version without a value.
  t.deepEqual(planApply([6, 1], [{ key: 'k' }], new Map([['k', [5, 1] as const]])), [{ key: 'k', entry: { version: [6, 1] } }]);
  // An older delete does not remove a newer value, in either arrival order.
  const deleteFirst = new Map<string, Entry>();
  applyTo(deleteFirst, [5, 1], [{ key: 'k' }]);
  applyTo(deleteFirst, [7, 2], [{ key: 'k', value: 1 }]);
  const valueFirst = new Map<string, Entry>();
  applyTo(valueFirst, [7, 2], [{ key: 'k', value: 1 }]);
  applyTo(valueFirst, [5, 1], [{ key: 'k' }]);
  t.deepEqual(deleteFirst.get('k'), { version: [7, 2], value: 1 });
  t.deepEqual(valueFirst.get('k'), deleteFirst.get('k'));
  // A newer delete hides an older value; a repeat of it does nothing.
  t.is(applyTo(valueFirst, [8, 1], [{ key: 'k' }]), 1);
  t.deepEqual(valueFirst.get('k'), { version: [8, 1] });
  t.is(applyTo(valueFirst, [8, 1], [{ key: 'k' }]), 0);
});

test('each key of an APPLY is decided on its own version', (t) => {
  const stored = new Map<string, Timestamp>([['old', [1, 1]], ['new', [9, 1]]]);
  const puts = planApply([5, 1], [{ key: 'old', value: 1 }, { key: 'new', value: 2 }, { key: 'missing', value: 3 }], stored);
  t.deepEqual(puts.map((put) => put.key), ['old', 'missing']);
});

test('a key written twice in one APPLY keeps the later write', (t) => {
  t.deepEqual(writtenKeys([{ key: 'a', value: 1 }, { key: 'b' }, { key: 'a', value: 2 }]), ['a', 'b']);
  t.deepEqual(planApply([1, 1], [{ key: 'a', value: 1 }, { key: 'a' }], new Map()), [{ key: 'a', entry: { version: [1, 1] } }]);
});

test('the keys of a group are each named once, in the order the group first writes them', (t) => {
  t.deepEqual(groupKeys([
    { ts: [1, 1], writes: [{ key: 'b', value: 1 }, { key: 'a' }] },
    { ts: [2, 1], writes: [] },
    { ts: [3, 1], writes: [{ key: 'c', value: 3 }, { key: 'b', value: 3 }, { key: 'c' }] },
  ]), ['b', 'a', 'c']);
  t.deepEqual(groupKeys([]), []);
});

test('a group plan is exactly the result of applying its APPLYs one after another', (t) => {
  // Random groups over few keys and few timestamps, so that older, newer, repeated and
  // tombstone writes of one key meet inside a group and against what is stored.
  for (let seed = 1; seed <= 200; seed++) {
    const random = new Random(seed);
    const keys = ['a', 'b', 'c', 'd'];
    const randomApply = (): GroupApply => ({
      ts: [random.int(1, 6), random.int(1, 3)],
      writes: random.sample(keys, random.int(0, 3)).map((key) => (random.chance(0.2) ? { key } : { key, value: random.int(0, 99) })),
    });
    const stored = new Map<string, Entry>();
    for (let index = random.int(0, 4); index > 0; index--) {
      const apply = randomApply();
      applyTo(stored, apply.ts, apply.writes);
    }
    const group = Array.from({ length: random.int(1, 6) }, randomApply);
    // A repeated APPLY inside the group, now and then.
    if (random.chance(0.3)) group.push(random.pick(group));

    const oneByOne = new Map(stored);
    const writtenOneByOne = group.map((apply) => applyTo(oneByOne, apply.ts, apply.writes));
    const storedVersions = new Map(groupKeys(group).flatMap((key) => {
      const entry = stored.get(key);
      return entry ? [[key, entry.version] as const] : [];
    }));
    const plan = planGroup(group, storedVersions);
    const grouped = new Map(stored);
    for (const [key, entry] of plan.finalEntries) grouped.set(key, entry);

    t.deepEqual(plan.written, writtenOneByOne, `seed ${seed}: each APPLY's count`);
    t.deepEqual(new Map([...grouped].sort()), new Map([...oneByOne].sort()), `seed ${seed}: the state after the group`);
    for (const [key, entry] of plan.finalEntries) t.true(isBefore(stored.get(key)?.version ?? TIMESTAMP_ZERO, entry.version), `seed ${seed}: ${key} is in the batch only if the group changes it`);
  }
  // The plan works on a copy: the caller's map is what storage holds until the batch is written.
  const storedVersions = new Map<string, Timestamp>([['k', [1, 1]]]);
  planGroup([{ ts: [2, 1], writes: [{ key: 'k', value: 2 }] }], storedVersions);
  t.deepEqual(storedVersions.get('k'), [1, 1], 'the stored versions given are left alone');
});
