// The decisions of a middleware that keeps itself in the cluster's views (docs/design.md,
// "Failures"), as one pure state machine: it joins as a new life, proposes view changes with the
// Paxos proposer (proposer.ts) on the databases, installs chosen views (installer.ts) at the
// members and the databases, watches the other members by heartbeats (detector.ts) and proposes
// to remove the silent ones, takes over an installation that stalls, catches up with newer
// views, goes on as a new incarnation when a newer view removed its life, and leaves with a
// hand-off. It does no I/O and reads no clock: every event carries the time (`nowMs`), chance
// comes from the injected `random()`, new incarnations from the injected `nextIncarnation()`;
// what it wants done comes out as effects (send this request, set that timer, stop the engine,
// log a line...), and their answers come back as events naming the effect's id.
// Two shells carry it: middleware/views.ts over the real network, timers and engine, and
// test/simulation/view-keeper.ts over the simulated world. Neither takes a decision of its own.
import { databasesOf, isMember, neverRan, nextView, removedMembers, sameMember, type ViewChange } from './changes.js';
import { FailureDetector, type Suspicion } from './detector.js';
import { Installation, type CommitRecord, type InstallationEffect, type InstallationEvent, type StoredEntry } from './installer.js';
import { ProposerAttempt, type ProposerEffect, type ProposerEvent } from './proposer.js';
import { majorityOf, maxBallot, nextBallot, type Ballot, type Incarnation, type Member, type View } from './types.js';
import type { Timestamp } from '../timestamp/timestamp.js';

/** How often members ask each other whether they are alive. */
export const HEARTBEAT_INTERVAL_MS = 150;
/**
 * A member or an in-sync database that answered this life's other requests since the last tick
 * (votes, reads, APPLYs: `heard` on the tick) is alive without being asked: it is asked only
 * every this many ticks, for what the heartbeat carries besides (the epochs). Under load that
 * removes most of the heartbeats, which on two cores cost a few percent of the commits.
 */
export const HEARTBEAT_EVERY_TICKS_WHEN_HEARD = 4;
/** A member not heard from for this long is suspected (docs/design.md: "about a second"). */
export const SUSPECT_AFTER_MS = 1_000;
/**
 * One that suspects most of the others waits this much longer: if it is the one cut off, the
 * others remove it first, and it learns so before it would act.
 */
export const SUSPECT_MINORITY_WAIT_MS = 3_000;
export const HEARTBEAT_TIMEOUT_MS = 1_000;
/** Ask again the databases (or members) that have not answered a step. */
export const RESEND_MS = 250;
/** A proposal that gets no majority in this time gives up this round (NO_QUORUM) and tries again. */
export const ATTEMPT_TIMEOUT_MS = 2_000;
/** A proposer that lost draws its next try in [0, this). */
export const BACKOFF_MS_MAX = 150;
/** An installation that makes no progress this long is abandoned: a member it waits for is likely dead, and will be removed. */
export const INSTALL_STALL_MS = 2_000;
/** A stopped member that sees no INSTALL this long finishes the installation itself. */
export const INSTALL_TAKEOVER_MS = 1_500;
export const STOP_TIMEOUT_MS = 5_000;
/** How long a start or a leave may take to get its view chosen and installed. */
export const CHANGE_DEADLINE_MS = 60_000;
/** db.commits / db.read / db.recover (REPLICA_REQUEST_TIMEOUT_MS of middleware/replicas.ts). */
export const DB_REQUEST_TIMEOUT_MS = 10_000;
/** Entries per page of a state transfer (db.scan from the source, db.transfer to the joining database). */
export const TRANSFER_PAGE_ENTRIES = 2_000;
/** Pages of a state transfer read from the source and not yet written at the joining database, at most. */
export const TRANSFER_PAGES_AHEAD = 2;
/** A database outside the view that has answered for this long is asked to join. */
export const RETURNING_AFTER_MS = 500;
/** Rounds of change loops at one instant beyond which the keeper is spinning (a busy loop). */
export const SPIN_ROUNDS_MAX = 1_000;

/** Who answered a middleware's requests between two ticks: other members' ids, databases' ids. */
export interface Heard {
  peers: readonly number[];
  databases: readonly number[];
}

/** Why a request (or a change) failed: an error code of errors/catalogue.ts and its message. */
export interface Failure {
  code: string;
  message: string;
}

/** The failures a change retries after a pause; any other ends it. */
const RETRIED = ['NO_QUORUM', 'NODE_UNAVAILABLE', 'TIMEOUT'];

export type DbRequest =
  | { type: 'db.prepare'; epoch: number; ballot: Ballot }
  | { type: 'db.accept'; epoch: number; ballot: Ballot; view: View }
  | { type: 'db.chosen'; view: View }
  | { type: 'db.view' }
  | { type: 'db.commits'; from: Member; members: Member[] }
  | { type: 'db.read'; from: Member; keys: string[] }
  | { type: 'db.recover'; from: Member; entries: StoredEntry[]; drop: Timestamp[] }
  | { type: 'db.scan'; after?: string; limit: number }
  | { type: 'db.transfer'; from: Member; entries: StoredEntry[]; records: CommitRecord[] }
  | { type: 'db.transfer-done'; from: Member; epoch: number };

/** What a database says of its own state transfer (db.view): none when it is not joining. */
export type DatabaseSync = { joiningSince: number; complete: boolean } | null;

export type PeerRequest =
  | { type: 'peer.heartbeat'; from: Member; epoch: number }
  | { type: 'peer.stop'; from: Member; view: View }
  | { type: 'peer.install'; from: Member; view: View; clock: number };

export type Answer = { ok: true; value: unknown } | { ok: false; error: Failure };

export type KeeperEventBody =
  /** Start: join the cluster as this life (answered by `joined` or `join-failed`). */
  | { type: 'join' }
  /** Leave cleanly: a view without this life is chosen and installed (`left` or `leave-failed`). */
  | { type: 'leave' }
  | { type: 'close' }
  /**
   * The heartbeat interval (after `start-heartbeats`). `heard`: the members and databases that
   * answered other requests of this life since the last tick (none given: nobody).
   */
  | { type: 'tick'; heard?: Heard }
  /** Another member's requests; answered by a `reply` effect with the same `replyId`. */
  | { type: 'heartbeat-requested'; replyId: number; from: Member; epoch: number }
  | { type: 'stop-requested'; replyId: number; view: View }
  | { type: 'install-requested'; replyId: number; view: View; clock: number }
  /** A database refused this life (FENCED) on some other request: a newer view removed it. */
  | { type: 'fenced'; detail: string }
  /** The answer to a `db-request` or `peer-request` effect. */
  | { type: 'answered'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: Failure }
  /** A `set-timer` effect's time has come. */
  | { type: 'timer'; id: number }
  /** The engine's clock, answering `engine-stop` (once stopped) or `engine-clock`. */
  | { type: 'engine-stopped'; id: number; clock: number };

export type KeeperEvent = KeeperEventBody & { nowMs: number };

