// The pure 2PL core against the design document ("The baseline: strict two-phase locking",
// "Strict 2PL under the same views") and the README ("Strategies"), one test per rule: where
// locks are asked, when a transaction may read, which timestamps it takes, when it releases,
// what a home answers, and what a view-stop, an install and a removal do. No sockets, no
// timers: events in, effects out.
import test from 'ava';
import { homeOf } from '../twopl/home.js';
import { LockHome, type LockHomeEffect } from '../twopl/lock-home.js';
import { TwoPhaseLockingNode, type LockRequest, type TwoPhaseLockingEffect } from '../twopl/node.js';
import { LamportClock } from '../timestamp/clock.js';
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';

const MIDDLEWARES = [1, 2, 3];

/** A key whose lock middleware `home` homes. */
function keyHomedAt(home: number, prefix = 'key'): string {
  for (let index = 0; ; index++) if (homeOf(`${prefix}${index}`, MIDDLEWARES) === home) return `${prefix}${index}`;
}

const AT_1 = keyHomedAt(1);
const AT_2 = keyHomedAt(2);
const AT_3 = keyHomedAt(3);
const OTHER_AT_2 = keyHomedAt(2, 'other');

/** A core with view 1 of MIDDLEWARES installed (or none, `installed: false`: a middleware just started). */
function node(options: { id?: number; policy?: 'wait-die' | 'no-wait'; replicas?: number[]; installed?: boolean } = {}): TwoPhaseLockingNode {
  const core = new TwoPhaseLockingNode({ id: options.id ?? 1, policy: options.policy ?? 'wait-die', replicas: options.replicas ?? [1, 2] });
  if (options.installed ?? true) core.handle({ type: 'view-install', epoch: 1, members: MIDDLEWARES, clock: 0 });
  return core;
}

function ofType<T extends TwoPhaseLockingEffect['type']>(effects: TwoPhaseLockingEffect[], type: T): Array<Extract<TwoPhaseLockingEffect, { type: T }>> {
  return effects.filter((effect) => effect.type === type) as Array<Extract<TwoPhaseLockingEffect, { type: T }>>;
}

function only<T extends TwoPhaseLockingEffect['type']>(effects: TwoPhaseLockingEffect[], type: T): Extract<TwoPhaseLockingEffect, { type: T }> {
  const found = ofType(effects, type);
  if (found.length !== 1) throw new Error(`expected one ${type} effect, got ${JSON.stringify(effects)}`);
  return found[0]!;
}

const shared = (key: string): LockRequest => ({ key, mode: 'shared' });
const exclusive = (key: string): LockRequest => ({ key, mode: 'exclusive' });
const GRANTED = { granted: true as const, clock: 0 };

/** Begins `txid` with locks at homes 1 (local), 2 and 3, and has homes 2 and 3 grant. */
function lockedEverywhere(core: TwoPhaseLockingNode, txid: string): TwoPhaseLockingEffect[] {
  core.handle({ type: 'begin', txid, locks: [exclusive(AT_1), shared(AT_2), exclusive(AT_3)] });
  core.handle({ type: 'lock-answer-received', epoch: 1, txid, home: 2, answer: GRANTED });
  return core.handle({ type: 'lock-answer-received', epoch: 1, txid, home: 3, answer: GRANTED });
}

// ---- the transaction side ----

test('locks are asked at each key\'s home, one request per home with all its keys; the local home answers inside the core', (t) => {
  const core = node();
  const effects = core.handle({ type: 'begin', txid: 'T', locks: [shared(AT_2), exclusive(AT_1), exclusive(OTHER_AT_2), shared(AT_3)] });
  const requests = ofType(effects, 'send-lock-request');
  t.deepEqual(requests.map((request) => request.to), [2, 3]);
  t.deepEqual(requests.find((request) => request.to === 2)!.locks, [shared(AT_2), exclusive(OTHER_AT_2)]);
  t.deepEqual(requests.find((request) => request.to === 3)!.locks, [shared(AT_3)]);
  t.deepEqual(core.home.table.locksOf('T'), [{ key: AT_1, mode: 'exclusive' }], 'the local key is locked without a message');
});

