// The simulator's replica (test/simulation/replica.ts), which runs the production read rules
// and Thomas rule over an in-memory store in virtual time: what a read sees while an APPLY is
// being written, how long the at-least read and the version re-read wait, convergence whatever
// the order and grouping of APPLYs, idempotence, and a crash. Each test of a rule also builds a
// replica that breaks that rule on purpose and shows that the same check catches it.
import test from 'ava';
import type { GroupApply } from '../database/thomas.js';
import type { Entry } from '../protocol/schemas.js';
import { compareTimestamps, isBefore, type Timestamp } from '../timestamp/timestamp.js';
import { EventQueue } from './simulation/event-queue.js';
import { Random } from './simulation/random.js';
import { SimulatedReplica, type ReplicaRule, type SimulationScheduler } from './simulation/replica.js';

/** Virtual time: events run in time order, then in the order they were scheduled. */
class VirtualTime implements SimulationScheduler {
  private readonly events = new EventQueue();
  private sequence = 0;
  nowMs = 0;

  schedule(delayMs: number, run: () => void): void {
    this.events.push({ atMs: this.nowMs + delayMs, sequence: this.sequence++, run });
  }

  /** Runs every event due up to `atMs`, then sets the time to `atMs`. */
  runUntil(atMs: number): void {
    for (;;) {
      const event = this.events.pop();
      if (!event) break;
      if (event.atMs > atMs) {
        this.events.push(event);
        break;
      }
      this.nowMs = event.atMs;
      event.run();
    }
    this.nowMs = atMs;
  }

  /** Runs events until none is left. */
  runAll(): void {
    for (let event = this.events.pop(); event; event = this.events.pop()) {
      this.nowMs = event.atMs;
      event.run();
    }
  }
}

/** Every group's write takes exactly this long, so that the tests can name the moment it is stored. */
const SYNC_DELAY_MS = 10;

function replicaOf(time: VirtualTime, brokenRule?: ReplicaRule, seed = 1): SimulatedReplica {
  return new SimulatedReplica(1, time, new Random(seed), { syncDelayMsMax: SYNC_DELAY_MS, brokenRule });
}

/** A replica whose groups take exactly SYNC_DELAY_MS: its randomness always draws the largest delay. */
function fixedDelayReplica(time: VirtualTime, brokenRule?: ReplicaRule): SimulatedReplica {
  return new SimulatedReplica(1, time, { int: (_min, max) => max }, { syncDelayMsMax: SYNC_DELAY_MS, brokenRule });
}

function applyNow(replica: SimulatedReplica, ts: Timestamp, writes: GroupApply['writes'], written: number[][] = []): void {
  replica.apply([{ ts, writes }], (counts) => written.push(counts));
}

interface Answer<T> {
  atMs: number;
  value: T;
}

function readNow(time: VirtualTime, replica: SimulatedReplica, keys: string[], atLeast: Array<[string, Timestamp]> = [], waitMs = 0): Array<Answer<Entry[]>> {
  const answers: Array<Answer<Entry[]>> = [];
  replica.read(keys, atLeast, waitMs, (entries) => answers.push({ atMs: time.nowMs, value: entries }));
  return answers;
}

function versionsNow(time: VirtualTime, replica: SimulatedReplica, keys: string[]): Array<Answer<Timestamp[]>> {
  const answers: Array<Answer<Timestamp[]>> = [];
  replica.versions(keys, (versions) => answers.push({ atMs: time.nowMs, value: versions }));
  return answers;
}

/** What the overlay scenario observes: the reads made while a newer APPLY of `a` is being written, and after an older one arrives late. */
function readsAroundAnApply(brokenRule?: ReplicaRule): unknown {
  const time = new VirtualTime();
  const replica = fixedDelayReplica(time, brokenRule);
  applyNow(replica, [1, 1], [{ key: 'a', value: 'old' }]);
  time.runAll();
  const start = time.nowMs;
  applyNow(replica, [2, 1], [{ key: 'a', value: 'new' }]);
  const duringWrite = readNow(time, replica, ['other', 'a']);
  time.runAll();
  applyNow(replica, [1, 2], [{ key: 'a', value: 'older' }]);
  const afterLateOlder = readNow(time, replica, ['a']);
  time.runAll();
  return { duringWrite: duringWrite.map((answer) => ({ ...answer, atMs: answer.atMs - start })), afterLateOlder: afterLateOlder.map((answer) => answer.value) };
}