export type KeeperEffect =
  | { type: 'db-request'; id: number; database: number; request: DbRequest; timeoutMs: number }
  | { type: 'peer-request'; id: number; member: number; request: PeerRequest; timeoutMs: number }
  | { type: 'set-timer'; id: number; ms: number }
  | { type: 'cancel-timer'; id: number }
  /** The answer to a `*-requested` event. */
  | { type: 'reply'; replyId: number; answer: Answer }
  /** The engine stops validating; feed its clock back once nothing decided is unfinished. */
  | { type: 'engine-stop'; id: number; view: View }
  /** Feed the engine's clock back now. */
  | { type: 'engine-clock'; id: number }
  | { type: 'engine-install'; view: View; clock: number; replaced: boolean }
  /** This life is over: the engine drops every transaction of it. */
  | { type: 'engine-removed' }
  | { type: 'start-heartbeats'; intervalMs: number }
  | { type: 'stop-heartbeats' }
  | { type: 'joined' }
  | { type: 'join-failed'; error: Failure }
  | { type: 'left' }
  | { type: 'leave-failed'; error: Failure }
  /** A view this life saw chosen or adopted by a proposal (the simulation checks one view per epoch). */
  | { type: 'chosen-seen'; view: View }
  /** The change loops ran SPIN_ROUNDS_MAX rounds without time passing; the next round waits RESEND_MS. */
  | { type: 'spinning'; detail: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; line: string };

export interface KeeperCoreOptions {
  id: number;
  /** Every database of the cluster file: the acceptors. */
  databases: number[];
  /** The skip-recovery fault (middleware/faults.ts): installations leave removed coordinators' records alone. */
  skipRecovery: boolean;
  /** A new incarnation: the durable boot counter plus one, and a fresh nonce. */
  nextIncarnation(): Incarnation;
  /** Uniform in [0, 1): the back-offs. */
  random(): number;
  nowMs: number;
  /**
   * Watch the databases too: remove one that stops answering, let one that returns join, bring
   * it up to date by a state transfer and promote it. Off where the shell cannot carry the
   * transfer's requests.
   */
  manageDatabases?: boolean;
  /** Broken on purpose, for the tests that show their checks catch it (middleware/faults.ts); never set in production. */
  faults?: KeeperFaults;
}

export interface KeeperFaults {
  /** A joining database is marked transfer-complete without a copy. */
  skipTransfer?: boolean;
  /** A database that returns goes straight into the replicas, its store as it was. */
  admitReturningInSync?: boolean;
  /** Installations recover on the replicas only, not on the joining databases. */
  recoverReplicasOnly?: boolean;
}

type Outcome = { type: 'chosen'; view: View; acceptedBy: number[] } | { type: 'adopt'; view: View } | { type: 'outbid' };

export class KeeperCore {
  private selfNow: Member;
  private installedNow: View | null = null;
  /** The newest chosen view this middleware knows (installed or not). */
  private chosenNow: View | null = null;
  private highestBallot: Ballot | null = null;
  private readonly detector = new FailureDetector(SUSPECT_AFTER_MS);
  private suspicions: Suspicion[] = [];
  /** When the suspicions began to be a majority of the others (the wait before acting on them). */
  private minoritySinceMs: number | null = null;
  /** Epoch -> whoever waits for the installation running here (one at a time per epoch). */
  private readonly installations = new Map<number, Array<(installed: boolean) => void>>();
  private removal = false;
  /** The lives the removal under way removes; suspects found while it runs are added. */
  private removalTargets: Member[] = [];
  private rejoining = false;
  private catchingUp = false;
  private lastTickMs: number;
  /** Ticks since the start: who was heard otherwise gets a heartbeat on every HEARTBEAT_EVERY_TICKS_WHEN_HEARD-th. */
  private ticks = 0;
  private leaving = false;
  private closedNow = false;
  /** Stopped for a view not installed yet, since when: a member takes over an installation that stalls. */
  private stoppedFor: { view: View; sinceMs: number } | null = null;
  /** This life is a member of some chosen view it learned: a newer chosen view without it ends it. */
  private chosenWithSelf = false;
  private nowMs: number;
  private nextId = 1;
  /** Effect id -> what to do with its answer. */
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private out: KeeperEffect[] = [];
  private spinAtMs = -1;
  private spins = 0;
  private readonly databaseDetector = new FailureDetector(SUSPECT_AFTER_MS);
  /** Database -> its sync state as its last db.view answer gave it, and since when it has answered without a gap. */
  private readonly databaseAnswers = new Map<number, { sync: DatabaseSync; answeringSinceMs: number; lastMs: number }>();
  /** When a database last answered a db.view. */
  private lastDatabaseAnswerMs: number | null = null;
  /** When this member began to watch the databases (its first tick as a member). */
  private databasesWatchedSinceMs: number | null = null;
  /** A join or a promotion is under way (one at a time). */
  private databaseChange = false;
  /** A removal of databases is under way (one at a time, beside a join or a promotion). */
  private databaseRemoval = false;
  /** The state transfer running here: to which database, and how many entries it copied. */
  private transferNow: { database: number; source: number; copied: number } | null = null;

  constructor(private readonly options: KeeperCoreOptions) {
    this.nowMs = options.nowMs;
    this.lastTickMs = options.nowMs;
    this.selfNow = { id: options.id, incarnation: options.nextIncarnation() };
  }

  get self(): Member {
    return this.selfNow;
  }

  get installed(): View | null {
    return this.installedNow;
  }

  get installedEpoch(): number {
    return this.installedNow?.epoch ?? -1;
  }

  get chosen(): View | null {
    return this.chosenNow;
  }

  get closed(): boolean {
    return this.closedNow;
  }

  /**
   * Whether a majority of the cluster file's databases answered within SUSPECT_AFTER_MS of
   * `nowMs`. Without it no view can be chosen, and no write can be acknowledged: the side of a
   * partition that lacks it answers NO_QUORUM at once, read-only transactions included (true
   * until the databases have been watched that long, and when they are not watched).
   */
  hasDatabaseQuorum(nowMs: number): boolean {
    if (!this.options.manageDatabases || this.databasesWatchedSinceMs === null || nowMs - this.databasesWatchedSinceMs < SUSPECT_AFTER_MS) return true;
    // No tick for a while: this process was paused or blocked, and its answers are old, not missing.
    if (nowMs - this.lastTickMs > SUSPECT_AFTER_MS / 2) return true;
    let answering = 0;
    for (const answer of this.databaseAnswers.values()) if (nowMs - answer.lastMs <= SUSPECT_AFTER_MS) answering += 1;
    return answering >= majorityOf(this.options.databases.length);
  }

  /** The databases of the view suspected now (silent since the suspicion time), for `status`. */
  suspectedDatabases(nowMs: number): Array<{ id: number; why: string }> {
    if (!this.options.manageDatabases) return [];
    return this.databaseDetector.suspects(nowMs).map((suspicion) => ({ id: suspicion.id, why: `no answer for ${(suspicion.silentMs / 1000).toFixed(1)} s` }));
  }

  /** The state transfer this member runs now, for `status`. */
  get transfer(): { database: number; source: number; copied: number } | null {
    return this.transferNow ? { ...this.transferNow } : null;
  }

  /** Why members are suspected now, for `status`. */
  get suspected(): Array<{ id: number; why: string }> {
    return this.suspicions.map((suspicion) => ({ id: suspicion.id, why: `no heartbeat answer for ${(suspicion.silentMs / 1000).toFixed(1)} s` }));
  }