test('the start timestamp is ticked at the first attempt and a restart keeps it, however far the clock moved', (t) => {
  const core = node();
  const first = only(core.handle({ type: 'begin', txid: 'T1', locks: [exclusive(AT_2)] }), 'send-lock-request');
  t.deepEqual(first.ts, [1, 1]);
  core.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'X', ts: [50, 3], locks: [shared(AT_1)] });
  const aborted = only(core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T1', home: 2, answer: { granted: false, reason: 'die', detail: 'locked' } }), 'aborted');
  t.deepEqual(aborted.startTs, [1, 1]);
  const clockBefore = core.clock.value;
  const second = only(core.handle({ type: 'begin', txid: 'T2', startTs: aborted.startTs, locks: [exclusive(AT_2)] }), 'send-lock-request');
  t.deepEqual(second.ts, [1, 1], 'older than everything started since, so it cannot starve');
  t.is(core.clock.value, clockBefore, 'a restart does not tick');
});

test('a refusal releases at every home at once, the one still waiting included, and the attempt restarts', (t) => {
  const core = node();
  core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1), exclusive(AT_2), exclusive(AT_3)] });
  t.deepEqual(core.home.table.locksOf('T'), [{ key: AT_1, mode: 'exclusive' }]);
  // Home 3 has not answered: its request may be waiting there. The release cancels it.
  const effects = core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 2, answer: { granted: false, reason: 'die', detail: `${AT_2} is locked by U` } });
  t.deepEqual(ofType(effects, 'send-release').map((release) => release.to).sort(), [2, 3]);
  t.deepEqual(core.home.table.locksOf('T'), [], 'the local lock is released too');
  t.like(only(effects, 'aborted'), { txid: 'T', reason: 'die', detail: `${AT_2} is locked by U` });
  t.deepEqual(core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 3, answer: GRANTED }), [], 'a late grant starts nothing');
});

test('a home that does not answer in time counts as a refusal: release everywhere, restart with reason unavailable', (t) => {
  const core = node();
  core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_2), exclusive(AT_3)] });
  const effects = core.handle({ type: 'home-unavailable', txid: 'T', home: 3, detail: 'MIDDLEWARE3 is unavailable' });
  t.deepEqual(ofType(effects, 'send-release').map((release) => release.to).sort(), [2, 3]);
  t.like(only(effects, 'aborted'), { reason: 'unavailable', detail: 'MIDDLEWARE3 is unavailable' });
});

test('when the local home refuses at once, no other home is asked, so none needs a release', (t) => {
  const core = node({ policy: 'no-wait' });
  core.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'U', ts: [9, 2], locks: [exclusive(AT_1)] });
  const effects = core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1), exclusive(AT_2)] });
  t.deepEqual(effects.map((effect) => effect.type), ['aborted']);
});

test('nothing is read before the last grant; then every locked key is read at once, in the lock set\'s order', (t) => {
  const core = node();
  t.deepEqual(ofType(core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1), shared(AT_2), exclusive(AT_3)] }), 'read'), []);
  t.deepEqual(core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 3, answer: GRANTED }), []);
  const read = only(core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 2, answer: GRANTED }), 'read');
  t.deepEqual(read.keys, [AT_1, AT_2, AT_3]);
  t.deepEqual([...core.lockedAttempts()].map((attempt) => attempt.txid), ['T']);
});

test('the block runs only after the read, and the commit timestamp is above every version read and every grant\'s clock', (t) => {
  const core = node();
  core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1), shared(AT_2), exclusive(AT_3)] });
  core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 2, answer: { granted: true, clock: 30 } });
  core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 3, answer: GRANTED });
  const versions: Timestamp[] = [[12, 2], [77, 3], [0, 0]];
  only(core.handle({ type: 'read-answered', txid: 'T', entries: versions.map((version) => ({ version })) }), 'run');
  const apply = only(core.handle({ type: 'finish-requested', txid: 'T', decision: 'commit', writes: [{ key: AT_1, value: 1 }] }), 'apply');
  for (const version of [...versions, [30, 2] as Timestamp]) t.true(isBefore(version, apply.ts), `${apply.ts.join('.')} is not above ${version.join('.')}`);
});

