// The keeper's decisions (view/keeper.ts, KeeperCore), one test per rule, driven by events and
// checked by the effects they give: joining as a new life; a chosen view written to a majority
// of the acceptors before it is installed; the installer writing db.chosen to a database before
// reading its log; an older INSTALL ignored while stopped for a newer view; FENCED from a
// database during installation ending the life; a change ending with the life that began it; an
// abandoned installation learning the newest chosen view again; a life a chosen view had and a
// newer one lacks going on as a new incarnation; suspects found while a removal runs joining it;
// the wait of one that suspects most of the others; a paused process not suspecting anyone for
// its own pause; the takeover of a stalled installation; catching up; the leaver's hand-off.
// The databases are real acceptors (view/acceptor.ts); the other members answer as told.
import test from 'ava';
import { Acceptor } from '../view/acceptor.js';
import {
  ATTEMPT_TIMEOUT_MS, HEARTBEAT_EVERY_TICKS_WHEN_HEARD, HEARTBEAT_INTERVAL_MS, INSTALL_STALL_MS, INSTALL_TAKEOVER_MS, KeeperCore, RETURNING_AFTER_MS, TRANSFER_PAGE_ENTRIES, SUSPECT_AFTER_MS, SUSPECT_MINORITY_WAIT_MS,
  type DbRequest, type Failure, type Heard, type KeeperEffect, type KeeperEventBody, type PeerRequest,
} from '../view/keeper.js';
import { isMember } from '../view/changes.js';
import type { Member, View } from '../view/types.js';

const DATABASES = [1, 2, 3];
const SELF_ID = 1;

function peer(id: number): Member {
  return { id, incarnation: `1.p${id}` };
}

function viewOf(epoch: number, members: Member[]): View {
  return { epoch, members, replicas: [...DATABASES], joining: [] };
}

type Request = Extract<KeeperEffect, { type: 'db-request' | 'peer-request' | 'engine-stop' | 'engine-clock' }>;

/** A keeper core over real acceptors and other members that answer as told; time moves only when a test moves it. */
class Harness {
  readonly core: KeeperCore;
  nowMs = 0;
  readonly effects: KeeperEffect[] = [];
  /** Requests a test holds back (not answered): `hold` decides. */
  readonly held: Request[] = [];
  hold: (request: Request) => boolean = () => false;
  /** Members that answer nothing. */
  readonly silent = new Set<number>();
  /** The epoch the other members answer heartbeats with (by default, the one installed here). */
  peerEpoch: number | null = null;
  /** A database's refusal of a request (FENCED...), if any. */
  refuse: (database: number, request: DbRequest) => Failure | null = () => null;
  readonly acceptors = new Map<number, Acceptor>();
  private timers: Array<{ id: number; dueMs: number }> = [];
  private queue: Request[] = [];
  private incarnations = 0;

  /** What every database stores, in key order (db.scan). */
  stored: Array<{ key: string; version: [number, number]; value?: unknown }> = [];
  /** What each database says of its state transfer (db.view). */
  readonly syncs = new Map<number, { joiningSince: number; complete: boolean }>();

  constructor(initial: View, random = 0, manageDatabases = false) {
    for (const id of DATABASES) this.acceptors.set(id, Acceptor.start(initial));
    this.core = new KeeperCore({ id: SELF_ID, databases: DATABASES, skipRecovery: false, nextIncarnation: () => `${++this.incarnations}.k${this.incarnations}`, random: () => random, nowMs: 0, manageDatabases });
  }

  feed(event: KeeperEventBody): KeeperEffect[] {
    const effects = this.core.handle({ ...event, nowMs: this.nowMs } as Parameters<KeeperCore['handle']>[0]);
    this.effects.push(...effects);
    for (const effect of effects) {
      if (effect.type === 'set-timer') this.timers.push({ id: effect.id, dueMs: this.nowMs + effect.ms });
      else if (effect.type === 'cancel-timer') this.timers = this.timers.filter((timer) => timer.id !== effect.id);
      else if (effect.type === 'db-request' || effect.type === 'peer-request' || effect.type === 'engine-stop' || effect.type === 'engine-clock') this.queue.push(effect);
    }
    return effects;
  }

  /** Answers every request sent (and those its answers send), but the held ones. */
  run(): void {
    while (this.queue.length > 0) {
      const request = this.queue.shift()!;
      if (this.hold(request)) {
        this.held.push(request);
        continue;
      }
      this.answer(request);
    }
  }