  handle(event: KeeperEvent): KeeperEffect[] {
    const out: KeeperEffect[] = [];
    this.out = out;
    this.nowMs = Math.max(this.nowMs, event.nowMs);
    this.dispatch(event);
    this.out = [];
    return out;
  }

  private dispatch(event: KeeperEvent): void {
    switch (event.type) {
      case 'join': return this.join();
      case 'leave': return this.leave();
      case 'close': return this.close();
      case 'tick': return this.tick(event.heard);
      case 'heartbeat-requested': {
        const answer = this.onHeartbeat(event.from, event.epoch);
        return this.emit({ type: 'reply', replyId: event.replyId, answer: { ok: true, value: answer } });
      }
      case 'stop-requested':
        return this.onStop(event.view, (clock) => this.emit({ type: 'reply', replyId: event.replyId, answer: { ok: true, value: { clock } } }), (error) => this.emit({ type: 'reply', replyId: event.replyId, answer: { ok: false, error } }));
      case 'install-requested': {
        const error = this.onInstall(event.view, event.clock);
        return this.emit({ type: 'reply', replyId: event.replyId, answer: error ? { ok: false, error } : { ok: true, value: {} } });
      }
      case 'fenced': return this.onFenced(event.detail);
      case 'answered': return this.settle(event.id, { ok: true, value: event.value });
      case 'failed': return this.settle(event.id, { ok: false, error: event.error });
      case 'timer': return this.settle(event.id, { ok: true, value: undefined });
      case 'engine-stopped': return this.settle(event.id, { ok: true, value: event.clock });
    }
  }

  // ---- effects and their answers ----

  private emit(effect: KeeperEffect): void {
    this.out.push(effect);
  }

  /** Suspicions acted on (a removal proposed) since the start, of members and of databases: what the metrics count. */
  readonly suspicionsRaised = { middlewares: 0, databases: 0 };

  private log(level: 'info' | 'warn' | 'error', line: string): void {
    this.emit({ type: 'log', level, line });
  }

  private settle(id: number, answer: Answer): void {
    const then = this.waiting.get(id);
    if (!then) return;
    this.waiting.delete(id);
    then(answer);
  }

  private await(then: (answer: Answer) => void): number {
    const id = this.nextId++;
    this.waiting.set(id, then);
    return id;
  }

  private db(database: number, request: DbRequest, timeoutMs: number, answered: (value: unknown) => void, failed: (error: Failure) => void): void {
    const id = this.await((answer) => (answer.ok ? answered(answer.value) : failed(answer.error)));
    this.emit({ type: 'db-request', id, database, request, timeoutMs });
  }

  private peer(member: number, request: PeerRequest, timeoutMs: number, answered: (value: unknown) => void, failed: (error: Failure) => void): void {
    const id = this.await((answer) => (answer.ok ? answered(answer.value) : failed(answer.error)));
    this.emit({ type: 'peer-request', id, member, request, timeoutMs });
  }

  private after(ms: number, run: () => void): number {
    const id = this.await(() => run());
    this.emit({ type: 'set-timer', id, ms });
    return id;
  }

  private cancel(timer: number): void {
    if (this.waiting.delete(timer)) this.emit({ type: 'cancel-timer', id: timer });
  }

  private engine(type: 'engine-stop' | 'engine-clock', then: (clock: number) => void, view?: View): void {
    const id = this.await((answer) => {
      if (answer.ok) then(answer.value as number);
    });
    this.emit(type === 'engine-stop' ? { type, id, view: view! } : { type, id });
  }

  // ---- join, leave, close ----

  private join(): void {
    this.log('info', `MIDDLEWARE${this.options.id} is incarnation ${this.selfNow.incarnation}; joining`);
    this.change({ type: 'add', member: this.selfNow }, () => this.memberOfInstalled(), (error) => {
      if (error) return this.emit({ type: 'join-failed', error });
      this.emit({ type: 'start-heartbeats', intervalMs: HEARTBEAT_INTERVAL_MS });
      this.emit({ type: 'joined' });
    });
  }

  private leave(): void {
    this.leaving = true;
    const self = this.selfNow;
    this.change({ type: 'remove', members: [self] }, () => this.chosenNow !== null && !isMember(this.chosenNow, self) && this.installedEpoch >= this.chosenNow.epoch, (error) => {
      this.close();
      this.emit(error ? { type: 'leave-failed', error } : { type: 'left' });
    });
  }

  private close(): void {
    if (!this.closedNow) this.emit({ type: 'stop-heartbeats' });
    this.closedNow = true;
  }

  // ---- answers to the other members ----

  /**
   * A heartbeat carries the newest epoch its sender knows chosen, and is answered with the epoch
   * installed here. A sender that knows of a view this member does not makes it catch up (learn
   * the view, and install it or learn that its life is over).
   */
  private onHeartbeat(from: Member, epoch: number): { from: Member; epoch: number } {
    this.detector.heard(from.id, this.nowMs);
    if (epoch > this.chosenEpoch) this.catchUp();
    return { from: this.selfNow, epoch: this.installedEpoch };
  }

  /** Installing `view`, step one at this member: stop validating; answer the clock once nothing decided is unfinished. */
  private onStop(view: View, answer: (clock: number) => void, fail: (error: Failure) => void): void {
    this.learn(view);
    if (view.epoch <= this.installedEpoch) return this.engine('engine-clock', answer);
    if (!isMember(view, this.selfNow)) return fail(this.fenced(view));
    if (!this.stoppedFor || this.stoppedFor.view.epoch < view.epoch) this.stoppedFor = { view, sinceMs: this.nowMs };
    const life = this.selfNow;
    this.engine('engine-stop', (clock) => {
      // Removed while it stopped: its decided transactions ended unknown, not finished on the
      // view's databases, so its clock vouches for nothing. The installation must not go on
      // with it (the view removing it recovers them).
      if (this.selfNow !== life) return fail({ code: 'FENCED', message: `MIDDLEWARE${this.options.id} incarnation ${life.incarnation} was removed while it stopped for view ${view.epoch}` });
      answer(clock);
    }, view);
  }

  /** Installing `view`, last step at this member: null once done (or nothing to do), else FENCED. */
  private onInstall(view: View, clock: number): Failure | null {
    this.learn(view);
    if (view.epoch <= this.installedEpoch) return null;
    if (!isMember(view, this.selfNow)) return this.fenced(view);
    // Stopped for a newer view already (its INSTALL overtaken by the stop of the next one):
    // installing this one would make the engine validate again, after it answered the newer
    // view's installer its clock as stopped. The newer INSTALL comes later; answering lets
    // this older installation end.
    if (this.stoppedFor && this.stoppedFor.view.epoch > view.epoch) return null;
    this.installLocally(view, clock);
    return null;
  }

  /** A database refused this life (FENCED): a newer view removed it. */
  private onFenced(detail: string): void {
    if (this.leaving || this.closedNow) return;
    this.removed(detail);
  }

  private fenced(view: View): Failure {
    return { code: 'FENCED', message: `MIDDLEWARE${this.options.id} incarnation ${this.selfNow.incarnation} is not a member of view ${view.epoch}` };
  }

