// The database's queue of APPLYs: groups form from what arrives while one is written, and
// under a high arrival rate a group waits a moment for more before it is written (the
// linger); at a low rate it does not. Time is the test's: a fake clock and a sleep the test
// releases, so nothing here depends on the machine's speed.
import test from 'ava';
import { GROUP_LINGER_ARRIVALS_MIN, GROUP_LINGER_MS, RequestQueue, type QueueClock } from '../database/request-queue.js';
import type { Timestamp } from '../timestamp/timestamp.js';
import { TEST_FROM } from './helpers/members.js';

interface Harness {
  queue: RequestQueue;
  /** Sizes of the groups written, in order. */
  groups: number[];
  /** Lingers in progress: release one to let its group be written. */
  sleeping: Array<() => void>;
  advance(ms: number): void;
}

function harness(): Harness {
  let nowMs = 0;
  const groups: number[] = [];
  const sleeping: Array<() => void> = [];
  const clock: QueueClock = {
    now: () => nowMs,
    sleep: () => new Promise<void>((resolve) => sleeping.push(resolve)),
    lingerMs: GROUP_LINGER_MS,
  };
  const queue = new RequestQueue('DATABASE9', async (applies) => {
    groups.push(applies.length);
    return applies.map(() => ({ written: 1 }));
  }, clock);
  return { queue, groups, sleeping, advance: (ms) => { nowMs += ms; } };
}

let tsNext = 1;
function apply(queue: RequestQueue, key = `k${tsNext}`): Promise<{ written: number }> {
  const ts: Timestamp = [tsNext++, 1];
  return queue.apply({ ts, writes: [{ key, value: 'v' }], from: TEST_FROM });
}

/** 100 APPLYs `gapMs` apart, each group let through at once: afterwards the queue sees a high arrival rate. */
async function underLoad({ queue, sleeping, advance }: Pick<Harness, 'queue' | 'sleeping' | 'advance'>, gapMs: number): Promise<void> {
  const applies: Promise<unknown>[] = [];
  for (let index = 0; index < 100; index++) {
    advance(gapMs);
    applies.push(apply(queue));
    await settle();
    while (sleeping.length > 0) sleeping.shift()!();
  }
  await Promise.all(applies);
}

/** Lets queued promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test('at a low arrival rate every APPLY is written at once, in a group of its own', async (t) => {
  const { queue, groups, sleeping, advance } = harness();
  for (let index = 0; index < 20; index++) {
    advance(50);
    await apply(queue);
  }
  t.deepEqual(groups, Array(20).fill(1));
  t.is(sleeping.length, 0);
  t.is(queue.lingers, 0);
});

test('at a high arrival rate a group waits, and what arrives meanwhile joins it', async (t) => {
  const { queue, groups, sleeping, advance } = harness();
  // Arrivals every 0.1 ms: far more than GROUP_LINGER_ARRIVALS_MIN per linger.
  t.true(GROUP_LINGER_MS / 0.1 > GROUP_LINGER_ARRIVALS_MIN);
  await underLoad({ queue, sleeping, advance }, 0.1);
  const lingersBefore = queue.lingers;
  groups.length = 0;

  advance(0.1);
  const first = apply(queue);
  await settle();
  t.is(sleeping.length, 1, 'the new group waits');
  const joined: Promise<unknown>[] = [];
  for (let index = 0; index < 4; index++) {
    advance(0.1);
    joined.push(apply(queue));
  }
  t.deepEqual(groups, [], 'nothing is written while the group waits');
  sleeping.shift()!();
  await Promise.all([first, ...joined]);
  t.deepEqual(groups, [5]);
  t.is(queue.lingers, lingersBefore + 1);
});

test('a read of a key an admitted APPLY writes waits for it, also through the linger', async (t) => {
  const { queue, sleeping, advance } = harness();
  await underLoad({ queue, sleeping, advance }, 0.01);
  advance(0.01);
  const written = apply(queue, 'x');
  await settle();
  t.is(sleeping.length, 1);
  let readDone = false;
  const read = queue.read(async () => { readDone = true; }, ['x']);
  const other = queue.read(async () => 'other', ['y']);
  t.is(await other, 'other', 'a read of another key does not wait');
  await settle();
  t.false(readDone);
  sleeping.shift()!();
  await written;
  await read;
  t.true(readDone);
});

test('stop refuses what waits and lets a lingering group end', async (t) => {
  const { queue, sleeping, advance } = harness();
  await underLoad({ queue, sleeping, advance }, 0.01);
  const lingering = apply(queue);
  await settle();
  t.is(sleeping.length, 1);
  const stopped = queue.stop();
  sleeping.shift()!();
  await stopped;
  await t.throwsAsync(lingering, { message: /shutting down/ });
  await t.throwsAsync(apply(queue), { message: /shutting down/ });
});