  answer(request: Request): void {
    switch (request.type) {
      case 'engine-stop':
      case 'engine-clock':
        this.feed({ type: 'engine-stopped', id: request.id, clock: 7 });
        return;
      case 'db-request': {
        const refusal = this.refuse(request.database, request.request);
        if (refusal) {
          this.feed({ type: 'failed', id: request.id, error: refusal });
          return;
        }
        this.feed({ type: 'answered', id: request.id, value: this.database(request.database, request.request) });
        return;
      }
      case 'peer-request': {
        if (this.silent.has(request.member)) return;
        this.feed({ type: 'answered', id: request.id, value: this.member(request.member, request.request) });
        return;
      }
    }
  }

  /** Releases the held requests that `which` picks, answering them. */
  release(which: (request: Request) => boolean = () => true): void {
    const released = this.held.filter(which);
    for (const request of released) this.held.splice(this.held.indexOf(request), 1);
    for (const request of released) this.answer(request);
    this.run();
  }

  private database(id: number, request: DbRequest): unknown {
    const acceptor = this.acceptors.get(id)!;
    const vote = (event: Parameters<Acceptor['handle']>[0]): unknown => acceptor.handle(event).find((effect) => effect.type !== 'persist');
    switch (request.type) {
      case 'db.prepare': return vote({ type: 'prepare', epoch: request.epoch, ballot: request.ballot });
      case 'db.accept': return vote({ type: 'accept', epoch: request.epoch, ballot: request.ballot, view: request.view });
      case 'db.chosen':
        acceptor.handle({ type: 'chosen', view: request.view });
        return { epoch: acceptor.openEpoch - 1 };
      case 'db.view': return { chosen: acceptor.snapshot().chosen, accepted: acceptor.snapshot().accepted, sync: this.syncs.get(id) ?? null };
      case 'db.commits': return { records: [], maxVersion: [0, 0] };
      case 'db.read': return { entries: request.keys.map(() => ({ version: [0, 0] })) };
      case 'db.recover': return {};
      case 'db.scan': {
        const after = request.after;
        const rest = this.stored.filter((entry) => after === undefined || entry.key > after);
        return { entries: rest.slice(0, request.limit), done: rest.length <= request.limit };
      }
      case 'db.transfer': return { written: request.entries.length, recorded: request.records.length };
      case 'db.transfer-done': return { complete: true };
    }
  }

  private member(id: number, request: PeerRequest): unknown {
    switch (request.type) {
      case 'peer.heartbeat': return { from: peer(id), epoch: this.peerEpoch ?? this.core.installedEpoch };
      case 'peer.stop': return { clock: 3 };
      case 'peer.install': return {};
    }
  }

  /** Moves time on by `ms`, firing the timers due meanwhile (each followed by the answers it causes). */
  advance(ms: number): void {
    const endMs = this.nowMs + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.dueMs <= endMs).sort((a, b) => a.dueMs - b.dueMs || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.nowMs = Math.max(this.nowMs, due.dueMs);
      this.feed({ type: 'timer', id: due.id });
      this.run();
    }
    this.nowMs = endMs;
  }

  /** Heartbeat ticks every HEARTBEAT_INTERVAL_MS for `ms`; `heard`: who answered other requests before each (none by default). */
  tickFor(ms: number, heard?: () => Heard): void {
    const endMs = this.nowMs + ms;
    while (this.nowMs + HEARTBEAT_INTERVAL_MS <= endMs) {
      this.advance(HEARTBEAT_INTERVAL_MS);
      this.feed(heard ? { type: 'tick', heard: heard() } : { type: 'tick' });
      this.run();
    }
  }

  since(mark: number): KeeperEffect[] {
    return this.effects.slice(mark);
  }

  dbRequests(type: DbRequest['type'], effects: KeeperEffect[] = this.effects): Array<Extract<KeeperEffect, { type: 'db-request' }>> {
    return effects.filter((effect): effect is Extract<KeeperEffect, { type: 'db-request' }> => effect.type === 'db-request' && effect.request.type === type);
  }

  logs(effects: KeeperEffect[] = this.effects): string[] {
    return effects.flatMap((effect) => (effect.type === 'log' ? [effect.line] : []));
  }

  proposals(effects: KeeperEffect[] = this.effects): View[] {
    return this.dbRequests('db.accept', effects).map((effect) => (effect.request as { view: View }).view);
  }

  has(type: KeeperEffect['type'], effects: KeeperEffect[] = this.effects): boolean {
    return effects.some((effect) => effect.type === type);
  }
}

/** A keeper joined to a view with the other members `others`. */
function joined(others: number[], random = 0, initial?: View): Harness {
  const harness = new Harness(initial ?? viewOf(0, others.map(peer)), random, initial !== undefined);
  harness.feed({ type: 'join' });
  harness.run();
  return harness;
}