test('a view-stop naming the new view\'s databases stops awaiting one it leaves out, and sends the decided writes to one it adds', (t) => {
  const core = node({ replicas: [1, 2, 3] });
  lockedEverywhere(core, 'T');
  core.handle({ type: 'read-answered', txid: 'T', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  const apply = only(core.handle({ type: 'finish-requested', txid: 'T', decision: 'commit', writes: [{ key: AT_1, value: 5 }] }), 'apply');
  core.handle({ type: 'replica-acked', txid: 'T', replica: 1 });
  const stopped = core.handle({ type: 'view-stop', databases: [1, 2, 4] });
  t.deepEqual(only(stopped, 'apply'), { type: 'apply', txid: 'T', ts: apply.ts, writes: [{ key: AT_1, value: 5 }], replicas: [4] });
  t.deepEqual(ofType(stopped, 'committed'), []);
  t.deepEqual(core.handle({ type: 'replica-acked', txid: 'T', replica: 2 }), [], 'DATABASE4 not yet');
  t.deepEqual(only(core.handle({ type: 'replica-acked', txid: 'T', replica: 4 }), 'committed').ts, apply.ts, 'DATABASE3 was not waited for');
});

test('locks are released only after every replica acknowledged the writes', (t) => {
  const core = node({ replicas: [1, 2, 3] });
  lockedEverywhere(core, 'T');
  core.handle({ type: 'read-answered', txid: 'T', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  const apply = only(core.handle({ type: 'finish-requested', txid: 'T', decision: 'commit', writes: [{ key: AT_1, value: 5 }] }), 'apply');
  t.deepEqual(apply.replicas, [1, 2, 3]);
  t.deepEqual(core.handle({ type: 'replica-acked', txid: 'T', replica: 2 }), []);
  t.deepEqual(core.handle({ type: 'replica-acked', txid: 'T', replica: 1 }), []);
  t.deepEqual(core.home.table.locksOf('T'), [{ key: AT_1, mode: 'exclusive' }], 'still held while a replica may lack the write');
  const effects = core.handle({ type: 'replica-acked', txid: 'T', replica: 3 });
  t.deepEqual(ofType(effects, 'send-release').map((release) => release.to).sort(), [2, 3]);
  t.deepEqual(only(effects, 'committed').ts, apply.ts);
  t.deepEqual(core.home.table.locksOf('T'), []);
  t.is(core.attemptCount, 0);
});

test('a rollback releases everywhere without a commit timestamp; a commit without writes commits at once', (t) => {
  const rolledBack = node();
  lockedEverywhere(rolledBack, 'T');
  rolledBack.handle({ type: 'read-answered', txid: 'T', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  const clock = rolledBack.clock.value;
  const effects = rolledBack.handle({ type: 'finish-requested', txid: 'T', decision: 'rollback' });
  t.deepEqual(effects.map((effect) => effect.type).sort(), ['rolled-back', 'send-release', 'send-release']);
  t.is(rolledBack.clock.value, clock);

  const readOnly = node();
  lockedEverywhere(readOnly, 'R');
  readOnly.handle({ type: 'read-answered', txid: 'R', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  const committed = readOnly.handle({ type: 'finish-requested', txid: 'R', decision: 'commit', writes: [] });
  t.deepEqual(committed.map((effect) => effect.type).sort(), ['committed', 'send-release', 'send-release']);
});

test('an incoming lock request moves the clock past its timestamp: what this middleware starts next is younger', (t) => {
  const core = node();
  core.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'X', ts: [100, 2], locks: [shared(AT_1)] });
  const request = only(core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_2)] }), 'send-lock-request');
  t.true(isBefore([100, 2], request.ts));
});

// ---- the home side ----

/** A home granting in view 1. */
function home(policy: 'wait-die' | 'no-wait' = 'wait-die'): { home: LockHome; clock: LamportClock } {
  const clock = new LamportClock(1);
  const lockHome = new LockHome(1, policy, clock);
  lockHome.handle({ type: 'view-install', epoch: 1 });
  return { home: lockHome, clock };
}

function answer(effects: LockHomeEffect[]): LockHomeEffect {
  if (effects.length !== 1) throw new Error(`expected one answer, got ${JSON.stringify(effects)}`);
  return effects[0]!;
}

test('home: a waiting request is answered when a release grants its last lock, not before (notification, no polling)', (t) => {
  const { home: lockHome, clock } = home();
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Y', ts: [10, 2], locks: [exclusive('x')] })), { to: 2, answer: { granted: true } });
  // X is older than the holder Y: under wait-die it waits.
  t.deepEqual(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'X', ts: [5, 3], locks: [shared('w'), exclusive('x')] }), []);
  t.deepEqual(lockHome.table.locksOf('X'), [{ key: 'w', mode: 'shared' }], 'the locks before the one it waits for are held');
  const granted = answer(lockHome.handle({ type: 'released', epoch: 1, txid: 'Y' }));
  t.deepEqual(granted, { type: 'lock-answered', to: 3, epoch: 1, txid: 'X', answer: { granted: true, clock: clock.value } });
  t.deepEqual(lockHome.table.locksOf('X'), [{ key: 'w', mode: 'shared' }, { key: 'x', mode: 'exclusive' }]);
});

