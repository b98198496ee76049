// database/storage.ts over a real LevelDB in a temporary directory: APPLY under the Thomas
// rule (convergence, idempotence, whole batches), reads of missing keys and tombstones, and
// scan paging.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Storage, isLockedError } from '../database/storage.js';
import { TEST_FROM } from './helpers/members.js';

const temporaryRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-storage-'));
let nextDirNumber = 0;

async function openFresh(): Promise<Storage> {
  nextDirNumber += 1;
  return Storage.open(path.join(temporaryRoot, `db${nextDirNumber}`));
}

test.after.always(() => {
  fs.rmSync(temporaryRoot, { recursive: true, force: true });
});

test('two APPLYs of the same keys converge in both arrival orders', async (t) => {
  const first = { ts: [4, 1] as const, writes: [{ key: 'x', value: 1 }, { key: 'y', value: 1 }] };
  const second = { ts: [4, 2] as const, writes: [{ key: 'x', value: 2 }, { key: 'y' }] };
  const inOrder = await openFresh();
  const reversed = await openFresh();
  try {
    t.is(await inOrder.apply(first.ts, first.writes, TEST_FROM), 2);
    t.is(await inOrder.apply(second.ts, second.writes, TEST_FROM), 2);
    t.is(await reversed.apply(second.ts, second.writes, TEST_FROM), 2);
    t.is(await reversed.apply(first.ts, first.writes, TEST_FROM), 0, 'the older APPLY arrives late and writes nothing');
    const expected = [{ version: [4, 2], value: 2 }, { version: [4, 2] }];
    t.deepEqual(await inOrder.read(['x', 'y']), expected);
    t.deepEqual(await reversed.read(['x', 'y']), expected);
    t.deepEqual(await reversed.scan(undefined, 100), await inOrder.scan(undefined, 100));
  } finally {
    await inOrder.close();
    await reversed.close();
  }
});

test('applying the same APPLY twice changes nothing the second time', async (t) => {
  const storage = await openFresh();
  try {
    const writes = [{ key: 'a', value: 10 }, { key: 'b', value: 20 }, { key: 'c' }];
    t.is(await storage.apply([7, 3], writes, TEST_FROM), 3);
    const before = await storage.scan(undefined, 100);
    t.is(await storage.apply([7, 3], writes, TEST_FROM), 0);
    t.deepEqual(await storage.scan(undefined, 100), before);
  } finally {
    await storage.close();
  }
});

test('a batch of several keys is applied whole: every key gets version ts', async (t) => {
  const storage = await openFresh();
  try {
    const keys = Array.from({ length: 50 }, (_, index) => `k${index}`);
    t.is(await storage.apply([12, 2], keys.map((key, index) => ({ key, value: index })), TEST_FROM), keys.length);
    const entries = await storage.read(keys);
    t.deepEqual(entries.map((entry) => entry.version), keys.map(() => [12, 2]));
    t.deepEqual(entries.map((entry) => entry.value), keys.map((_, index) => index));
    t.deepEqual(await storage.versions(keys), keys.map(() => [12, 2]));
  } finally {
    await storage.close();
  }
});

test('a missing key reads as version zero without a value; a tombstone keeps its version', async (t) => {
  const storage = await openFresh();
  try {
    await storage.apply([1, 1], [{ key: 'gone', value: 5 }], TEST_FROM);
    await storage.apply([2, 1], [{ key: 'gone' }], TEST_FROM);
    const [missing, gone] = await storage.read(['never', 'gone']);
    t.deepEqual(missing, { version: [0, 0] });
    t.false(Object.hasOwn(missing!, 'value'));
    t.deepEqual(gone, { version: [2, 1] });
    t.false(Object.hasOwn(gone!, 'value'));
    t.deepEqual(await storage.versions(['never', 'gone']), [[0, 0], [2, 1]]);
    t.deepEqual(await storage.read([]), []);
  } finally {
    await storage.close();
  }
});

test('scan pages through every key in key order, tombstones included', async (t) => {
  const storage = await openFresh();
  try {
    const keys = ['b', 'a', 'd', 'c', 'e'];
    await storage.apply([3, 1], keys.map((key) => ({ key, value: key.toUpperCase() })), TEST_FROM);
    await storage.apply([4, 1], [{ key: 'c' }], TEST_FROM);
    const seen: unknown[] = [];
    let after: string | undefined;
    let pageCount = 0;
    while (pageCount < 10) {
      const page = await storage.scan(after, 2);
      pageCount += 1;
      t.true(page.entries.length <= 2);
      seen.push(...page.entries);
      if (page.done) break;
      after = page.entries.at(-1)!.key;
    }
    t.is(pageCount, 3, 'five keys in pages of two');
    t.deepEqual(seen, [
      { key: 'a', version: [3, 1], value: 'A' },
      { key: 'b', version: [3, 1], value: 'B' },
      { key: 'c', version: [4, 1] },
      { key: 'd', version: [3, 1], value: 'D' },
      { key: 'e', version: [3, 1], value: 'E' },
    ]);
    t.deepEqual(await storage.scan('e', 2), { entries: [], done: true });
    t.deepEqual((await storage.scan('b', 5)).entries.map((entry) => entry.key), ['c', 'd', 'e']);
    t.true((await storage.scan('b', 3)).done, 'exactly the rest fits in the page');
  } finally {
    await storage.close();
  }
});

test('a directory opened by one storage is refused to a second, and the failure is recognisable', async (t) => {
  const dir = path.join(temporaryRoot, 'locked');
  const first = await Storage.open(dir);
  try {
    const error = await t.throwsAsync(Storage.open(dir));
    t.true(isLockedError(error));
  } finally {
    await first.close();
  }
  const reopened = await Storage.open(dir);
  await reopened.close();
});

test('group commit: a group of APPLYs in one batch ends exactly as applying them one by one', async (t) => {
  const applies = [
    { ts: [5, 1] as const, writes: [{ key: 'g', value: 5 }, { key: 'h', value: 5 }] },
    { ts: [3, 2] as const, writes: [{ key: 'g', value: 3 }] },
    { ts: [7, 3] as const, writes: [{ key: 'h' }] },
    { ts: [5, 1] as const, writes: [{ key: 'g', value: 5 }, { key: 'h', value: 5 }] },
    { ts: [9, 1] as const, writes: [{ key: 'i', value: 9 }] },
  ];
  const grouped = await openFresh();
  const oneByOne = await openFresh();
  try {
    const writtenGrouped = await grouped.applyGroup(applies.map((apply) => ({ ...apply, from: TEST_FROM })));
    const writtenOneByOne: number[] = [];
    for (const apply of applies) writtenOneByOne.push(await oneByOne.apply(apply.ts, apply.writes, TEST_FROM));
    t.deepEqual(writtenGrouped, writtenOneByOne);
    t.deepEqual(writtenGrouped, [2, 0, 1, 0, 1], 'the older write of g and the repeated APPLY are skipped inside the group too');
    t.deepEqual(await grouped.read(['g', 'h', 'i']), await oneByOne.read(['g', 'h', 'i']));
    t.deepEqual(await grouped.read(['h']), [{ version: [7, 3] }]);
  } finally {
    await grouped.close();
    await oneByOne.close();
  }
});