test('join: learns the chosen view, proposes itself as a new life, installs the chosen view, then starts heartbeats', (t) => {
  const harness = joined([2, 3]);
  const self = harness.core.self;
  t.is(self.incarnation, '1.k1');
  t.true(harness.dbRequests('db.view').length >= 2);
  const [proposal] = harness.proposals();
  t.deepEqual(proposal?.members, [self, peer(2), peer(3)]);
  const install = harness.effects.find((effect) => effect.type === 'engine-install');
  t.like(install, { type: 'engine-install', view: { epoch: 1 }, replaced: false });
  t.is(harness.core.installedEpoch, 1);
  const types = harness.effects.map((effect) => effect.type);
  t.true(types.indexOf('start-heartbeats') < types.indexOf('joined'));
  t.true(types.indexOf('engine-install') < types.indexOf('joined'));
});

test('a chosen view is written to a majority of the acceptors before it is installed', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  // The proposer's own db.chosen (the majority write after the choice) is held at two of the three.
  harness.hold = (request) => request.type === 'db-request' && request.request.type === 'db.chosen' && request.database !== 1;
  harness.feed({ type: 'join' });
  harness.run();
  t.true(harness.dbRequests('db.chosen').length - harness.held.length >= 1);
  t.false(harness.has('engine-stop'), 'no installation before a majority has the chosen view');
  t.false(harness.effects.some((effect) => effect.type === 'peer-request' && effect.request.type === 'peer.stop'));
  harness.hold = () => false;
  harness.release();
  t.true(harness.has('engine-stop'));
  t.is(harness.core.installedEpoch, 1);
});

test('the installer tells every database of the view that it was chosen before it stops the members or reads a log', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  // DATABASE2 does not answer db.chosen (the majority write after the choice is done without it).
  harness.hold = (request) => request.type === 'db-request' && request.request.type === 'db.chosen' && request.database === 2;
  harness.feed({ type: 'join' });
  harness.run();
  t.true(harness.dbRequests('db.chosen').some((effect) => effect.database === 2));
  t.false(harness.has('engine-stop'), 'no member is stopped before DATABASE2 knows the view');
  t.deepEqual(harness.dbRequests('db.commits'), []);
  harness.hold = () => false;
  harness.release();
  const stopAt = harness.effects.findIndex((effect) => effect.type === 'engine-stop');
  t.true(stopAt >= 0);
  t.deepEqual(harness.dbRequests('db.commits').map((effect) => effect.database).sort(), [1, 2, 3]);
  t.true(harness.dbRequests('db.commits').every((read) => harness.effects.indexOf(read) > stopAt));
  t.is(harness.core.installedEpoch, 1);
});

test('an older INSTALL is ignored while stopped for a newer view', (t) => {
  const harness = joined([2]);
  const self = harness.core.self;
  const members = [peer(2), self];
  const mark = harness.effects.length;
  harness.feed({ type: 'stop-requested', replyId: 1, view: viewOf(3, members) });
  harness.run();
  t.true(harness.since(mark).some((effect) => effect.type === 'reply' && effect.replyId === 1 && effect.answer.ok));
  const effects = harness.feed({ type: 'install-requested', replyId: 2, view: viewOf(2, members), clock: 9 });
  t.false(harness.has('engine-install', effects), 'installing view 2 would make the engine validate after it stopped for view 3');
  t.like(effects.find((effect) => effect.type === 'reply'), { replyId: 2, answer: { ok: true } });
  t.is(harness.core.installedEpoch, 1);
  const newer = harness.feed({ type: 'install-requested', replyId: 3, view: viewOf(3, members), clock: 9 });
  t.true(harness.has('engine-install', newer));
  t.is(harness.core.installedEpoch, 3);
});

test('a STOP or INSTALL for a view without this life is refused FENCED', (t) => {
  const harness = joined([2]);
  const effects = harness.feed({ type: 'install-requested', replyId: 1, view: viewOf(2, [peer(2)]), clock: 9 });
  t.like(effects.find((effect) => effect.type === 'reply'), { answer: { ok: false, error: { code: 'FENCED' } } });
  const stop = harness.feed({ type: 'stop-requested', replyId: 2, view: viewOf(3, [peer(2)]) });
  t.like(stop.find((effect) => effect.type === 'reply'), { answer: { ok: false, error: { code: 'FENCED' } } });
});