test('home: releasing a request still waiting answers it (refused) and frees its place', (t) => {
  const { home: lockHome } = home();
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Y', ts: [10, 2], locks: [exclusive('x')] });
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'X', ts: [5, 3], locks: [exclusive('x')] });
  t.like(answer(lockHome.handle({ type: 'released', epoch: 1, txid: 'X' })), { to: 3, txid: 'X', answer: { granted: false, reason: 'die', detail: 'released while waiting' } });
  t.deepEqual(lockHome.table.waiters('x'), []);
});

test('home: a lock request observes the request\'s timestamp, and a grant carries the home\'s clock', (t) => {
  const { home: lockHome, clock } = home();
  const granted = answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'T', ts: [41, 2], locks: [shared('x')] }));
  t.is(clock.value, 41);
  t.deepEqual(granted.answer, { granted: true, clock: 41 });
});

test('home: once it begins leaving, new requests are refused (leaving); requests already waiting are still served', (t) => {
  const { home: lockHome } = home();
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Y', ts: [10, 2], locks: [exclusive('x')] });
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'X', ts: [5, 3], locks: [exclusive('x')] });
  lockHome.handle({ type: 'begin-leaving' });
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Z', ts: [1, 2], locks: [shared('y')] })), { to: 2, answer: { granted: false, reason: 'leaving' } });
  t.like(answer(lockHome.handle({ type: 'released', epoch: 1, txid: 'Y' })), { to: 3, txid: 'X', answer: { granted: true } });
  lockHome.handle({ type: 'released', epoch: 1, txid: 'X' });
  t.is(lockHome.transactionCount, 0, 'with every lock released it may leave');
});

test('home: under no-wait a conflicting request dies at once, even the older one', (t) => {
  const { home: lockHome } = home('no-wait');
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Y', ts: [10, 2], locks: [shared('x')] });
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'X', ts: [5, 3], locks: [exclusive('x')] })), { to: 3, answer: { granted: false, reason: 'die', detail: 'x is locked by Y' } });
  t.deepEqual(lockHome.table.waiters('x'), []);
});

test('home: under wait-die the younger requester dies at once and the older one waits', (t) => {
  const { home: lockHome } = home();
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Y', ts: [10, 2], locks: [exclusive('x')] });
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'Younger', ts: [11, 3], locks: [shared('x')] })), { answer: { granted: false, reason: 'die' } });
  t.deepEqual(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'Older', ts: [9, 3], locks: [shared('x')] }), []);
});

test('home: a release that overtook its own request makes the request be refused when it arrives (no lock for a transaction that gave up)', (t) => {
  const { home: lockHome } = home();
  t.deepEqual(lockHome.handle({ type: 'released', epoch: 1, txid: 'T' }), []);
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'T', ts: [3, 2], locks: [exclusive('x')] })), { answer: { granted: false, reason: 'die' } });
  t.is(lockHome.transactionCount, 0);
});

// ---- a home that restarts ----