test('a read of a key an admitted APPLY writes sees that write at once, before the group is stored', (t) => {
  const expected = {
    duringWrite: [{ atMs: 0, value: [{ version: [0, 0] }, { version: [2, 1], value: 'new' }] }],
    afterLateOlder: [[{ version: [2, 1], value: 'new' }]],
  };
  t.deepEqual(readsAroundAnApply(), expected, 'and an older APPLY admitted late changes nothing a read sees');
  t.notDeepEqual(readsAroundAnApply('overlay'), expected, 'a replica without the overlay is caught');
});

/** What the at-least scenario observes: when each read is answered and with what. */
function atLeastReads(brokenRule?: ReplicaRule): unknown {
  const time = new VirtualTime();
  const replica = fixedDelayReplica(time, brokenRule);
  applyNow(replica, [1, 1], [{ key: 'awaited', value: 'old' }]);
  time.runAll();
  time.nowMs = 100;
  // Waits up to 1000 ms for 5.1, which an APPLY admitted at 120 brings.
  const arrives = readNow(time, replica, ['awaited'], [['awaited', [5, 1]]], 1000);
  const plain = readNow(time, replica, ['awaited']);
  time.runUntil(120);
  applyNow(replica, [5, 1], [{ key: 'awaited', value: 'new' }]);
  time.runUntil(120 + SYNC_DELAY_MS);
  // A version that never comes (its writer aborted): after 50 ms, what there is.
  const neverComes = readNow(time, replica, ['awaited'], [['awaited', [9, 2]]], 50);
  const passed = readNow(time, replica, ['awaited'], [['awaited', [1, 1]]], 1000);
  time.runAll();
  return { arrives, plain, neverComes, passed };
}

test('an at-least read waits until an admitted APPLY brings its version, or answers with what is there when its wait runs out', (t) => {
  const expected = {
    arrives: [{ atMs: 120, value: [{ version: [5, 1], value: 'new' }] }],
    plain: [{ atMs: 100, value: [{ version: [1, 1], value: 'old' }] }],
    neverComes: [{ atMs: 130 + 50, value: [{ version: [5, 1], value: 'new' }] }],
    passed: [{ atMs: 130, value: [{ version: [5, 1], value: 'new' }] }],
  };
  t.deepEqual(atLeastReads(), expected, 'answered at the APPLY\'s admission, not at its sync; a passed version is no reason to wait');
  t.notDeepEqual(atLeastReads('at-least-wait'), expected, 'a replica that does not wait is caught');
});

/** What the version re-read scenario observes: re-reads while one group is written and the next one forms. */
function versionReads(brokenRule?: ReplicaRule): unknown {
  const time = new VirtualTime();
  const replica = fixedDelayReplica(time, brokenRule);
  applyNow(replica, [1, 1], [{ key: 'k', value: 'old' }]);
  time.runAll();
  const start = time.nowMs;
  applyNow(replica, [2, 1], [{ key: 'k', value: 'new' }]);
  const ofPendingKey = versionsNow(time, replica, ['k']);
  const ofOtherKey = versionsNow(time, replica, ['other']);
  time.runUntil(start + 5);
  // Admitted while the first group is written: the next group. A re-read now waits for both.
  applyNow(replica, [3, 1], [{ key: 'k', value: 'newer' }]);
  const behindTwoGroups = versionsNow(time, replica, ['k']);
  time.runAll();
  const relative = (answers: Array<Answer<Timestamp[]>>) => answers.map((answer) => ({ ...answer, atMs: answer.atMs - start }));
  return { ofPendingKey: relative(ofPendingKey), ofOtherKey: relative(ofOtherKey), behindTwoGroups: relative(behindTwoGroups), groups: replica.groupsWritten };
}