test('a member removed while it stops for a view refuses that STOP (FENCED) instead of answering its clock: its decided writes ended unknown, not finished', (t) => {
  const harness = joined([2]);
  const view = viewOf(harness.core.installedEpoch + 1, [harness.core.self, peer(2)]);
  harness.hold = (request) => request.type === 'engine-stop';
  harness.feed({ type: 'stop-requested', replyId: 7, view });
  harness.run();
  t.is(harness.held.length, 1, 'the engine is stopping: a decided write is not finished');
  harness.hold = () => false;
  harness.feed({ type: 'fenced', detail: 'DATABASE2 accepted a view without this life' });
  const mark = harness.effects.length;
  harness.release((request) => request.type === 'engine-stop');
  const reply = harness.since(mark).find((effect) => effect.type === 'reply' && effect.replyId === 7);
  t.like(reply, { answer: { ok: false, error: { code: 'FENCED' } } });
});

test('FENCED from a database during an installation ends this life: a new incarnation rejoins', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  let fenced = true;
  harness.refuse = (_database, request) => (fenced && request.type === 'db.commits' ? { code: 'FENCED', message: 'fenced by view 2' } : null);
  harness.feed({ type: 'join' });
  harness.run();
  const first = harness.proposals()[0]!;
  t.true(harness.has('engine-removed'), 'the engine drops the old life');
  t.is(harness.core.self.incarnation, '2.k2', 'one new life, however many databases refused');
  fenced = false;
  harness.advance(ATTEMPT_TIMEOUT_MS * 4);
  const later = harness.proposals().filter((view) => view.epoch > first.epoch);
  t.true(later.some((view) => isMember(view, harness.core.self)), 'the new life proposes itself');
  t.true(later.every((view) => !isMember(view, { id: SELF_ID, incarnation: '1.k1' })), 'the old life is not added back');
  t.is(harness.core.installedEpoch, 2);
});

test('a change ends once the life that began it is over (the rejoin takes over)', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  // The join waits for the databases' views.
  harness.hold = (request) => request.type === 'db-request' && request.request.type === 'db.view';
  harness.feed({ type: 'join' });
  harness.run();
  const old = harness.core.self;
  harness.feed({ type: 'fenced', detail: 'a newer view removed it' });
  harness.run();
  const renewed = harness.core.self;
  t.not(renewed.incarnation, old.incarnation);
  harness.hold = () => false;
  harness.release();
  harness.advance(ATTEMPT_TIMEOUT_MS);
  const proposals = harness.proposals();
  t.false(proposals.some((view) => isMember(view, old)), 'nothing is proposed on behalf of the life that is over');
  t.true(proposals.some((view) => isMember(view, renewed)));
  t.is(harness.effects.filter((effect) => effect.type === 'joined').length, 1, 'the old join ends (the rejoin goes on)');
  t.true(harness.logs().some((line) => line.startsWith('rejoined as incarnation')));
});

test('an abandoned installation learns the newest chosen view again', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  harness.silent.add(2);
  harness.feed({ type: 'join' });
  harness.run();
  const before = harness.dbRequests('db.view').length;
  const mark = harness.effects.length;
  harness.advance(INSTALL_STALL_MS + 500);
  t.true(harness.logs(harness.since(mark)).some((line) => line.startsWith('installation of view 1 abandoned')));
  t.true(harness.dbRequests('db.view').length > before, 'the databases are asked again for the newest chosen view');
});

test('a life a chosen view had and a newer one lacks goes on as a new incarnation', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  harness.silent.add(2);
  harness.feed({ type: 'join' });
  harness.run();
  const old = harness.core.self;
  t.true(isMember(harness.proposals()[0]!, old));
  // Meanwhile DATABASE-side, view 2 removed this life (before it installed anything).
  for (const acceptor of harness.acceptors.values()) acceptor.handle({ type: 'chosen', view: viewOf(2, [peer(2)]) });
  const mark = harness.effects.length;
  // Member 2 stays silent until the installation of view 1 is abandoned.
  harness.advance(INSTALL_STALL_MS + 300);
  harness.silent.delete(2);
  harness.advance(1_000);
  t.not(harness.core.self.incarnation, old.incarnation);
  t.true(harness.has('engine-removed', harness.since(mark)));
  const proposals = harness.proposals(harness.since(mark));
  t.true(proposals.length > 0);
  t.true(proposals.every((view) => !isMember(view, old)), 'the removed life is not added back');
  t.true(proposals.some((view) => view.epoch === 3 && isMember(view, harness.core.self)));
});