/**
 * Delivers `effects` of `from` among `cores` until nothing is left to deliver: lock requests,
 * answers and releases, in order. Reads, runs and APPLYs stay with their shell (returned).
 */
function deliver(cores: Map<number, TwoPhaseLockingNode>, from: number, effects: TwoPhaseLockingEffect[]): Array<{ at: number; effect: TwoPhaseLockingEffect }> {
  const left: Array<{ at: number; effect: TwoPhaseLockingEffect }> = [];
  const queue = effects.map((effect) => ({ at: from, effect }));
  for (let next = queue.shift(); next; next = queue.shift()) {
    const { at, effect } = next;
    const push = (to: number, produced: TwoPhaseLockingEffect[]): void => { queue.push(...produced.map((effect) => ({ at: to, effect }))); };
    if (effect.type === 'send-lock-request') push(effect.to, cores.get(effect.to)!.handle({ type: 'lock-requested', from: at, epoch: effect.epoch, txid: effect.txid, ts: effect.ts, locks: effect.locks }));
    else if (effect.type === 'lock-answered') push(effect.to, cores.get(effect.to)!.handle({ type: 'lock-answer-received', epoch: effect.epoch, txid: effect.txid, home: at, answer: effect.answer }));
    else if (effect.type === 'send-release') push(effect.to, cores.get(effect.to)!.handle({ type: 'released', epoch: effect.epoch, txid: effect.txid }));
    else left.push(next);
  }
  return left;
}

/** Every transaction that relies on an exclusive lock on `key`: past its locking phase, or holding it in a home's table. */
function exclusiveHolders(cores: Iterable<TwoPhaseLockingNode>, key: string): string[] {
  const holders = new Set<string>();
  for (const core of cores) {
    for (const attempt of core.lockedAttempts()) if (attempt.locks.some((lock) => lock.key === key && lock.mode === 'exclusive')) holders.add(attempt.txid);
    for (const holder of core.home.table.holders(key)) if (holder.mode === 'exclusive') holders.add(holder.txid);
  }
  return [...holders];
}

// Homes fixed by the cluster file had a home that restarted come back with an empty lock table
// while the holders of its locks elsewhere still relied on them, and grant the same exclusive
// lock a second time (T and U both held it). Now the restarted home is a new life that grants
// nothing until a view with it is installed, and that installation first restarts T (undecided)
// or waits until T is finished (decided).
test('a restarted home cannot grant a lock that a holder of its earlier life still holds: T undecided restarts at the view-stop', (t) => {
  const cores = new Map([1, 2, 3].map((id) => [id, node({ id })]));
  const read = deliver(cores, 1, cores.get(1)!.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_2)] }));
  t.like(read[0]?.effect, { type: 'read', txid: 'T' }, 'T holds the lock homed at MIDDLEWARE2');
  cores.set(2, node({ id: 2, installed: false }));
  const refused = deliver(cores, 3, cores.get(3)!.handle({ type: 'begin', txid: 'U', locks: [exclusive(AT_2)] }));
  t.like(refused[0]?.effect, { type: 'aborted', txid: 'U', reason: 'leaving' }, 'the new life grants nothing before its first view');
  t.deepEqual(exclusiveHolders(cores.values(), AT_2), ['T']);
  // The view with MIDDLEWARE2's new life: every member stops, then installs.
  const stopped = [1, 2, 3].flatMap((id) => deliver(cores, id, cores.get(id)!.handle({ type: 'view-stop' })));
  t.like(stopped.find(({ effect }) => effect.type === 'aborted')?.effect, { txid: 'T', reason: 'view-change' });
  for (const id of [1, 2, 3]) deliver(cores, id, cores.get(id)!.handle({ type: 'view-install', epoch: 2, members: MIDDLEWARES, clock: 100 }));
  t.deepEqual(exclusiveHolders(cores.values(), AT_2), []);
  const again = deliver(cores, 3, cores.get(3)!.handle({ type: 'begin', txid: 'U2', startTs: (refused[0]!.effect as { startTs: Timestamp }).startTs, locks: [exclusive(AT_2)] }));
  t.like(again[0]?.effect, { type: 'read', txid: 'U2' });
  t.deepEqual(exclusiveHolders(cores.values(), AT_2), ['U2']);
});