  // ---- changes: Paxos, then installation ----

  /**
   * Proposes `changeNow` until `done` holds: each round proposes it on top of the newest chosen
   * view known, and installs whatever view gets chosen (ours, or one another proposer got chosen
   * first, which the next round builds on). `ended` gets null once done (or once the life that
   * began the change is over), else why it gave up.
   */
  private change(changeNow: ViewChange | (() => ViewChange), done: () => boolean, ended: (error: Failure | null) => void): void {
    const deadlineMs = this.nowMs + CHANGE_DEADLINE_MS;
    let life = this.selfNow;
    let source = changeNow;
    const current = (): ViewChange => (typeof source === 'function' ? source() : source);
    let lastFailure = '';
    let over = false;
    const end = (error: Failure | null): void => {
      if (over) return;
      over = true;
      ended(error);
    };
    const failed = (error: Failure): void => {
      if (over) return;
      if (!RETRIED.includes(error.code)) return end(error);
      if (error.message !== lastFailure) this.log('warn', `view change (${describeChange(current())}) did not go through: ${error.message}; trying again`);
      lastFailure = error.message;
      this.after(RESEND_MS + this.options.random() * BACKOFF_MS_MAX, round);
    };
    const installedOrNot = (installed: boolean): void => (installed ? round() : this.afterAbandoned(round, failed));
    const round = (): void => {
      if (over) return;
      if (this.spinning(current)) {
        this.after(RESEND_MS, round);
        return;
      }
      if (done()) return end(null);
      if (this.closedNow) return end({ code: 'MIDDLEWARE_LEAVING', message: `MIDDLEWARE${this.options.id} is shutting down` });
      // The life that began this change is over: a rejoin as a new life has taken over. Going on
      // would propose on behalf of a life that is gone (an old join would even add it back), and a
      // removal whose suspects are gone would loop here without ever waiting, since
      // ensureInstalled answers at once for a view this life is not in.
      if (this.selfNow !== life) return end(null);
      if (this.nowMs > deadlineMs) return end({ code: 'NO_QUORUM', message: `MIDDLEWARE${this.options.id} could not get a view chosen and installed in ${CHANGE_DEADLINE_MS / 1000} s${lastFailure ? ` (last: ${lastFailure})` : ''}` });
      if (!this.chosenNow) return this.learnChosen(round, failed);
      const previous = this.chosenNow;
      const change = current();
      // A life that a chosen view had and a newer one removed is over, even if it never
      // installed a view (removed while joining): adding it again would take back a removed
      // life. It goes on as a new one (this loop is the join or the rejoin).
      if (change.type === 'add' && this.chosenWithSelf && !isMember(previous, this.selfNow) && !this.leaving) {
        this.newLife(`view ${previous.epoch} does not have it`);
        life = this.selfNow;
        source = { type: 'add', member: life };
        return round();
      }
      const proposal = nextView(previous, change);
      if (proposal === null) return this.ensureInstalled(previous, installedOrNot);
      this.log('info', `proposing view ${proposal.epoch}: ${describeChange(change)} (members ${formatMembers(proposal.members)})`);
      this.propose(previous, proposal, (outcome) => {
        if (outcome.type === 'outbid') {
          this.after(this.options.random() * BACKOFF_MS_MAX, round);
          return;
        }
        this.learn(outcome.view);
        const install = (): void => this.ensureInstalled(outcome.view, installedOrNot);
        if (outcome.type !== 'chosen') return install();
        this.log('info', `view ${outcome.view.epoch} chosen (accepted by ${outcome.acceptedBy.map((id) => `DATABASE${id}`).join(', ')}): members ${formatMembers(outcome.view.members)}`);
        // Recorded at a majority of the acceptors before it is installed: whoever asks them next
        // (a member catching up, a takeover) learns it.
        const view = outcome.view;
        this.fromMajority('db.chosen', (database, answered, fail) => this.db(database, { type: 'db.chosen', view }, ATTEMPT_TIMEOUT_MS, answered, fail), install, failed);
      }, failed);
    };
    round();
  }

  /** Production's change loop goes on without waiting when a step answers at once; that many rounds at one instant is a busy loop. */
  private spinning(current: () => ViewChange): boolean {
    if (this.nowMs !== this.spinAtMs) {
      this.spinAtMs = this.nowMs;
      this.spins = 0;
    }
    this.spins += 1;
    if (this.spins <= SPIN_ROUNDS_MAX) return false;
    this.spins = 0;
    this.emit({ type: 'spinning', detail: `MIDDLEWARE${this.options.id} life ${this.selfNow.incarnation}: change (${describeChange(current())}) loops without waiting (installed ${this.installedEpoch}, chosen ${this.chosenEpoch})` });
    return true;
  }

  /**
   * An installation was abandoned: after a back-off, learn the newest chosen view again. A newer
   * view may have superseded it, or removed this life (a joining life removed before it
   * installed anything hears of it from nobody else); retrying the same view would not see that.
   */
  private afterAbandoned(then: () => void, failed: (error: Failure) => void): void {
    this.after(this.options.random() * BACKOFF_MS_MAX, () => this.learnChosen(then, failed));
  }

  /** One Paxos attempt for the epoch after `previous`; NO_QUORUM when no majority answers in ATTEMPT_TIMEOUT_MS. */
  private propose(previous: View, proposal: View, settled: (outcome: Outcome) => void, failed: (error: Failure) => void): void {
    const ballot = nextBallot(this.highestBallot, this.options.id, this.selfNow.incarnation);
    this.highestBallot = ballot;
    const attempt = new ProposerAttempt({ previous, ballot, proposal, acceptors: this.options.databases });
    let ended = false;
    let resendTimer = 0;
    const finish = (then: () => void): void => {
      if (ended) return;
      ended = true;
      this.cancel(resendTimer);
      this.cancel(deadline);
      then();
    };
    const resend = (): void => {
      if (ended) return;
      resendTimer = this.after(RESEND_MS, resend);
      run(attempt.handle({ type: 'resend' }));
    };
    resendTimer = this.after(RESEND_MS, resend);
    const deadline = this.after(ATTEMPT_TIMEOUT_MS, () => finish(() => failed({ code: 'NO_QUORUM', message: `no majority of the ${this.options.databases.length} databases answered the proposal of view ${proposal.epoch}` })));
    const feed = (event: ProposerEvent): void => {
      if (!ended) run(attempt.handle(event));
    };
    const ignore = (): void => undefined;
    const answered = (database: number) => (answer: unknown): void => feed({ ...(answer as object), from: database } as ProposerEvent);
    const run = (effects: ProposerEffect[]): void => {
      for (const effect of effects) {
        switch (effect.type) {
          case 'send-prepare':
            for (const database of effect.to) this.db(database, { type: 'db.prepare', epoch: effect.epoch, ballot: effect.ballot }, ATTEMPT_TIMEOUT_MS, answered(database), ignore);
            break;
          case 'send-accept':
            for (const database of effect.to) this.db(database, { type: 'db.accept', epoch: effect.epoch, ballot: effect.ballot, view: effect.view }, ATTEMPT_TIMEOUT_MS, answered(database), ignore);
            break;
          case 'send-chosen':
            for (const database of effect.to) this.db(database, { type: 'db.chosen', view: effect.view }, ATTEMPT_TIMEOUT_MS, ignore, ignore);
            break;
          case 'chosen':
            this.emit({ type: 'chosen-seen', view: effect.view });
            finish(() => settled({ type: 'chosen', view: effect.view, acceptedBy: effect.acceptedBy }));
            break;
          case 'adopt':
            this.emit({ type: 'chosen-seen', view: effect.view });
            finish(() => settled({ type: 'adopt', view: effect.view }));
            break;
          case 'outbid':
            this.highestBallot = maxBallot(this.highestBallot, effect.ballot);
            finish(() => settled({ type: 'outbid' }));
            break;
        }
      }
    };
    run(attempt.start());
  }