test('suspects found while a removal runs join that removal', (t) => {
  const harness = joined([2, 3, 4, 5]);
  // The removal cannot get its view chosen: the databases hold every prepare.
  harness.hold = (request) => request.type === 'db-request' && request.request.type === 'db.prepare';
  harness.silent.add(2);
  harness.tickFor(SUSPECT_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS);
  t.true(harness.logs().some((line) => line.startsWith('suspecting MIDDLEWARE2')));
  t.true(harness.logs().some((line) => line.includes('remove MIDDLEWARE2 (1.p2) (members')));
  harness.silent.add(3);
  const mark = harness.effects.length;
  harness.tickFor(SUSPECT_AFTER_MS + ATTEMPT_TIMEOUT_MS + 1_000);
  const lines = harness.logs(harness.since(mark));
  t.true(lines.some((line) => line.startsWith('suspecting MIDDLEWARE3')));
  t.false(lines.some((line) => line.startsWith('suspecting MIDDLEWARE2')), 'a target already in the removal is not suspected again');
  t.true(lines.some((line) => line.includes('remove MIDDLEWARE2 (1.p2), MIDDLEWARE3 (1.p3)')), 'the removal\'s next round takes the new suspect along');
  harness.hold = () => false;
  harness.release();
  harness.tickFor(1_000);
  const last = harness.core.installed!;
  t.false(last.members.some((member) => member.id === 2 || member.id === 3));
});

test('one that suspects most of the others waits SUSPECT_MINORITY_WAIT_MS before proposing', (t) => {
  const harness = joined([2, 3]);
  harness.silent.add(2);
  harness.silent.add(3);
  const mark = harness.effects.length;
  harness.tickFor(SUSPECT_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS);
  t.deepEqual(harness.proposals(harness.since(mark)), [], 'suspecting both others, it waits: it may be the one cut off');
  t.deepEqual(harness.core.suspected.map((suspicion) => suspicion.id).sort(), [2, 3]);
  harness.tickFor(SUSPECT_MINORITY_WAIT_MS);
  const proposals = harness.proposals(harness.since(mark));
  t.true(proposals.length > 0);
  t.deepEqual(proposals[0]!.members, [harness.core.self]);
});

test('a majority suspicion is acted on without the wait', (t) => {
  const harness = joined([2, 3]);
  harness.silent.add(2);
  const mark = harness.effects.length;
  harness.tickFor(SUSPECT_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS);
  t.true(harness.proposals(harness.since(mark)).some((view) => !view.members.some((member) => member.id === 2)));
});

test('a process that was paused does not suspect the others for its own pause', (t) => {
  const harness = joined([2]);
  harness.tickFor(600);
  // Paused: no tick, no answer, for twice the suspicion time.
  harness.silent.add(2);
  harness.advance(SUSPECT_AFTER_MS * 2);
  harness.silent.delete(2);
  const mark = harness.effects.length;
  harness.feed({ type: 'tick' });
  t.deepEqual(harness.core.suspected, []);
  t.false(harness.logs(harness.since(mark)).some((line) => line.startsWith('suspecting')));
  harness.run();
  harness.tickFor(600);
  t.deepEqual(harness.core.suspected, []);
});

test('a member heard through other requests gets a heartbeat only every HEARTBEAT_EVERY_TICKS_WHEN_HEARD ticks, and is not suspected while heard; once unheard and silent, it is', (t) => {
  const harness = joined([2, 3]);
  harness.silent.add(2); // its heartbeats go unanswered: only its other answers show it alive
  const mark = harness.effects.length;
  const ticks = 24;
  harness.tickFor(ticks * HEARTBEAT_INTERVAL_MS, () => ({ peers: [2, 3], databases: [] }));
  const heartbeatsTo = (member: number): number => harness.since(mark).filter((effect) => effect.type === 'peer-request' && effect.member === member && effect.request.type === 'peer.heartbeat').length;
  t.is(heartbeatsTo(2), ticks / HEARTBEAT_EVERY_TICKS_WHEN_HEARD);
  t.is(heartbeatsTo(3), ticks / HEARTBEAT_EVERY_TICKS_WHEN_HEARD);
  t.deepEqual(harness.core.suspected, [], `${ticks * HEARTBEAT_INTERVAL_MS} ms without a heartbeat answer from MIDDLEWARE2, but heard otherwise`);
  harness.tickFor(SUSPECT_AFTER_MS + 4 * HEARTBEAT_INTERVAL_MS, () => ({ peers: [3], databases: [] }));
  t.true(harness.logs(harness.since(mark)).some((line) => line.startsWith('suspecting MIDDLEWARE2')));
  t.deepEqual(harness.core.installed?.members.map((member) => member.id).sort(), [1, 3], 'removed');
});