test('a restarted home cannot grant a lock that a holder of its earlier life still holds: T decided is finished before the install', (t) => {
  const cores = new Map([1, 2, 3].map((id) => [id, node({ id })]));
  deliver(cores, 1, cores.get(1)!.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_2)] }));
  cores.get(1)!.handle({ type: 'read-answered', txid: 'T', entries: [{ version: [0, 0] }] });
  only(cores.get(1)!.handle({ type: 'finish-requested', txid: 'T', decision: 'commit', writes: [{ key: AT_2, value: 1 }] }), 'apply');
  cores.set(2, node({ id: 2, installed: false }));
  for (const id of [1, 2, 3]) t.deepEqual(deliver(cores, id, cores.get(id)!.handle({ type: 'view-stop' })), [], 'T is decided: it goes on');
  t.is(cores.get(1)!.decidedCount, 1, 'so MIDDLEWARE1 does not answer the stop yet');
  t.deepEqual(exclusiveHolders(cores.values(), AT_2), ['T']);
  cores.get(1)!.handle({ type: 'replica-acked', txid: 'T', replica: 1 });
  const finished = deliver(cores, 1, cores.get(1)!.handle({ type: 'replica-acked', txid: 'T', replica: 2 }));
  t.like(finished[0]?.effect, { type: 'committed', txid: 'T' });
  t.is(cores.get(1)!.decidedCount, 0);
  for (const id of [1, 2, 3]) deliver(cores, id, cores.get(id)!.handle({ type: 'view-install', epoch: 2, members: MIDDLEWARES, clock: 100 }));
  deliver(cores, 3, cores.get(3)!.handle({ type: 'begin', txid: 'U', locks: [exclusive(AT_2)] }));
  t.deepEqual(exclusiveHolders(cores.values(), AT_2), ['U']);
});

// ---- views ----

test('views: homes follow the installed view: a key homed at a member that left is asked of a remaining one, with the new epoch', (t) => {
  const core = node();
  t.like(only(core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_3)] }), 'send-lock-request'), { to: 3, epoch: 1 });
  core.handle({ type: 'view-stop' });
  core.handle({ type: 'view-install', epoch: 2, members: [1, 2], clock: 0 });
  t.deepEqual(core.memberIds, [1, 2]);
  const home = homeOf(AT_3, [1, 2]);
  const effects = core.handle({ type: 'begin', txid: 'T2', locks: [exclusive(AT_3)] });
  if (home === 1) t.like(only(effects, 'read'), { txid: 'T2' }, 'homed here now: granted inside the core');
  else t.like(only(effects, 'send-lock-request'), { to: 2, epoch: 2 });
});

test('views: a home refuses a request of another epoch (older or newer), and its requester restarts with back-off, not a failure', (t) => {
  const { home: lockHome } = home();
  lockHome.handle({ type: 'view-stop' });
  lockHome.handle({ type: 'view-install', epoch: 2 });
  for (const epoch of [1, 3]) {
    t.like(answer(lockHome.handle({ type: 'lock-requested', epoch, from: 2, txid: `T${epoch}`, ts: [5, 2], locks: [exclusive('x')] })), { to: 2, epoch, answer: { granted: false, reason: 'leaving', detail: `MIDDLEWARE1 homes locks in view 2, not in view ${epoch}` } });
  }
  t.is(lockHome.transactionCount, 0);
  const requester = node({ id: 2 });
  only(requester.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1)] }), 'send-lock-request');
  const effects = requester.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 1, answer: { granted: false, reason: 'leaving', detail: 'MIDDLEWARE1 homes locks in view 2, not in view 1' } });
  t.like(only(effects, 'aborted'), { txid: 'T', reason: 'leaving' });
  t.deepEqual(ofType(effects, 'failed'), []);
});

test('views: an answer of another epoch answers no request of the attempt', (t) => {
  const core = node();
  core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_2)] });
  t.deepEqual(core.handle({ type: 'lock-answer-received', epoch: 2, txid: 'T', home: 2, answer: GRANTED }), []);
  t.like(only(core.handle({ type: 'lock-answer-received', epoch: 1, txid: 'T', home: 2, answer: GRANTED }), 'read'), { txid: 'T' });
});