  /**
   * Makes sure `view` (chosen) is installed as far as this middleware is concerned: installs it
   * when this life is a member (or is the one leaving), or learns that this life is over.
   * `then(false)` when an installation was abandoned (to be tried again).
   */
  private ensureInstalled(view: View, then: (installed: boolean) => void): void {
    if (view.epoch <= this.installedEpoch) return then(true);
    const member = isMember(view, this.selfNow);
    if (!member && this.memberOfInstalled() && !this.leaving) {
      this.removed(`view ${view.epoch} does not have it`);
      return then(true);
    }
    if (!member && !this.leaving) return then(true);
    if (!member) return this.handOff(view, then);
    this.install(view, then);
  }

  /**
   * A leaving middleware is not a member of the view that removes it, so the databases refuse
   * it the recovery an installation runs (they fence it). It tells the members of that view
   * instead, with a heartbeat carrying the epoch, and waits until one of them has installed it.
   */
  private handOff(view: View, then: (installed: boolean) => void): void {
    const members = view.members.map((member) => member.id);
    if (members.length === 0) {
      // The last member left: nobody validates until a middleware starts and joins (its
      // installation recovers whatever records are left).
      this.installedNow = view;
      return then(true);
    }
    const deadlineMs = this.nowMs + INSTALL_STALL_MS * 2;
    const ask = (): void => {
      if (this.nowMs >= deadlineMs) return then(false);
      let settled = 0;
      let installedThere = false;
      const one = (): void => {
        settled += 1;
        if (settled < members.length) return;
        if (installedThere) {
          this.installedNow = view;
          return then(true);
        }
        this.after(RESEND_MS, ask);
      };
      for (const id of members) {
        this.peer(id, { type: 'peer.heartbeat', from: this.selfNow, epoch: view.epoch }, HEARTBEAT_TIMEOUT_MS, (answer) => {
          if ((answer as { epoch: number }).epoch >= view.epoch) installedThere = true;
          one();
        }, one);
      }
    };
    ask();
  }

  /** Runs the installation of `view` (once at a time per epoch here; any number of members may run it at once). */
  private install(view: View, then: (installed: boolean) => void): void {
    const waiting = this.installations.get(view.epoch);
    if (waiting) {
      waiting.push(then);
      return;
    }
    this.installations.set(view.epoch, [then]);
    this.runInstallation(view, (installed) => {
      const waiters = this.installations.get(view.epoch) ?? [];
      this.installations.delete(view.epoch);
      for (const waiter of waiters) waiter(installed);
    });
  }

  private runInstallation(view: View, end: (installed: boolean) => void): void {
    const installation = new Installation(view, { skipRecovery: this.options.skipRecovery, recoverReplicasOnly: this.options.faults?.recoverReplicasOnly ?? false });
    const startedMs = this.nowMs;
    let ended = false;
    let progressMs = this.nowMs;
    let timer = 0;
    const finish = (installed: boolean): void => {
      if (ended) return;
      ended = true;
      this.cancel(timer);
      end(installed);
    };
    const check = (): void => {
      if (ended) return;
      const superseded = this.chosenNow !== null && this.chosenNow.epoch > view.epoch;
      if (superseded || this.closedNow || this.nowMs - progressMs > INSTALL_STALL_MS) {
        if (!superseded) this.log('warn', `installation of view ${view.epoch} abandoned at step ${installation.phase}: no progress for ${INSTALL_STALL_MS / 1000} s`);
        return finish(false);
      }
      timer = this.after(RESEND_MS, check);
      run(installation.handle({ type: 'resend' }));
    };
    timer = this.after(RESEND_MS, check);
    const feed = (event: InstallationEvent): void => {
      if (ended) return;
      progressMs = this.nowMs;
      run(installation.handle(event));
    };
    const run = (effects: InstallationEffect[]): void => {
      for (const effect of effects) this.execute(effect, feed, () => {
        this.log('info', `installation of view ${view.epoch} finished in ${Math.round(this.nowMs - startedMs)} ms: ${installation.recovered} transactions of removed members recovered`);
        finish(true);
      });
    };
    run(installation.start());
  }

  private execute(effect: InstallationEffect, feed: (event: InstallationEvent) => void, done: () => void): void {
    const ignore = (): void => undefined;
    // A database that refuses this life (FENCED) says a newer view removed it. Nobody else may
    // tell it: a life removed while it installs its own join is heartbeated by nobody, and
    // would retry this installation until its change gives up.
    const fromDatabase = (error: Failure): void => {
      if (error.code === 'FENCED') this.onFenced(error.message);
    };
    switch (effect.type) {
      case 'announce':
        for (const database of effect.to) this.db(database, { type: 'db.chosen', view: effect.view }, STOP_TIMEOUT_MS, () => feed({ type: 'announced', database }), fromDatabase);
        return;
      case 'send-stop':
        for (const member of effect.to) {
          const stopped = (clock: number): void => feed({ type: 'stopped', member, clock });
          if (member === this.options.id) this.onStop(effect.view, stopped, ignore);
          else this.peer(member, { type: 'peer.stop', from: this.selfNow, view: effect.view }, STOP_TIMEOUT_MS, (answer) => stopped((answer as { clock: number }).clock), ignore);
        }
        return;
      case 'read-commits':
        // Each database learned the view in the first step, so it fences the removed lives before its log is read: nothing of theirs lands after.
        for (const database of effect.from) {
          this.db(database, { type: 'db.commits', from: this.selfNow, members: effect.members }, DB_REQUEST_TIMEOUT_MS, (answer) => {
            const { records, maxVersion } = answer as { records: CommitRecord[]; maxVersion: Timestamp };
            feed({ type: 'commits-read', database, records, maxVersion });
          }, fromDatabase);
        }
        return;
      case 'read-entries':
        for (const database of effect.from) {
          this.db(database, { type: 'db.read', from: this.selfNow, keys: effect.keys }, DB_REQUEST_TIMEOUT_MS, (answer) => {
            const { entries } = answer as { entries: Array<{ version: Timestamp; value?: unknown }> };
            feed({ type: 'entries-read', database, entries: entries.map((entry, index) => ({ key: effect.keys[index]!, ...entry })) });
          }, fromDatabase);
        }
        return;
      case 'recover':
        for (const database of effect.to) this.db(database, { type: 'db.recover', from: this.selfNow, entries: effect.entries, drop: [] }, DB_REQUEST_TIMEOUT_MS, () => feed({ type: 'recovered', database }), fromDatabase);
        return;
      case 'drop':
        for (const database of effect.to) this.db(database, { type: 'db.recover', from: this.selfNow, entries: [], drop: effect.records }, DB_REQUEST_TIMEOUT_MS, () => feed({ type: 'dropped', database }), fromDatabase);
        return;
      case 'send-install':
        for (const member of effect.to) {
          if (member === this.options.id) {
            // Refused here (FENCED: this life is over): no answer, the installation stalls.
            if (this.onInstall(effect.view, effect.clock) === null) feed({ type: 'installed', member });
          } else {
            this.peer(member, { type: 'peer.install', from: this.selfNow, view: effect.view, clock: effect.clock }, STOP_TIMEOUT_MS, () => feed({ type: 'installed', member }), ignore);
          }
        }
        return;
      case 'done':
        return done();
    }
  }