test('a member stopped for a view whose INSTALL does not come finishes the installation after INSTALL_TAKEOVER_MS', (t) => {
  const harness = joined([2]);
  const view = viewOf(2, [peer(2), harness.core.self]);
  for (const acceptor of harness.acceptors.values()) acceptor.handle({ type: 'chosen', view });
  harness.feed({ type: 'stop-requested', replyId: 1, view });
  harness.run();
  const mark = harness.effects.length;
  harness.tickFor(INSTALL_TAKEOVER_MS - 2 * HEARTBEAT_INTERVAL_MS);
  t.false(harness.logs(harness.since(mark)).some((line) => line.includes('finishing its installation')));
  harness.tickFor(4 * HEARTBEAT_INTERVAL_MS);
  t.true(harness.logs(harness.since(mark)).some((line) => line.startsWith('view 2 was not installed')));
  t.true(harness.since(mark).some((effect) => effect.type === 'peer-request' && effect.request.type === 'peer.stop' && effect.member === 2));
  t.is(harness.core.installedEpoch, 2);
});

test('a heartbeat from a member that knows a newer view makes this one catch up and install it', (t) => {
  const harness = joined([2]);
  const view = viewOf(2, [peer(2), harness.core.self]);
  for (const acceptor of harness.acceptors.values()) acceptor.handle({ type: 'chosen', view });
  const effects = harness.feed({ type: 'heartbeat-requested', replyId: 1, from: peer(2), epoch: 2 });
  t.like(effects.find((effect) => effect.type === 'reply'), { answer: { ok: true, value: { epoch: 1 } } });
  t.true(harness.dbRequests('db.view', effects).length === DATABASES.length);
  harness.run();
  t.is(harness.core.installedEpoch, 2);
});

test('catching up with a view without this life ends it: a new incarnation rejoins', (t) => {
  const harness = joined([2]);
  const old = harness.core.self;
  for (const acceptor of harness.acceptors.values()) acceptor.handle({ type: 'chosen', view: viewOf(2, [peer(2)]) });
  harness.feed({ type: 'heartbeat-requested', replyId: 1, from: peer(2), epoch: 2 });
  harness.run();
  t.not(harness.core.self.incarnation, old.incarnation);
  t.true(harness.has('engine-removed'));
  t.true(harness.proposals().some((view) => view.epoch === 3 && isMember(view, harness.core.self)));
  t.is(harness.core.installedEpoch, 3);
});

test('leave: the view without this life is handed off by a heartbeat carrying its epoch, then the keeper closes', (t) => {
  const harness = joined([2]);
  const self = harness.core.self;
  // The other member has not installed the new view yet when first asked.
  harness.peerEpoch = 1;
  const mark = harness.effects.length;
  harness.feed({ type: 'leave' });
  harness.run();
  t.true(harness.proposals(harness.since(mark)).some((view) => view.epoch === 2 && !isMember(view, self)));
  t.false(harness.has('left', harness.since(mark)), 'no member has installed view 2 yet');
  harness.peerEpoch = 2;
  harness.advance(500);
  const after = harness.since(mark);
  t.true(harness.has('left', after));
  t.true(harness.has('stop-heartbeats', after));
  t.false(harness.has('engine-install', after), 'the leaver installs nothing: the members do');
  t.false(harness.has('engine-removed', after), 'leaving is not being removed');
  t.is(harness.core.installedEpoch, 2);
  t.true(harness.core.closed);
});

test('the last member leaving: the empty view counts as installed at once', (t) => {
  const harness = joined([]);
  harness.feed({ type: 'leave' });
  harness.run();
  t.true(harness.has('left'));
  t.deepEqual(harness.core.installed?.members, []);
});

test('a proposer that lost backs off by the injected random draw, then tries again on the newer view', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]), 0.5);
  // Another proposer holds a higher promise at every database.
  for (const acceptor of harness.acceptors.values()) acceptor.handle({ type: 'prepare', epoch: 1, ballot: { round: 100, proposer: 2, incarnation: '1.p2' } });
  harness.feed({ type: 'join' });
  harness.run();
  const timers = harness.effects.filter((effect) => effect.type === 'set-timer').map((effect) => (effect as { ms: number }).ms);
  t.true(timers.includes(75), 'the back-off is random() * BACKOFF_MS_MAX');
  harness.advance(100);
  const ballots = harness.dbRequests('db.prepare').map((effect) => (effect.request as { ballot: { round: number } }).ballot.round);
  t.true(ballots.some((round) => round > 100), 'the next try beats the promise it lost to');
});