test('views: a release of an earlier epoch is ignored; one of a later epoch that overtook its request still cancels it', (t) => {
  const { home: lockHome } = home();
  t.deepEqual(lockHome.handle({ type: 'released', epoch: 2, txid: 'T' }), [], 'released in view 2 before this home installed it');
  lockHome.handle({ type: 'view-stop' });
  lockHome.handle({ type: 'view-install', epoch: 2 });
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 2, from: 2, txid: 'T', ts: [3, 2], locks: [exclusive('x')] })), { answer: { granted: false, reason: 'die' } });
  lockHome.handle({ type: 'lock-requested', epoch: 2, from: 2, txid: 'U', ts: [4, 2], locks: [exclusive('x')] });
  t.deepEqual(lockHome.handle({ type: 'released', epoch: 1, txid: 'U' }), []);
  t.deepEqual(lockHome.table.holders('x'), [{ txid: 'U', mode: 'exclusive' }], 'a release of view 1 is not one of U, which locked in view 2');
});

test('views: a view-stop restarts every undecided transaction (releasing everywhere) and keeps the decided ones until they finish', (t) => {
  const core = node();
  core.handle({ type: 'begin', txid: 'Locking', locks: [exclusive(AT_2)] });
  core.handle({ type: 'begin', txid: 'Running', locks: [] });
  lockedEverywhere(core, 'Applying');
  core.handle({ type: 'read-answered', txid: 'Applying', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  const apply = only(core.handle({ type: 'finish-requested', txid: 'Applying', decision: 'commit', writes: [{ key: AT_1, value: 1 }] }), 'apply');
  const effects = core.handle({ type: 'view-stop' });
  t.deepEqual(ofType(effects, 'aborted').map((aborted) => [aborted.txid, aborted.reason]).sort(), [['Locking', 'view-change'], ['Running', 'view-change']]);
  t.deepEqual(ofType(effects, 'send-release').map((release) => [release.to, release.txid, release.epoch]), [[2, 'Locking', 1]]);
  t.is(core.decidedCount, 1);
  t.deepEqual(core.handle({ type: 'finish-requested', txid: 'Running', decision: 'commit', writes: [] }), [], 'the end of a restarted block changes nothing');
  t.like(only(core.handle({ type: 'begin', txid: 'New', locks: [exclusive(AT_2)] }), 'aborted'), { reason: 'view-change' }, 'nothing begins until the install');
  t.deepEqual(core.home.table.locksOf('Applying'), [{ key: AT_1, mode: 'exclusive' }], 'the decided one keeps its locks');
  core.handle({ type: 'replica-acked', txid: 'Applying', replica: 1 });
  t.deepEqual(only(core.handle({ type: 'replica-acked', txid: 'Applying', replica: 2 }), 'committed').ts, apply.ts);
  t.is(core.decidedCount, 0);
  t.is(core.attemptCount, 0);
});

test('views: a view-stop refuses the requests waiting at the home, and the home grants nothing until the install', (t) => {
  const { home: lockHome } = home();
  lockHome.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'Y', ts: [10, 2], locks: [exclusive('x')] });
  t.deepEqual(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'X', ts: [5, 3], locks: [exclusive('x')] }), []);
  t.like(answer(lockHome.handle({ type: 'view-stop' })), { to: 3, epoch: 1, txid: 'X', answer: { granted: false, reason: 'leaving' } });
  t.like(answer(lockHome.handle({ type: 'lock-requested', epoch: 1, from: 3, txid: 'Z', ts: [1, 3], locks: [shared('y')] })), { answer: { granted: false, reason: 'leaving' } });
  t.deepEqual(lockHome.handle({ type: 'released', epoch: 1, txid: 'Y' }), []);
  t.is(lockHome.transactionCount, 0);
});