  private installLocally(view: View, clock: number): void {
    const previous = this.installedNow;
    // Epoch 0's places for middlewares not started yet took no memory along when they went.
    const replaced = previous !== null && removedMembers(previous, view).some((member) => !neverRan(member));
    this.emit({ type: 'engine-install', view, clock, replaced });
    this.installedNow = view;
    this.log('info', `installed view ${view.epoch}: members ${formatMembers(view.members)}`);
    if (this.stoppedFor && this.stoppedFor.view.epoch <= view.epoch) this.stoppedFor = null;
    this.detector.watch(this.watchedIds(), this.nowMs);
  }

  // ---- knowing the newest view ----

  private get chosenEpoch(): number {
    return this.chosenNow?.epoch ?? -1;
  }

  private memberOfInstalled(): boolean {
    return this.installedNow !== null && isMember(this.installedNow, this.selfNow);
  }

  private learn(view: View): void {
    if (isMember(view, this.selfNow)) this.chosenWithSelf = true;
    if (!this.chosenNow || view.epoch > this.chosenNow.epoch) this.chosenNow = view;
  }

  /** Asks the databases for the newest chosen view (a majority must answer). */
  private learnChosen(then: () => void, failed: (error: Failure) => void): void {
    this.fromMajority('db.view', (database, answered, fail) => this.db(database, { type: 'db.view' }, HEARTBEAT_TIMEOUT_MS * 2, answered, fail), (answers) => {
      for (const answer of answers) this.learn((answer as { chosen: View }).chosen);
      then();
    }, failed);
  }

  /** Another member is in a newer view: learn it, and install it, or learn that this life is over. */
  private catchUp(): void {
    if (this.catchingUp || this.closedNow) return;
    this.catchingUp = true;
    const over = (): void => {
      this.catchingUp = false;
    };
    this.learnChosen(() => (this.chosenNow ? this.ensureInstalled(this.chosenNow, over) : over()), (error) => {
      this.log('warn', `could not catch up with a newer view: ${error.message}`);
      over();
    });
  }

  /** This life is over: every transaction of it is dropped, and the middleware rejoins as a new life. */
  private removed(why: string): void {
    if (this.rejoining || this.leaving || this.closedNow) return;
    this.newLife(why);
    this.rejoining = true;
    this.change({ type: 'add', member: this.selfNow }, () => this.memberOfInstalled(), (error) => {
      if (error) this.log('error', `could not rejoin: ${error.message}`);
      else this.log('info', `rejoined as incarnation ${this.selfNow.incarnation}`);
      this.rejoining = false;
    });
  }

  /** Ends this life: its transactions are dropped, and a new incarnation takes its place. */
  private newLife(why: string): void {
    const old = this.selfNow;
    this.log('warn', `this life (incarnation ${old.incarnation}) was removed from the cluster (${why}); rejoining as a new incarnation`);
    this.emit({ type: 'engine-removed' });
    this.selfNow = { id: this.options.id, incarnation: this.options.nextIncarnation() };
    this.chosenWithSelf = false;
    this.suspicions = [];
  }

  // ---- failure detection ----

  /** The members whose heartbeats this one watches: the others of the newest view it is a member of. */
  private watchedIds(): number[] {
    const view = this.chosenNow && isMember(this.chosenNow, this.selfNow) ? this.chosenNow : this.installedNow;
    if (!view || !isMember(view, this.selfNow)) return [];
    return view.members.filter((member) => member.id !== this.options.id).map((member) => member.id);
  }

  private tick(heard: Heard | undefined): void {
    if (this.closedNow) return;
    const nowMs = this.nowMs;
    this.ticks += 1;
    const askAll = this.ticks % HEARTBEAT_EVERY_TICKS_WHEN_HEARD === 0;
    // A gap far longer than the interval: this process was not running (paused, or blocked),
    // and cannot tell who fell silent meanwhile.
    if (nowMs - this.lastTickMs > SUSPECT_AFTER_MS / 2) {
      this.detector.resumed(nowMs);
      this.databaseDetector.resumed(nowMs);
      if (this.databasesWatchedSinceMs !== null) this.databasesWatchedSinceMs = nowMs;
    }
    this.lastTickMs = nowMs;
    const watched = this.watchedIds();
    this.detector.watch(watched, nowMs);
    for (const id of watched) {
      if (heard?.peers.includes(id)) {
        this.detector.heard(id, nowMs);
        if (!askAll) continue;
      }
      this.peer(id, { type: 'peer.heartbeat', from: this.selfNow, epoch: this.chosenEpoch }, HEARTBEAT_TIMEOUT_MS, (answer) => {
        this.detector.heard(id, this.nowMs);
        if ((answer as { epoch: number }).epoch > this.installedEpoch) this.catchUp();
      }, () => undefined);
    }
    this.suspicions = this.detector.suspects(nowMs);
    this.maybeRemoveSuspects(watched.length, nowMs);
    this.maybeTakeOver(nowMs);
    if (this.options.manageDatabases) this.watchDatabases(nowMs, askAll ? [] : heard?.databases ?? []);
  }

  // ---- the databases: failure, return, state transfer, promotion ----