test('a closed keeper stops heartbeating and its join gives up', (t) => {
  const harness = new Harness(viewOf(0, [peer(2)]));
  harness.hold = (request) => request.type === 'db-request' && request.request.type === 'db.view';
  harness.feed({ type: 'join' });
  harness.run();
  const effects = harness.feed({ type: 'close' });
  t.true(harness.has('stop-heartbeats', effects));
  harness.hold = () => false;
  harness.release();
  t.like(harness.effects.find((effect) => effect.type === 'join-failed'), { error: { code: 'MIDDLEWARE_LEAVING' } });
  t.deepEqual(harness.feed({ type: 'tick' }).filter((effect) => effect.type === 'peer-request'), []);
});

// ---- the databases ----

/** A keeper that watches the databases, joined to epoch 0 with databases `replicas` in sync and `joining`, and MIDDLEWARE2. */
function watchingDatabases(replicas: number[], joining: number[] = []): Harness {
  return joined([2], 0, { epoch: 0, members: [peer(2)], replicas, joining });
}

test('databases: one of the view\'s databases silent for the suspicion time is removed; the view keeps the others', (t) => {
  const harness = watchingDatabases([1, 2, 3]);
  harness.refuse = (database) => (database === 3 ? { code: 'TIMEOUT', message: 'no answer' } : null);
  harness.tickFor(SUSPECT_AFTER_MS + 4 * HEARTBEAT_INTERVAL_MS);
  t.deepEqual(harness.core.installed?.replicas, [1, 2]);
  t.true(harness.logs().some((line) => line.includes('suspecting DATABASE3')));
});

test('databases: an in-sync replica heard through other requests is asked db.view only every HEARTBEAT_EVERY_TICKS_WHEN_HEARD ticks; a joining one every tick; one no longer heard that stops answering is removed', (t) => {
  const harness = watchingDatabases([1, 2], [3]);
  harness.syncs.set(3, { joiningSince: 0, complete: false });
  harness.hold = (request) => request.type === 'db-request' && request.request.type === 'db.scan'; // no transfer runs meanwhile
  harness.tickFor(2 * HEARTBEAT_INTERVAL_MS); // a first db.view answer from each
  const mark = harness.effects.length;
  const ticks = 24;
  harness.tickFor(ticks * HEARTBEAT_INTERVAL_MS, () => ({ peers: [], databases: [1, 2, 3] }));
  const asked = (database: number): number => harness.dbRequests('db.view', harness.since(mark)).filter((effect) => effect.database === database).length;
  t.is(asked(1), ticks / HEARTBEAT_EVERY_TICKS_WHEN_HEARD);
  t.is(asked(2), ticks / HEARTBEAT_EVERY_TICKS_WHEN_HEARD);
  t.is(asked(3), ticks, 'a joining database reports its transfer on every tick');
  harness.refuse = (database) => (database === 2 ? { code: 'TIMEOUT', message: 'no answer' } : null);
  harness.tickFor(ticks * HEARTBEAT_INTERVAL_MS, () => ({ peers: [], databases: [1, 2, 3] }));
  t.deepEqual(harness.core.installed?.replicas, [1, 2], 'DATABASE2 answers other requests: it stays');
  harness.tickFor(SUSPECT_AFTER_MS + 4 * HEARTBEAT_INTERVAL_MS, () => ({ peers: [], databases: [1, 3] }));
  t.deepEqual(harness.core.installed?.replicas, [1]);
  t.true(harness.logs(harness.since(mark)).some((line) => line.includes('suspecting DATABASE2')));
});

test('databases: the last replica is never removed: with only it in sync and it silent, no view is proposed', (t) => {
  const harness = watchingDatabases([3], [1, 2]);
  const epoch = harness.core.installedEpoch;
  harness.refuse = (database, request) => (database === 3 && request.type === 'db.view' ? { code: 'TIMEOUT', message: 'no answer' } : null);
  harness.tickFor(SUSPECT_AFTER_MS * 2);
  t.is(harness.core.installedEpoch, epoch);
});

test('databases: one outside the view that answers again first learns the chosen view (where it is out), then joins', (t) => {
  const harness = watchingDatabases([1, 2]);
  const mark = harness.effects.length;
  harness.tickFor(RETURNING_AFTER_MS + 3 * HEARTBEAT_INTERVAL_MS);
  const told = harness.dbRequests('db.chosen', harness.since(mark)).filter((effect) => effect.database === 3);
  t.true(told.length > 0);
  t.deepEqual((told[0]!.request as { view: View }).view.joining, [], 'told a view without it');
  t.deepEqual(harness.core.installed?.joining, [3]);
  t.deepEqual(harness.core.installed?.replicas, [1, 2]);
});