test('views: an install starts with an empty lock table (a holder that never releases is gone), moves the clock past the INSTALL clock, and begins run again', (t) => {
  const core = node();
  // X, at MIDDLEWARE2, holds a lock homed here and dies: its release never comes.
  t.like(only(core.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'X', ts: [4, 2], locks: [exclusive(AT_1)] }), 'lock-answered'), { answer: { granted: true } });
  core.handle({ type: 'view-stop' });
  t.deepEqual(core.home.table.holders(AT_1), [{ txid: 'X', mode: 'exclusive' }]);
  core.handle({ type: 'view-install', epoch: 2, members: [1, 3], clock: 500 });
  t.is(core.home.table.lockedKeyCount, 0);
  t.true(core.clock.value >= 500);
  t.false(core.stopped);
  const home = homeOf(AT_1, [1, 3]);
  const effects = core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1)] });
  t.true(isBefore([500, 3], home === 1 ? core.home.table.timestampOf('T')! : only(effects, 'send-lock-request').ts), 'started in the new view: younger than the INSTALL clock');
  if (home === 1) t.like(only(effects, 'read'), { txid: 'T' }, 'X\'s lock is not there any more');
});

test('views: an install with a decided transaction unfinished is a bug; one without a view-stop restarts the undecided first; a resent INSTALL changes nothing', (t) => {
  const running = node();
  running.handle({ type: 'begin', txid: 'T', locks: [] });
  t.like(only(running.handle({ type: 'view-install', epoch: 2, members: MIDDLEWARES, clock: 0 }), 'aborted'), { txid: 'T', reason: 'view-change' });
  t.is(running.epoch, 2);
  const decided = node();
  lockedEverywhere(decided, 'T');
  decided.handle({ type: 'read-answered', txid: 'T', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  decided.handle({ type: 'finish-requested', txid: 'T', decision: 'commit', writes: [{ key: AT_1, value: 1 }] });
  decided.handle({ type: 'view-stop' });
  t.throws(() => decided.handle({ type: 'view-install', epoch: 2, members: MIDDLEWARES, clock: 0 }), { message: /1 decided transactions not finished/ });
  const installed = node();
  installed.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'X', ts: [4, 2], locks: [exclusive(AT_1)] });
  t.deepEqual(installed.handle({ type: 'view-install', epoch: 1, members: MIDDLEWARES, clock: 0 }), []);
  t.deepEqual(installed.home.table.holders(AT_1), [{ txid: 'X', mode: 'exclusive' }]);
});

test('views: before its first view a middleware begins nothing and grants nothing', (t) => {
  const core = node({ installed: false });
  t.true(core.stopped);
  t.like(only(core.handle({ type: 'begin', txid: 'T', locks: [exclusive(AT_1)] }), 'aborted'), { reason: 'view-change', startTs: [1, 1] });
  t.like(only(core.handle({ type: 'lock-requested', epoch: 1, from: 2, txid: 'X', ts: [4, 2], locks: [exclusive(AT_1)] }), 'lock-answered'), { answer: { granted: false, reason: 'leaving' } });
});

test('views: removed, the undecided transactions restart and the decided end with their outcome unknown, keeping their locks', (t) => {
  const core = node();
  core.handle({ type: 'begin', txid: 'Locking', locks: [exclusive(AT_2)] });
  lockedEverywhere(core, 'Applying');
  core.handle({ type: 'read-answered', txid: 'Applying', entries: [{ version: [0, 0] }, { version: [0, 0] }, { version: [0, 0] }] });
  const apply = only(core.handle({ type: 'finish-requested', txid: 'Applying', decision: 'commit', writes: [{ key: AT_1, value: 1 }] }), 'apply');
  const effects = core.handle({ type: 'removed' });
  t.like(only(effects, 'aborted'), { txid: 'Locking', reason: 'removed' });
  t.deepEqual(only(effects, 'outcome-unknown'), { type: 'outcome-unknown', txid: 'Applying', ts: apply.ts });
  t.deepEqual(ofType(effects, 'send-release').map((release) => release.txid), ['Locking'], 'its writes may still land: the next view\'s empty tables free its keys');
  t.is(core.attemptCount, 0);
  t.deepEqual(core.handle({ type: 'replica-acked', txid: 'Applying', replica: 1 }), []);
  t.like(only(core.handle({ type: 'begin', txid: 'New', locks: [] }), 'aborted'), { reason: 'view-change' });
});