  /**
   * Asks every database of the cluster file for its view and sync state, each tick (an in-sync
   * replica `heard` through other requests only every HEARTBEAT_EVERY_TICKS_WHEN_HEARD). One of the
   * view's databases silent for SUSPECT_AFTER_MS is removed (a view never loses its last
   * replica: then the cluster waits). The member with the lowest id of the installed view also
   * lets a database that returned join, runs its state transfer once the view with it joining
   * is installed, and promotes it once it recorded the transfer complete.
   */
  private watchDatabases(nowMs: number, heard: readonly number[]): void {
    const view = this.installedNow;
    if (!view || !isMember(view, this.selfNow) || this.leaving || this.rejoining) return;
    this.databasesWatchedSinceMs ??= nowMs;
    this.databaseDetector.watch(databasesOf(this.chosenNow ?? view), nowMs);
    for (const id of this.options.databases) {
      // An in-sync replica that answered other requests is alive; once it has said it is not
      // joining (a cleared one would be), it has nothing more to report: not asked this tick.
      // One joining, or out of the view, is asked every tick: its answers drive the transfer,
      // the promotion, the join.
      if (heard.includes(id) && view.replicas.includes(id)) {
        this.databaseHeard(id);
        if (this.databaseAnswers.get(id)?.sync === null) continue;
      }
      this.db(id, { type: 'db.view' }, HEARTBEAT_TIMEOUT_MS, (answer) => this.databaseAnswered(id, (answer as { sync?: DatabaseSync }).sync ?? null), () => this.databaseAnswers.delete(id));
    }
    // A database not heard from for a tick and a half has a gap: its "answering since" starts again.
    for (const [id, answer] of this.databaseAnswers) if (nowMs - answer.lastMs > HEARTBEAT_INTERVAL_MS * 3 / 2 + HEARTBEAT_TIMEOUT_MS) this.databaseAnswers.delete(id);
    // A removal builds on the newest chosen view, installed or not: a view chosen with a
    // database that died since cannot be installed (its first step waits for every database).
    const base = this.chosenNow && this.chosenNow.epoch > view.epoch ? this.chosenNow : view;
    const suspects = this.databaseDetector.suspects(nowMs).map((suspicion) => suspicion.id).filter((id) => databasesOf(base).includes(id));
    if (suspects.length > 0 && !this.databaseRemoval && nextView(base, { type: 'remove-databases', databases: suspects }) !== null) {
      this.log('warn', `suspecting ${suspects.map((id) => `DATABASE${id}`).join(', ')} (no answer for ${(SUSPECT_AFTER_MS / 1000).toFixed(1)} s)`);
      this.suspicionsRaised.databases += suspects.length;
      return this.removeDatabases(suspects);
    }
    // The rest waits for a settled view: the one installed here is the newest chosen.
    if (this.databaseChange || this.databaseRemoval || base !== view) return;
    if (Math.min(...view.members.map((member) => member.id)) !== this.options.id) return;
    const complete = view.joining.filter((id) => this.databaseAnswers.get(id)?.sync?.complete === true);
    if (complete.length > 0) return this.changeDatabases({ type: 'promote', databases: complete });
    const returned = this.options.databases.find((id) => !databasesOf(view).includes(id) && nowMs - (this.databaseAnswers.get(id)?.answeringSinceMs ?? nowMs) >= RETURNING_AFTER_MS);
    if (returned !== undefined) return this.joinDatabase(view, returned);
    const behind = view.joining.find((id) => this.databaseAnswers.get(id)?.sync?.complete === false);
    if (behind !== undefined && this.transferNow === null) this.runTransfer(view, behind, this.databaseAnswers.get(behind)!.sync!.joiningSince);
  }

  /** Database `id` answered a db.view, saying `sync` of its state transfer. */
  private databaseAnswered(id: number, sync: DatabaseSync): void {
    const before = this.databaseAnswers.get(id);
    this.databaseHeard(id);
    this.databaseAnswers.set(id, { sync, answeringSinceMs: before?.answeringSinceMs ?? this.nowMs, lastMs: this.nowMs });
  }

  /** Database `id` answered: a db.view, or other requests of this life since the last tick. */
  private databaseHeard(id: number): void {
    // No database answered for a while: this middleware was the one cut off (a partition,
    // or its own blocked loop), and the silence says nothing about any of them.
    if (this.lastDatabaseAnswerMs !== null && this.nowMs - this.lastDatabaseAnswerMs > SUSPECT_AFTER_MS / 2) this.databaseDetector.resumed(this.nowMs);
    this.lastDatabaseAnswerMs = this.nowMs;
    this.databaseDetector.heard(id, this.nowMs);
    const answer = this.databaseAnswers.get(id);
    if (answer) answer.lastMs = this.nowMs;
  }

  /**
   * Proposes the removal of `suspects` until an installed view, the newest chosen, has none of
   * them. It runs beside a join or a promotion under way (it may be what unblocks them).
   */
  private removeDatabases(suspects: number[]): void {
    this.databaseRemoval = true;
    const change: ViewChange = { type: 'remove-databases', databases: suspects };
    const done = (): boolean => this.settled() && nextView(this.installedNow!, change) === null;
    this.change(change, done, (error) => {
      if (error) this.log('warn', `could not ${describeChange(change)}: ${error.message}`);
      this.databaseRemoval = false;
    });
  }

  /**
   * Proposes a join or a promotion until an installed view, the newest chosen, has it; or until
   * a database it concerns stops answering (a removal takes over then).
   */
  private changeDatabases(change: Extract<ViewChange, { type: 'join-database' | 'promote' }>): void {
    this.databaseChange = true;
    const concerned = change.type === 'join-database' ? [change.database] : change.databases;
    const done = (): boolean => (this.settled() && nextView(this.installedNow!, change) === null) || concerned.some((id) => !this.databaseAnswers.has(id));
    this.change(change, done, (error) => {
      if (error) this.log('warn', `could not ${describeChange(change)}: ${error.message}`);
      this.databaseChange = false;
    });
  }

  /** A view is installed here and no newer one is known chosen. */
  private settled(): boolean {
    return this.installedNow !== null && (this.chosenNow === null || this.chosenNow.epoch <= this.installedNow.epoch);
  }

  /**
   * A database that returned joins. It first learns the newest chosen view, in which it is out:
   * so whatever it stored, it counts as not joining, and it clears its store when it learns or
   * accepts the view that has it joining, before any APPLY of that view reaches it.
   */
  private joinDatabase(view: View, database: number): void {
    this.databaseChange = true;
    this.db(database, { type: 'db.chosen', view }, ATTEMPT_TIMEOUT_MS, (answer) => {
      if ((answer as { epoch: number }).epoch !== view.epoch) {
        this.databaseChange = false;
        return;
      }
      if (this.options.faults?.admitReturningInSync) {
        this.log('warn', `FAULT admit-returning-in-sync: DATABASE${database} goes straight into the replicas, its store as it was`);
        return this.changeDatabases({ type: 'join-database', database, asReplica: true });
      }
      this.log('info', `DATABASE${database} answers again; proposing that it join (its store is cleared, then brought up to date)`);
      this.changeDatabases({ type: 'join-database', database });
    }, () => {
      this.databaseChange = false;
    });
  }