test('a version re-read of a key an admitted APPLY writes waits for the groups admitted so far; of other keys it does not', (t) => {
  const expected = {
    ofPendingKey: [{ atMs: SYNC_DELAY_MS, value: [[2, 1]] }],
    ofOtherKey: [{ atMs: 0, value: [[0, 0]] }],
    behindTwoGroups: [{ atMs: 2 * SYNC_DELAY_MS, value: [[3, 1]] }],
    groups: 3,
  };
  t.deepEqual(versionReads(), expected);
  t.notDeepEqual(versionReads('version-wait'), expected, 'a replica whose re-read does not wait is caught');
});

/** Random APPLYs over few keys and timestamps, so that they meet on keys; some repeated, some deletes. */
function randomApplies(random: Random): GroupApply[] {
  const keys = ['a', 'b', 'c', 'd', 'e'];
  const applies: GroupApply[] = [];
  for (let index = random.int(5, 25); index > 0; index--) {
    if (applies.length > 0 && random.chance(0.15)) {
      applies.push(random.pick(applies));
      continue;
    }
    // Distinct timestamps, as committed transactions have.
    const ts: Timestamp = [applies.length + random.int(0, 3) * 100, random.int(1, 3)];
    applies.push({ ts, writes: random.sample(keys, random.int(1, 3)).map((key) => (random.chance(0.2) ? { key } : { key, value: `${ts[0]}.${ts[1]}` })) });
  }
  return applies;
}

/** Gives `applies` to `replica` in random batches at random moments, and runs until everything is stored. Returns how many batches. */
function feed(replica: SimulatedReplica, time: VirtualTime, random: Random, applies: readonly GroupApply[]): number {
  let next = 0;
  let batches = 0;
  while (next < applies.length) {
    const batch = applies.slice(next, next + random.int(1, 3));
    next += batch.length;
    batches += 1;
    time.schedule(random.int(0, 8), () => replica.apply(batch, () => {}));
    time.runUntil(time.nowMs + random.int(0, 4));
  }
  time.runAll();
  return batches;
}