test('databases: a joining database is brought up to date from a replica (scan, transfer, its records, done), then promoted once it reports the transfer complete', (t) => {
  const harness = watchingDatabases([1, 2], [3]);
  harness.syncs.set(3, { joiningSince: 0, complete: false });
  const mark = harness.effects.length;
  harness.tickFor(2 * HEARTBEAT_INTERVAL_MS);
  const sent = harness.since(mark);
  t.true(harness.dbRequests('db.scan', sent).every((effect) => effect.database === 1 || effect.database === 2));
  t.true(harness.dbRequests('db.transfer', sent).every((effect) => effect.database === 3));
  const done = harness.dbRequests('db.transfer-done', sent);
  t.is(done.length, 1);
  t.like(done[0]!.request, { epoch: 0 });
  t.deepEqual(harness.core.installed?.joining, [3], 'not promoted before it says so');
  harness.syncs.set(3, { joiningSince: 0, complete: true });
  harness.tickFor(3 * HEARTBEAT_INTERVAL_MS);
  t.deepEqual(harness.core.installed?.replicas, [1, 2, 3]);
  t.deepEqual(harness.core.installed?.joining, []);
});

test('databases: with fewer than a majority of the databases answering, the keeper says there is no quorum; with a majority again, there is', (t) => {
  const harness = watchingDatabases([1, 2, 3]);
  harness.tickFor(SUSPECT_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS);
  t.true(harness.core.hasDatabaseQuorum(harness.nowMs));
  harness.refuse = (database, request) => (database !== 1 && request.type === 'db.view' ? { code: 'TIMEOUT', message: 'no answer' } : null);
  harness.tickFor(SUSPECT_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS);
  t.false(harness.core.hasDatabaseQuorum(harness.nowMs));
  harness.refuse = () => null;
  harness.tickFor(2 * HEARTBEAT_INTERVAL_MS);
  t.true(harness.core.hasDatabaseQuorum(harness.nowMs));
});

test('databases: a transfer copies every page of the source once, in key order, reading the next page while one is written', (t) => {
  const harness = watchingDatabases([1, 2], [3]);
  harness.stored = Array.from({ length: TRANSFER_PAGE_ENTRIES * 3 + 7 }, (_, index) => ({ key: `k${String(index).padStart(6, '0')}`, version: [index + 1, 1] as [number, number], value: index }));
  harness.syncs.set(3, { joiningSince: 0, complete: false });
  const mark = harness.effects.length;
  harness.tickFor(2 * HEARTBEAT_INTERVAL_MS);
  const written = harness.dbRequests('db.transfer', harness.since(mark)).flatMap((effect) => (effect.request as { entries: Array<{ key: string }> }).entries.map((entry) => entry.key));
  t.deepEqual(written, harness.stored.map((entry) => entry.key));
  t.is(harness.dbRequests('db.transfer-done', harness.since(mark)).length, 1);
  t.is(harness.core.transfer, null, 'the transfer is over');
});

test('databases: one that dies while the view that lets it join is being installed is removed on top of that chosen view, which is then not needed', (t) => {
  const harness = watchingDatabases([1, 2]);
  let dead = false;
  harness.hold = (request) => request.type === 'db-request' && request.database === 3 && request.request.type === 'db.chosen' && request.request.view.joining.includes(3);
  harness.refuse = (database, request) => (dead && database === 3 && request.type !== 'db.chosen' ? { code: 'TIMEOUT', message: 'no answer' } : null);
  harness.tickFor(RETURNING_AFTER_MS + 3 * HEARTBEAT_INTERVAL_MS);
  const joinView = harness.core.chosen!;
  t.deepEqual(joinView.joining, [3], 'the join is chosen');
  t.true(harness.core.installedEpoch < joinView.epoch, 'and not installed: DATABASE3 does not answer its first step');
  dead = true;
  harness.tickFor(SUSPECT_AFTER_MS + INSTALL_STALL_MS + 6 * HEARTBEAT_INTERVAL_MS);
  t.true(harness.core.installedEpoch > joinView.epoch, `installed ${harness.core.installedEpoch}`);
  t.deepEqual(harness.core.installed?.replicas, [1, 2]);
  t.deepEqual(harness.core.installed?.joining, []);
});

test('databases: a keeper whose process was paused does not say there is no quorum for the old silence: its answers are old, not missing', (t) => {
  const harness = watchingDatabases([1, 2, 3]);
  harness.tickFor(SUSPECT_AFTER_MS + 2 * HEARTBEAT_INTERVAL_MS);
  harness.advance(3 * SUSPECT_AFTER_MS);
  t.true(harness.core.hasDatabaseQuorum(harness.nowMs), 'just woken, before its first tick');
  harness.tickFor(HEARTBEAT_INTERVAL_MS);
  t.true(harness.core.hasDatabaseQuorum(harness.nowMs), 'after its first tick');
});
