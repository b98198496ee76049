// Lock homes under 2PL: every middleware computes the same home for a key, keys spread evenly,
// the answer follows the installed view's member list in its order (not a sorted copy of it),
// and a view without a member homes all of that member's keys at the others.
import test from 'ava';
import { fnv1a32, homeOf } from '../twopl/home.js';

const KEY_COUNT = 10_000;

test('fnv1a32 matches the published FNV-1a 32-bit test vectors, so every machine hashes alike', (t) => {
  t.is(fnv1a32(''), 0x811c9dc5);
  t.is(fnv1a32('a'), 0xe40c292c);
  t.is(fnv1a32('foobar'), 0xbf9cf968);
});

test('homeOf is deterministic: the same key and list always give the same home, one of the listed ids', (t) => {
  const ids = [7, 3, 11];
  for (let index = 0; index < 1000; index++) {
    const key = `key_${index}`;
    const home = homeOf(key, ids);
    t.true(ids.includes(home), `${key} homed at ${home}`);
    t.is(homeOf(key, [...ids]), home);
  }
});

test('homeOf spreads 10,000 keys over 3 ids roughly evenly (each gets 25%..42%)', (t) => {
  const families: Array<(index: number) => string> = [(index) => `k${index}`, (index) => `account_${index}`, (index) => `x${index}y`];
  for (const family of families) {
    const counts = new Map<number, number>([[1, 0], [2, 0], [3, 0]]);
    for (let index = 0; index < KEY_COUNT; index++) {
      const home = homeOf(family(index), [1, 2, 3]);
      counts.set(home, counts.get(home)! + 1);
    }
    for (const [id, count] of counts) {
      const share = count / KEY_COUNT;
      t.true(share >= 0.25 && share <= 0.42, `keys like ${family(0)}: id ${id} got ${(share * 100).toFixed(1)}%`);
    }
  }
});

test('homeOf uses the list order: permuting the list permutes the homes by position', (t) => {
  const listed = [1, 2, 3];
  const reordered = [3, 1, 2];
  let moved = 0;
  for (let index = 0; index < 300; index++) {
    const key = `k${index}`;
    const position = listed.indexOf(homeOf(key, listed));
    t.is(homeOf(key, reordered), reordered[position]);
    if (homeOf(key, reordered) !== homeOf(key, listed)) moved++;
  }
  t.true(moved > 0, 'the order of the list never mattered');
});

test('homeOf over a view without a member homes every key at a remaining member, the keys of the one gone included', (t) => {
  const before = [1, 2, 3];
  const after = [1, 2];
  let moved = 0;
  for (let index = 0; index < 1000; index++) {
    const key = `k${index}`;
    t.true(after.includes(homeOf(key, after)));
    if (homeOf(key, before) === 3) moved++;
  }
  t.true(moved > 0, 'no key was homed at the member that left');
});

test('homeOf with an empty middleware list is a bug and throws', (t) => {
  t.throws(() => homeOf('x', []), { message: /at least one middleware/ });
});