function sortedStore(replica: SimulatedReplica): Array<[string, Entry]> {
  return [...replica.stored()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The seeds at which two replicas given the same APPLYs in different orders, batches and groups do not end as the largest timestamps say. */
function divergentSeeds(brokenRule?: ReplicaRule): { divergent: number[]; groups: number; applyCalls: number } {
  const divergent: number[] = [];
  let groups = 0;
  let applyCalls = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const random = new Random(seed);
    const applies = randomApplies(random);
    // What applying them in timestamp order leaves: each key's largest-timestamp write.
    const expected = new Map<string, Entry>();
    for (const { ts, writes } of applies) {
      for (const write of writes) {
        const current = expected.get(write.key);
        if (current && !isBefore(current.version, ts)) continue;
        expected.set(write.key, write.value === undefined ? { version: [ts[0], ts[1]] } : { version: [ts[0], ts[1]], value: write.value });
      }
    }
    const stores = [applies, random.sample(applies, applies.length)].map((order, index) => {
      const time = new VirtualTime();
      const replica = replicaOf(time, brokenRule, seed * 10 + index);
      applyCalls += feed(replica, time, random, order);
      groups += replica.groupsWritten;
      return sortedStore(replica);
    });
    const want = [...expected].sort(([a], [b]) => (a < b ? -1 : 1));
    if (JSON.stringify(stores[0]) !== JSON.stringify(want) || JSON.stringify(stores[1]) !== JSON.stringify(want)) divergent.push(seed);
  }
  return { divergent, groups, applyCalls };
}

test('two replicas given the same APPLYs in different orders and groupings end identical, with each key\'s largest-timestamp write', (t) => {
  const { divergent, groups, applyCalls } = divergentSeeds();
  t.deepEqual(divergent, []);
  t.true(groups < applyCalls, `APPLYs were grouped (${groups} groups for ${applyCalls} apply calls)`);
  t.true(divergentSeeds('thomas').divergent.length > 0, 'a replica without the Thomas rule is caught');
});

/** What the idempotence scenario observes: written counts and the store after an APPLY is repeated in later groups and inside one group. */
function repeatedApply(brokenRule?: ReplicaRule): unknown {
  const time = new VirtualTime();
  const replica = fixedDelayReplica(time, brokenRule);
  const written: number[][] = [];
  const writes = [{ key: 'a', value: 1 }, { key: 'b' }];
  applyNow(replica, [3, 1], writes, written);
  time.runAll();
  const afterFirst = sortedStore(replica);
  applyNow(replica, [3, 1], writes, written);
  time.runAll();
  const afterRepeat = sortedStore(replica);
  // A newer write of a, then the first APPLY once more, and twice in one group.
  applyNow(replica, [4, 1], [{ key: 'a', value: 2 }], written);
  time.runAll();
  replica.apply([{ ts: [3, 1], writes }, { ts: [3, 1], writes }], (counts) => written.push(counts));
  time.runAll();
  return { written, repeatChangedNothing: JSON.stringify(afterRepeat) === JSON.stringify(afterFirst), final: sortedStore(replica) };
}

test('a repeated APPLY is a no-op, whether it comes in a later group or twice in one group', (t) => {
  const expected = {
    written: [[2], [0], [1], [0, 0]],
    repeatChangedNothing: true,
    final: [['a', { version: [4, 1], value: 2 }], ['b', { version: [3, 1] }]],
  };
  t.deepEqual(repeatedApply(), expected);
  t.notDeepEqual(repeatedApply('thomas'), expected, 'a replica without the Thomas rule is caught');
});

test('a crash loses the APPLYs not yet stored, unacknowledged, and keeps what was stored', (t) => {
  const time = new VirtualTime();
  const replica = fixedDelayReplica(time);
  const written: number[][] = [];
  applyNow(replica, [1, 1], [{ key: 'kept', value: 1 }], written);
  time.runAll();
  applyNow(replica, [2, 1], [{ key: 'lost', value: 2 }], written);
  time.runUntil(time.nowMs + 1);
  applyNow(replica, [3, 1], [{ key: 'kept', value: 3 }], written);
  const waiting = versionsNow(time, replica, ['lost']);
  replica.crash();
  time.runAll();
  t.deepEqual(written, [[1]], 'only the stored APPLY was acknowledged');
  t.deepEqual(waiting, [], 'a re-read waiting at the crash is never answered');
  t.deepEqual(sortedStore(replica), [['kept', { version: [1, 1], value: 1 }]]);
  t.deepEqual(readNow(time, replica, ['kept', 'lost']).map((answer) => answer.value), [[{ version: [1, 1], value: 1 }, { version: [0, 0] }]], 'reads no longer see the lost writes');
  t.deepEqual(versionsNow(time, replica, ['lost']).map((answer) => answer.value), [[[0, 0]]], 'and re-reads no longer wait for them');
  // The restarted replica takes APPLYs again.
  applyNow(replica, [2, 1], [{ key: 'lost', value: 2 }], written);
  time.runAll();
  t.deepEqual(written, [[1], [1]]);
  t.is(compareTimestamps(replica.stored().get('lost')!.version, [2, 1]), 0);
});

// ---- the database side of state transfer, with views ----

/** DATABASE3, which epoch 0 leaves out; MIDDLEWARE1 as epoch 0 lists it. */
const OUTSIDE_VIEW = { epoch: 0, members: [{ id: 1, incarnation: '0.0' }], replicas: [1, 2], joining: [] };
const JOINING_VIEW = { ...OUTSIDE_VIEW, epoch: 1, joining: [3] };
const SIM_MEMBER = OUTSIDE_VIEW.members[0]!;
const SIM_BALLOT = { round: 1, proposer: 1, incarnation: '1.abc' };

function joiningReplica(time: VirtualTime): SimulatedReplica {
  return new SimulatedReplica(3, time, { int: (_min, max) => max }, { syncDelayMsMax: SYNC_DELAY_MS, initialView: OUTSIDE_VIEW });
}

test('a simulated replica that accepts a view newly listing it as joining clears its entries and records, as production does, and takes a transfer under the Thomas rule', (t) => {
  const time = new VirtualTime();
  const replica = joiningReplica(time);
  const refused: string[] = [];
  const from = { member: SIM_MEMBER, refused: (refusal: { code: string }) => refused.push(refusal.code) };
  replica.apply([{ ts: [5, 1], writes: [{ key: 'stale', value: 5 }] }], () => {}, from);
  replica.transfer(from, [], [], () => refused.push('answered'), (refusal) => refused.push(refusal.code));
  replica.vote({ type: 'prepare', epoch: 1, ballot: SIM_BALLOT }, () => {});
  replica.vote({ type: 'accept', epoch: 1, ballot: SIM_BALLOT, view: JOINING_VIEW }, () => {});
  replica.apply([{ ts: [7, 1], writes: [{ key: 'x', value: 'applied' }] }], () => {}, from);
  const answers: unknown[] = [];
  replica.transfer(from, [{ key: 'x', version: [6, 2], value: 'snapshot' }, { key: 'y', version: [4, 2], value: 'snapshot' }], [{ ts: [4, 2], coordinator: SIM_MEMBER, keys: ['y'] }], (answer) => answers.push(answer), (refusal) => refused.push(refusal.code));
  replica.transferDone(from, 1, (answer) => answers.push(answer), (refusal) => refused.push(refusal.code));
  time.runAll();
  t.deepEqual(refused, ['NOT_JOINING'], 'a transfer before the joining view is refused');
  t.deepEqual([...replica.stored()], [['x', { version: [7, 1], value: 'applied' }], ['y', { version: [4, 2], value: 'snapshot' }]]);
  t.is(replica.commitRecords, 2, 'the APPLY\'s and the transferred one; the cleared one is gone');
  t.deepEqual(answers, [{ written: 1, recorded: 1 }, { complete: true }]);
  t.deepEqual(replica.syncState, { joiningSince: 1, complete: true });
  replica.vote({ type: 'chosen', view: { ...JOINING_VIEW, epoch: 2, replicas: [1, 2, 3], joining: [] } }, () => {});
  time.runAll();
  t.is(replica.syncState, null, 'promoted');
});

test('a simulated replica scans its stored entries in key order, tombstones included, page by page (db.scan, as database/storage.ts scan)', (t) => {
  const time = new VirtualTime();
  const replica = new SimulatedReplica(1, time, { int: (_min, max) => max }, { syncDelayMsMax: SYNC_DELAY_MS });
  replica.apply([{ ts: [2, 1], writes: [{ key: 'k2', value: 2 }, { key: 'k10' }, { key: 'k1', value: 1 }] }], () => {});
  replica.apply([{ ts: [3, 1], writes: [{ key: 'k3', value: 3 }] }], () => {});
  const pages: unknown[] = [];
  replica.scan(undefined, 10, (page) => pages.push(page));
  t.deepEqual(pages, [{ entries: [], done: true }], 'what is only admitted is not scanned: the scan reads what is stored');
  time.runAll();
  pages.length = 0;
  replica.scan(undefined, 2, (page) => pages.push(page));
  replica.scan('k10', 2, (page) => pages.push(page));
  t.deepEqual(pages, [
    { entries: [{ key: 'k1', version: [2, 1], value: 1 }, { key: 'k10', version: [2, 1] }], done: false },
    { entries: [{ key: 'k2', version: [2, 1], value: 2 }, { key: 'k3', version: [3, 1], value: 3 }], done: true },
  ]);
});

test('a simulated replica built to skip the clear (skip-clear) keeps its store as it becomes joining, and still records when the clear was due', (t) => {
  const time = new VirtualTime();
  const replica = new SimulatedReplica(3, time, { int: (_min, max) => max }, { syncDelayMsMax: SYNC_DELAY_MS, initialView: OUTSIDE_VIEW, brokenRule: 'skip-clear' });
  const from = { member: SIM_MEMBER, refused: () => t.fail('refused') };
  replica.apply([{ ts: [5, 1], writes: [{ key: 'stale', value: 5 }] }], () => {}, from);
  replica.vote({ type: 'prepare', epoch: 1, ballot: SIM_BALLOT }, () => {});
  replica.vote({ type: 'accept', epoch: 1, ballot: SIM_BALLOT, view: JOINING_VIEW }, () => {});
  time.runAll();
  t.deepEqual([...replica.stored()], [['stale', { version: [5, 1], value: 5 }]]);
  t.is(replica.commitRecords, 1);
  t.is(replica.clearedAtMs.length, 1);
  t.deepEqual(replica.syncState, { joiningSince: 1, complete: false });
});