  /**
   * Copies an in-sync replica into a joining database: every entry (tombstones included) page
   * by page, then its recent-commits records, then marks the transfer complete. Entries are
   * written under the Thomas rule, so the copy overlaps safely with the APPLYs the joining
   * database receives meanwhile; a failure ends the attempt, and the next tick starts again
   * (every step can be repeated).
   */
  private runTransfer(view: View, target: number, since: number): void {
    const source = view.replicas.find((id) => this.databaseAnswers.has(id));
    if (source === undefined) return;
    const transfer = { database: target, source, copied: 0 };
    this.transferNow = transfer;
    const startedMs = this.nowMs;
    const failed = (error: Failure): void => {
      this.log('warn', `state transfer from DATABASE${source} to DATABASE${target} stopped after ${transfer.copied} entries: ${error.message}; it starts again`);
      this.transferNow = null;
    };
    this.log('info', `state transfer from DATABASE${source} to DATABASE${target} begins (joining since view ${since})`);
    if (this.options.faults?.skipTransfer) {
      this.log('warn', `FAULT skip-transfer: DATABASE${target} is marked transfer-complete without a copy`);
      return this.db(target, { type: 'db.transfer-done', from: this.selfNow, epoch: since }, DB_REQUEST_TIMEOUT_MS, () => {
        this.transferNow = null;
      }, failed);
    }
    // The next page is read from the source while the one before is written at the joining
    // database: the two overlap, with at most PAGES_AHEAD pages read and not yet written.
    const pagesRead: StoredEntry[][] = [];
    let scanning = false;
    let writing = false;
    let lastKey: string | undefined;
    let allRead = false;
    let over = false;
    const stop = (error: Failure): void => {
      if (over) return;
      over = true;
      failed(error);
    };
    const read = (): void => {
      if (over || scanning || allRead || pagesRead.length >= TRANSFER_PAGES_AHEAD) return;
      scanning = true;
      this.db(source, { type: 'db.scan', ...(lastKey === undefined ? {} : { after: lastKey }), limit: TRANSFER_PAGE_ENTRIES }, DB_REQUEST_TIMEOUT_MS, (answer) => {
        scanning = false;
        const { entries, done } = answer as { entries: StoredEntry[]; done: boolean };
        if (entries.length > 0) {
          pagesRead.push(entries);
          lastKey = entries[entries.length - 1]!.key;
        }
        allRead = done || entries.length === 0;
        read();
        write();
      }, stop);
    };
    const write = (): void => {
      if (over || writing) return;
      const entries = pagesRead.shift();
      if (entries === undefined) {
        if (allRead && !scanning) {
          over = true;
          records();
        }
        return;
      }
      writing = true;
      read();
      this.db(target, { type: 'db.transfer', from: this.selfNow, entries, records: [] }, DB_REQUEST_TIMEOUT_MS, () => {
        writing = false;
        transfer.copied += entries.length;
        read();
        write();
      }, stop);
    };
    const records = (): void => {
      this.db(source, { type: 'db.commits', from: this.selfNow, members: [] }, DB_REQUEST_TIMEOUT_MS, (answer) => {
        const found = (answer as { records: CommitRecord[] }).records;
        this.db(target, { type: 'db.transfer', from: this.selfNow, entries: [], records: found }, DB_REQUEST_TIMEOUT_MS, () => {
          this.db(target, { type: 'db.transfer-done', from: this.selfNow, epoch: since }, DB_REQUEST_TIMEOUT_MS, () => {
            this.log('info', `state transfer from DATABASE${source} to DATABASE${target} complete: ${transfer.copied} entries and ${found.length} records in ${Math.round(this.nowMs - startedMs)} ms`);
            this.transferNow = null;
            // A db.view answer read before the end must not start the transfer again: the next tick promotes.
            const answer = this.databaseAnswers.get(target);
            if (answer) answer.sync = { joiningSince: since, complete: true };
          }, failed);
        }, failed);
      }, failed);
    };
    read();
  }

  private maybeRemoveSuspects(watchedCount: number, nowMs: number): void {
    if (this.suspicions.length === 0 || this.rejoining || this.leaving) {
      if (this.suspicions.length === 0) this.minoritySinceMs = null;
      return;
    }
    if (!FailureDetector.mayPropose(this.suspicions.length, watchedCount)) {
      this.minoritySinceMs ??= nowMs;
      if (nowMs - this.minoritySinceMs < SUSPECT_MINORITY_WAIT_MS) return;
    }
    const view = this.chosenNow && isMember(this.chosenNow, this.selfNow) ? this.chosenNow : this.installedNow;
    if (!view) return;
    const suspects = view.members.filter((member) => this.suspicions.some((suspicion) => suspicion.id === member.id));
    // A removal under way takes new suspects along in its next round: it may be stuck installing
    // a view that has them (a member that died after the view was chosen never answers its stop).
    const fresh = suspects.filter((suspect) => !this.removalTargets.some((target) => sameMember(target, suspect)));
    if (fresh.length === 0) return;
    this.log('warn', `suspecting ${this.suspected.filter((s) => fresh.some((m) => m.id === s.id)).map((s) => `MIDDLEWARE${s.id} (${s.why})`).join(', ')}`);
    this.suspicionsRaised.middlewares += fresh.length;
    this.removalTargets.push(...fresh);
    if (this.removal) return;
    const targets = this.removalTargets;
    this.removal = true;
    this.change(() => ({ type: 'remove', members: [...targets] }), () => this.chosenNow !== null && targets.every((target) => !isMember(this.chosenNow!, target)) && this.installedEpoch >= this.chosenNow.epoch, (error) => {
      if (error) this.log('warn', `could not remove ${formatMembers(targets)}: ${error.message}`);
      this.removal = false;
      this.removalTargets = [];
    });
  }

  /** Stopped for a view whose INSTALL has not come: its installer may have died; finish it. */
  private maybeTakeOver(nowMs: number): void {
    const stopped = this.stoppedFor;
    if (!stopped || nowMs - stopped.sinceMs < INSTALL_TAKEOVER_MS || this.installations.size > 0) return;
    if (stopped.view.epoch <= this.installedEpoch) {
      this.stoppedFor = null;
      return;
    }
    stopped.sinceMs = nowMs;
    this.log('warn', `view ${stopped.view.epoch} was not installed ${INSTALL_TAKEOVER_MS / 1000} s after this member stopped for it; finishing its installation`);
    this.ensureInstalled(this.chosenNow ?? stopped.view, () => undefined);
  }

  // ---- helpers ----

  /**
   * ReplicaSet.fromMajority (middleware/replicas.ts): asks every database, answers once a
   * majority answered; a FENCED answer fails at once (this life is over); too many failures
   * fail with NO_QUORUM.
   */
  private fromMajority(what: string, ask: (database: number, answered: (answer: unknown) => void, failed: (error: Failure) => void) => void, done: (answers: unknown[]) => void, failed: (error: Failure) => void): void {
    const ids = this.options.databases;
    const needed = majorityOf(ids.length);
    const answers: unknown[] = [];
    const errors: string[] = [];
    let failures = 0;
    let settled = false;
    for (const id of ids) {
      ask(id, (answer) => {
        answers.push(answer);
        if (!settled && answers.length >= needed) {
          settled = true;
          done(answers);
        }
      }, (error) => {
        failures += 1;
        errors.push(`DATABASE${id}: ${error.message}`);
        if (settled) return;
        if (error.code === 'FENCED') {
          settled = true;
          failed(error);
        } else if (ids.length - failures < needed) {
          settled = true;
          failed({ code: 'NO_QUORUM', message: `${what}: fewer than ${needed} of ${ids.length} databases answered (${errors.join('; ')})` });
        }
      });
    }
  }
}

export function describeChange(change: ViewChange): string {
  switch (change.type) {
    case 'add': return `add MIDDLEWARE${change.member.id} (${change.member.incarnation})`;
    case 'remove': return `remove ${formatMembers(change.members)}`;
    case 'remove-databases': return `remove ${formatDatabases(change.databases)}`;
    case 'join-database': return `DATABASE${change.database} joins`;
    case 'promote': return `promote ${formatDatabases(change.databases)} (transfer complete)`;
  }
}

export function formatDatabases(databases: readonly number[]): string {
  return databases.length === 0 ? 'none' : databases.map((id) => `DATABASE${id}`).join(', ');
}

export function formatMembers(members: readonly Member[]): string {
  return members.length === 0 ? 'none' : members.map((member) => `MIDDLEWARE${member.id} (${member.incarnation})`).join(', ');
}
