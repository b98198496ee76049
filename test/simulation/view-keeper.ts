// The simulation's copy of the shell that keeps a middleware in the views
// (middleware/views.ts, ViewKeeper), in callbacks over virtual time instead of promises and
// timers. It takes the same decisions in the same order; each method names the one it mirrors.
// Every protocol rule stays in the pure cores it calls: Paxos in view/proposer.ts (and the
// acceptor at the simulated databases), installation in view/installer.ts, detection in
// view/detector.ts, view arithmetic in view/changes.ts. Only the shell's own rules (when to
// propose, back off, take over, rejoin) are repeated here; change them in both places.
import { isMember, neverRan, nextView, removedMembers, type ViewChange } from '../../view/changes.js';
import { FailureDetector, type Suspicion } from '../../view/detector.js';
import { Installation, type InstallationEffect, type InstallationEvent, type StoredEntry } from '../../view/installer.js';
import { ProposerAttempt, type ProposerEffect, type ProposerEvent } from '../../view/proposer.js';
import { majorityOf, maxBallot, nextBallot, type Ballot, type Incarnation, type Member, type View } from '../../view/types.js';
import type { AcceptedValue, AcceptorEffect } from '../../view/acceptor.js';
import type { CommitRecord } from '../../protocol/schemas.js';
import type { Timestamp } from '../../timestamp/timestamp.js';
import {
  ATTEMPT_TIMEOUT_MS, BACKOFF_MS_MAX, CHANGE_DEADLINE_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, INSTALL_STALL_MS, INSTALL_TAKEOVER_MS,
  RESEND_MS, STOP_TIMEOUT_MS, SUSPECT_AFTER_MS, SUSPECT_MINORITY_WAIT_MS,
} from '../../middleware/views.js';

/** REPLICA_REQUEST_TIMEOUT_MS of middleware/replicas.ts, for db.commits / db.read / db.recover. */
export const DB_REQUEST_TIMEOUT_MS = 10_000;

export interface SimError {
  code: 'FENCED' | 'TIMEOUT' | 'NO_QUORUM';
  message: string;
}

export type DbRequest =
  | { type: 'db.prepare'; epoch: number; ballot: Ballot }
  | { type: 'db.accept'; epoch: number; ballot: Ballot; view: View }
  | { type: 'db.chosen'; view: View }
  | { type: 'db.view' }
  | { type: 'db.commits'; from: Member; members: Member[] }
  | { type: 'db.read'; from: Member; keys: string[] }
  | { type: 'db.recover'; from: Member; entries: StoredEntry[]; drop: Timestamp[] };

export type DbAnswer =
  | Exclude<AcceptorEffect, { type: 'persist' }>
  | { epoch: number }
  | { chosen: View; accepted: AcceptedValue | null }
  | { records: CommitRecord[]; maxVersion: Timestamp }
  | { entries: Array<{ version: Timestamp; value?: unknown }> }
  | Record<string, never>;

export type PeerRequest =
  | { type: 'peer.heartbeat'; from: Member; epoch: number }
  | { type: 'peer.stop'; from: Member; view: View }
  | { type: 'peer.install'; from: Member; view: View; clock: number };

/** What the keeper needs of its process: time, chance, timers and requests that run in it (late if it is paused, never if it died). */
export interface KeeperHost {
  readonly id: number;
  readonly databases: number[];
  now(): number;
  random(): number;
  after(ms: number, run: () => void): void;
  db(database: number, request: DbRequest, timeoutMs: number, answered: (answer: DbAnswer) => void, failed: (error: SimError) => void): void;
  peer(member: number, request: PeerRequest, timeoutMs: number, answered: (answer: unknown) => void, failed: (error: SimError) => void): void;
  /** The transaction engine (middleware/occ-engine.ts). */
  stop(done: (clock: number) => void): void;
  install(view: View, clock: number, replaced: boolean): void;
  removed(): void;
  clockValue(): number;
  nextIncarnation(): Incarnation;
  skipRecovery: boolean;
  /** A view this life saw chosen or adopted (for the check of one view per epoch). */
  sawChosen(view: View): void;
  /** The shell's rounds spin without time passing (a busy loop in production). */
  spinning(detail: string): never;
  log(line: string): void;
}

type Outcome = { type: 'chosen'; view: View; acceptedBy: number[] } | { type: 'adopt'; view: View } | { type: 'outbid' };

export class SimViewKeeper {
  self: Member;
  installed: View | null = null;
  /** The newest chosen view this life knows (installed or not). */
  chosen: View | null = null;
  private highestBallot: Ballot | null = null;
  private readonly detector = new FailureDetector(SUSPECT_AFTER_MS);
  private suspicions: Suspicion[] = [];
  private minoritySinceMs: number | null = null;
  /** Epoch -> whoever waits for the installation running here. */
  private readonly installations = new Map<number, Array<(installed: boolean) => void>>();
  private removal = false;
  rejoining = false;
  private catchingUp = false;
  private ticking = false;
  private lastTickMs: number;
  leaving = false;
  closed = false;
  /** Stopped for a view not installed yet, since when. */
  stoppedFor: { view: View; sinceMs: number } | null = null;
  /** This life is a member of some chosen view it learned. */
  private chosenWithSelf = false;
  /** Rounds of change loops run at the current virtual time (a guard against a busy loop). */
  private spinAtMs = -1;
  private spins = 0;

  constructor(private readonly host: KeeperHost) {
    this.self = { id: host.id, incarnation: host.nextIncarnation() };
    this.lastTickMs = host.now();
  }

  // ---- ViewKeeper.join / leave / close ----

  join(joined: () => void): void {
    this.change({ type: 'add', member: this.self }, () => this.memberOfInstalled(), (ok, why) => {
      if (!ok && !this.closed) throw new Error(`MIDDLEWARE${this.host.id} could not join: ${why}`);
      if (!ok) return;
      this.startTicking();
      joined();
    });
  }

  leave(left: (ok: boolean) => void): void {
    this.leaving = true;
    const self = this.self;
    this.change({ type: 'remove', members: [self] }, () => this.chosen !== null && !isMember(this.chosen, self) && this.installedEpoch >= this.chosen.epoch, (ok) => {
      this.close();
      left(ok);
    });
  }

  close(): void {
    this.closed = true;
  }

  /** The end of a simulated run: no more heartbeats (so no more suspicions); what is under way goes on. */
  stopTicking(): void {
    this.ticking = false;
  }

  // ---- answers to the other members (ViewKeeper.onHeartbeat, onStop, onInstall, onFenced) ----

  onHeartbeat(request: { from: Member; epoch: number }): { from: Member; epoch: number } {
    this.detector.heard(request.from.id, this.host.now());
    if (request.epoch > this.chosenEpoch) this.catchUp();
    return { from: this.self, epoch: this.installedEpoch };
  }

  onStop(view: View, answer: (clock: number) => void, fail: (error: SimError) => void): void {
    this.learn(view);
    if (view.epoch <= this.installedEpoch) return answer(this.host.clockValue());
    if (!isMember(view, this.self)) return fail(this.fenced(view));
    if (!this.stoppedFor || this.stoppedFor.view.epoch < view.epoch) this.stoppedFor = { view, sinceMs: this.host.now() };
    this.host.stop(answer);
  }

  onInstall(view: View, clock: number): SimError | null {
    this.learn(view);
    if (view.epoch <= this.installedEpoch) return null;
    if (!isMember(view, this.self)) return this.fenced(view);
    // Stopped for a newer view already: the engine must not validate again (fix found by this simulation, seed 4).
    if (this.stoppedFor && this.stoppedFor.view.epoch > view.epoch) return null;
    this.installLocally(view, clock);
    return null;
  }

  onFenced(detail: string): void {
    if (this.leaving || this.closed) return;
    this.removed(detail);
  }

  // ---- ViewKeeper.change: propose on the newest chosen view, install what is chosen ----

  private change(change: ViewChange, done: () => boolean, ended: (ok: boolean, why?: string) => void): void {
    const deadlineMs = this.host.now() + CHANGE_DEADLINE_MS;
    let life = this.self;
    let lastFailure = '';
    const backOff = (): void => this.host.after(this.host.random() * BACKOFF_MS_MAX, round);
    // ViewKeeper.afterAbandoned: back off, then learn the newest chosen view again (fix found by this simulation, seed 124).
    const afterAbandoned = (): void => this.host.after(this.host.random() * BACKOFF_MS_MAX, () => this.learnChosen(round, failed));
    const failed = (error: SimError): void => {
      lastFailure = error.message;
      this.host.after(RESEND_MS + this.host.random() * BACKOFF_MS_MAX, round);
    };
    const round = (): void => {
      this.spinGuard(change);
      if (done()) return ended(true);
      if (this.closed) return ended(false, 'shutting down');
      // The life that began this change is over (removed; a rejoin as a new life runs): without
      // this, a removal whose proposer was removed meanwhile loops without ever waiting (fix
      // found by this simulation, seeds 6 and 28).
      if (this.self !== life) return ended(true);
      if (this.host.now() > deadlineMs) return ended(false, `no view chosen and installed in ${CHANGE_DEADLINE_MS} ms (last: ${lastFailure})`);
      if (!this.chosen) return this.learnChosen(round, failed);
      const previous = this.chosen;
      // A life a chosen view had and a newer one removed is over, even if it never installed a
      // view: it must not add itself back (fix found by this simulation, seed 124).
      if (change.type === 'add' && this.chosenWithSelf && !isMember(previous, this.self) && !this.leaving) {
        this.newLife(`view ${previous.epoch} does not have it`);
        life = this.self;
        change = { type: 'add', member: life };
        return round();
      }
      const proposal = nextView(previous, change);
      if (proposal === null) return this.ensureInstalled(previous, (installed) => (installed ? round() : afterAbandoned()));
      this.host.log(`proposing view ${proposal.epoch}: ${change.type} (members ${proposal.members.map((member) => `${member.id}/${member.incarnation}`).join(',')})`);
      this.propose(previous, proposal, (outcome) => {
        this.host.log(`proposal of view ${proposal.epoch}: ${outcome.type}${outcome.type === 'outbid' ? '' : ` view ${outcome.view.epoch}`}`);
        if (outcome.type === 'outbid') return backOff();
        this.learn(outcome.view);
        const install = (): void => this.ensureInstalled(outcome.view, (installed) => (installed ? round() : afterAbandoned()));
        if (outcome.type !== 'chosen') return install();
        // Recorded at a majority of the acceptors before anything else.
        const view = outcome.view;
        this.fromMajority<DbAnswer>((database, answered, fail) => this.host.db(database, { type: 'db.chosen', view }, ATTEMPT_TIMEOUT_MS, answered, fail), install, failed);
      }, failed);
    };
    round();
  }

  /** ViewKeeper.propose: one Paxos attempt for the epoch after `previous`. */
  private propose(previous: View, proposal: View, settled: (outcome: Outcome) => void, failed: (error: SimError) => void): void {
    const ballot = nextBallot(this.highestBallot, this.host.id, this.self.incarnation);
    this.highestBallot = ballot;
    const attempt = new ProposerAttempt({ previous, ballot, proposal, acceptors: this.host.databases });
    let ended = false;
    const finish = (then: () => void): void => {
      if (ended) return;
      ended = true;
      then();
    };
    const resend = (): void => {
      if (ended) return;
      run(attempt.handle({ type: 'resend' }));
      this.host.after(RESEND_MS, resend);
    };
    this.host.after(RESEND_MS, resend);
    this.host.after(ATTEMPT_TIMEOUT_MS, () => finish(() => failed({ code: 'NO_QUORUM', message: `no majority answered the proposal of view ${proposal.epoch}` })));
    const feed = (event: ProposerEvent): void => {
      if (!ended) run(attempt.handle(event));
    };
    const ignore = (): void => undefined;
    const run = (effects: ProposerEffect[]): void => {
      for (const effect of effects) {
        switch (effect.type) {
          case 'send-prepare':
            for (const database of effect.to) this.host.db(database, { type: 'db.prepare', epoch: effect.epoch, ballot: effect.ballot }, ATTEMPT_TIMEOUT_MS, (answer) => feed({ ...answer, from: database } as ProposerEvent), ignore);
            break;
          case 'send-accept':
            for (const database of effect.to) this.host.db(database, { type: 'db.accept', epoch: effect.epoch, ballot: effect.ballot, view: effect.view }, ATTEMPT_TIMEOUT_MS, (answer) => feed({ ...answer, from: database } as ProposerEvent), ignore);
            break;
          case 'send-chosen':
            for (const database of effect.to) this.host.db(database, { type: 'db.chosen', view: effect.view }, ATTEMPT_TIMEOUT_MS, ignore, ignore);
            break;
          case 'chosen':
            this.host.sawChosen(effect.view);
            finish(() => settled({ type: 'chosen', view: effect.view, acceptedBy: effect.acceptedBy }));
            break;
          case 'adopt':
            this.host.sawChosen(effect.view);
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

  /** ViewKeeper.ensureInstalled: install `view` if this life is a member, or learn this life is over. */
  private ensureInstalled(view: View, then: (installed: boolean) => void): void {
    if (view.epoch <= this.installedEpoch) return then(true);
    const member = isMember(view, this.self);
    if (!member && this.memberOfInstalled() && !this.leaving) {
      this.removed(`view ${view.epoch} does not have it`);
      return then(true);
    }
    if (!member && !this.leaving) return then(true);
    if (!member) return this.handOff(view, then);
    this.install(view, then);
  }

  /** ViewKeeper.handOff: a leaver waits until a member of the view without it has installed it. */
  private handOff(view: View, then: (installed: boolean) => void): void {
    const members = view.members.map((member) => member.id);
    if (members.length === 0) return then(true);
    const deadlineMs = this.host.now() + INSTALL_STALL_MS * 2;
    const ask = (): void => {
      if (this.host.now() >= deadlineMs) return then(false);
      let settled = 0;
      let installedThere = false;
      const one = (): void => {
        settled += 1;
        if (settled < members.length) return;
        if (installedThere) {
          this.installed = view;
          return then(true);
        }
        this.host.after(RESEND_MS, ask);
      };
      for (const id of members) {
        this.host.peer(id, { type: 'peer.heartbeat', from: this.self, epoch: view.epoch }, HEARTBEAT_TIMEOUT_MS, (answer) => {
          if ((answer as { epoch: number }).epoch >= view.epoch) installedThere = true;
          one();
        }, one);
      }
    };
    ask();
  }

  /** ViewKeeper.install: one installation per epoch at a time here. */
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

  /** ViewKeeper.runInstallation and execute: the pure Installation over the simulated network. */
  private runInstallation(view: View, end: (installed: boolean) => void): void {
    const installation = new Installation(view, { skipRecovery: this.host.skipRecovery });
    let ended = false;
    let progressMs = this.host.now();
    const finish = (installed: boolean): void => {
      if (ended) return;
      ended = true;
      end(installed);
    };
    const timer = (): void => {
      if (ended) return;
      const superseded = this.chosen !== null && this.chosen.epoch > view.epoch;
      if (superseded || this.closed || this.host.now() - progressMs > INSTALL_STALL_MS) {
        this.host.log(`installation of view ${view.epoch} abandoned at ${installation.phase}${superseded ? ' (superseded)' : ''}`);
        return finish(false);
      }
      run(installation.handle({ type: 'resend' }));
      this.host.after(RESEND_MS, timer);
    };
    this.host.after(RESEND_MS, timer);
    const feed = (event: InstallationEvent): void => {
      if (ended) return;
      progressMs = this.host.now();
      run(installation.handle(event));
    };
    const run = (effects: InstallationEffect[]): void => {
      for (const effect of effects) this.execute(effect, feed, () => {
        this.host.log(`installation of view ${view.epoch} done: ${installation.recovered} transactions of removed members recovered`);
        finish(true);
      });
    };
    run(installation.start());
  }

  private execute(effect: InstallationEffect, feed: (event: InstallationEvent) => void, done: () => void): void {
    const ignore = (): void => undefined;
    // FENCED from a database: a newer view removed this life (fix found by this simulation, seed 29).
    const fromDatabase = (error: SimError): void => {
      if (error.code === 'FENCED') this.onFenced(error.message);
    };
    const { host } = this;
    switch (effect.type) {
      case 'send-stop':
        for (const member of effect.to) {
          const stopped = (clock: number): void => feed({ type: 'stopped', member, clock });
          if (member === host.id) this.onStop(effect.view, stopped, ignore);
          else host.peer(member, { type: 'peer.stop', from: this.self, view: effect.view }, STOP_TIMEOUT_MS, (answer) => stopped((answer as { clock: number }).clock), ignore);
        }
        return;
      case 'read-commits':
        for (const database of effect.from) {
          // The database learns the view first, so it fences the removed lives before its log is read.
          host.db(database, { type: 'db.chosen', view: this.chosen! }, STOP_TIMEOUT_MS, () => {
            host.db(database, { type: 'db.commits', from: this.self, members: effect.members }, DB_REQUEST_TIMEOUT_MS, (answer) => {
              const { records, maxVersion } = answer as { records: CommitRecord[]; maxVersion: Timestamp };
              feed({ type: 'commits-read', database, records, maxVersion });
            }, fromDatabase);
          }, ignore);
        }
        return;
      case 'read-entries':
        for (const database of effect.from) {
          host.db(database, { type: 'db.read', from: this.self, keys: effect.keys }, DB_REQUEST_TIMEOUT_MS, (answer) => {
            const { entries } = answer as { entries: Array<{ version: Timestamp; value?: unknown }> };
            feed({ type: 'entries-read', database, entries: entries.map((entry, index) => ({ key: effect.keys[index]!, ...entry })) });
          }, fromDatabase);
        }
        return;
      case 'recover':
        for (const database of effect.to) host.db(database, { type: 'db.recover', from: this.self, entries: effect.entries, drop: [] }, DB_REQUEST_TIMEOUT_MS, () => feed({ type: 'recovered', database }), fromDatabase);
        return;
      case 'drop':
        for (const database of effect.to) host.db(database, { type: 'db.recover', from: this.self, entries: [], drop: effect.records }, DB_REQUEST_TIMEOUT_MS, () => feed({ type: 'dropped', database }), fromDatabase);
        return;
      case 'send-install':
        for (const member of effect.to) {
          if (member === host.id) {
            // Production throws FENCED out of the effect loop here (no answer): the installation stalls.
            if (this.onInstall(effect.view, effect.clock) === null) feed({ type: 'installed', member });
          } else {
            host.peer(member, { type: 'peer.install', from: this.self, view: effect.view, clock: effect.clock }, STOP_TIMEOUT_MS, () => feed({ type: 'installed', member }), ignore);
          }
        }
        return;
      case 'done':
        return done();
    }
  }

  /** ViewKeeper.installLocally. */
  private installLocally(view: View, clock: number): void {
    const previous = this.installed;
    const replaced = previous !== null && removedMembers(previous, view).some((member) => !neverRan(member));
    this.host.install(view, clock, replaced);
    this.installed = view;
    if (this.stoppedFor && this.stoppedFor.view.epoch <= view.epoch) this.stoppedFor = null;
    this.detector.watch(this.watchedIds(), this.host.now());
  }

  // ---- knowing the newest view ----

  get installedEpoch(): number {
    return this.installed?.epoch ?? -1;
  }

  private get chosenEpoch(): number {
    return this.chosen?.epoch ?? -1;
  }

  memberOfInstalled(): boolean {
    return this.installed !== null && isMember(this.installed, this.self);
  }

  private learn(view: View): void {
    if (isMember(view, this.self)) this.chosenWithSelf = true;
    if (!this.chosen || view.epoch > this.chosen.epoch) this.chosen = view;
  }

  /** ViewKeeper.learnChosen: the newest chosen view, from a majority of the databases. */
  private learnChosen(then: () => void, failed: (error: SimError) => void): void {
    this.fromMajority<DbAnswer>((database, answered, fail) => this.host.db(database, { type: 'db.view' }, HEARTBEAT_TIMEOUT_MS * 2, answered, fail), (answers) => {
      for (const answer of answers) this.learn((answer as { chosen: View }).chosen);
      then();
    }, failed);
  }

  /** ViewKeeper.catchUp. */
  private catchUp(): void {
    if (this.catchingUp || this.closed) return;
    this.catchingUp = true;
    const over = (): void => {
      this.catchingUp = false;
    };
    this.learnChosen(() => (this.chosen ? this.ensureInstalled(this.chosen, over) : over()), over);
  }

  /** ViewKeeper.removed: this life is over; the middleware rejoins as a new one. */
  private removed(why: string): void {
    if (this.rejoining || this.leaving || this.closed) return;
    this.newLife(why);
    this.rejoining = true;
    this.change({ type: 'add', member: this.self }, () => this.memberOfInstalled(), (ok, why) => {
      if (!ok) this.host.log(`could not rejoin: ${why}`);
      this.rejoining = false;
    });
  }

  /** ViewKeeper.newLife. */
  private newLife(why: string): void {
    this.host.log(`life ${this.self.incarnation} removed (${why}); rejoining`);
    this.host.removed();
    this.self = { id: this.host.id, incarnation: this.host.nextIncarnation() };
    this.chosenWithSelf = false;
    this.suspicions = [];
  }

  // ---- failure detection (ViewKeeper.watchedIds, tick, maybeRemoveSuspects, maybeTakeOver) ----

  private watchedIds(): number[] {
    const view = this.chosen && isMember(this.chosen, this.self) ? this.chosen : this.installed;
    if (!view || !isMember(view, this.self)) return [];
    return view.members.filter((member) => member.id !== this.host.id).map((member) => member.id);
  }

  /** setInterval(tick, HEARTBEAT_INTERVAL_MS): each tick schedules the next; a paused process runs the one due once it resumes. */
  private startTicking(): void {
    if (this.ticking) return;
    this.ticking = true;
    this.lastTickMs = this.host.now();
    const next = (): void => {
      if (this.closed || !this.ticking) return;
      this.tick();
      this.host.after(HEARTBEAT_INTERVAL_MS, next);
    };
    this.host.after(HEARTBEAT_INTERVAL_MS, next);
  }

  private tick(): void {
    const nowMs = this.host.now();
    if (nowMs - this.lastTickMs > SUSPECT_AFTER_MS / 2) this.detector.resumed(nowMs);
    this.lastTickMs = nowMs;
    const watched = this.watchedIds();
    this.detector.watch(watched, nowMs);
    for (const id of watched) {
      this.host.peer(id, { type: 'peer.heartbeat', from: this.self, epoch: this.chosenEpoch }, HEARTBEAT_TIMEOUT_MS, (answer) => {
        this.detector.heard(id, this.host.now());
        if ((answer as { epoch: number }).epoch > this.installedEpoch) this.catchUp();
      }, () => undefined);
    }
    this.suspicions = this.detector.suspects(nowMs);
    this.maybeRemoveSuspects(watched.length, nowMs);
    this.maybeTakeOver(nowMs);
  }

  private maybeRemoveSuspects(watchedCount: number, nowMs: number): void {
    if (this.suspicions.length === 0 || this.removal || this.rejoining || this.leaving) {
      if (this.suspicions.length === 0) this.minoritySinceMs = null;
      return;
    }
    if (!FailureDetector.mayPropose(this.suspicions.length, watchedCount)) {
      this.minoritySinceMs ??= nowMs;
      if (nowMs - this.minoritySinceMs < SUSPECT_MINORITY_WAIT_MS) return;
    }
    const view = this.chosen && isMember(this.chosen, this.self) ? this.chosen : this.installed;
    if (!view) return;
    const suspects = view.members.filter((member) => this.suspicions.some((suspicion) => suspicion.id === member.id));
    if (suspects.length === 0) return;
    this.host.log(`suspecting ${suspects.map((member) => `M${member.id}/${member.incarnation}`).join(', ')}`);
    this.removal = true;
    this.change({ type: 'remove', members: suspects }, () => this.chosen !== null && suspects.every((suspect) => !isMember(this.chosen!, suspect)) && this.installedEpoch >= this.chosen.epoch, () => {
      this.removal = false;
    });
  }

  private maybeTakeOver(nowMs: number): void {
    const stopped = this.stoppedFor;
    if (!stopped || nowMs - stopped.sinceMs < INSTALL_TAKEOVER_MS || this.installations.size > 0) return;
    if (stopped.view.epoch <= this.installedEpoch) {
      this.stoppedFor = null;
      return;
    }
    stopped.sinceMs = nowMs;
    this.host.log(`view ${stopped.view.epoch} not installed ${INSTALL_TAKEOVER_MS} ms after stopping for it; finishing its installation`);
    this.ensureInstalled(this.chosen ?? stopped.view, () => undefined);
  }

  // ---- helpers ----

  /** ReplicaSet.fromMajority: answers once a majority answered; FENCED fails at once; too many failures fail with NO_QUORUM. */
  private fromMajority<T>(ask: (database: number, answered: (answer: T) => void, failed: (error: SimError) => void) => void, done: (answers: T[]) => void, failed: (error: SimError) => void): void {
    const ids = this.host.databases;
    const needed = majorityOf(ids.length);
    const answers: T[] = [];
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
        if (settled) return;
        if (error.code === 'FENCED') {
          settled = true;
          failed(error);
        } else if (ids.length - failures < needed) {
          settled = true;
          failed({ code: 'NO_QUORUM', message: `fewer than ${needed} of ${ids.length} databases answered` });
        }
      });
    }
  }

  private fenced(view: View): SimError {
    return { code: 'FENCED', message: `MIDDLEWARE${this.host.id} incarnation ${this.self.incarnation} is not a member of view ${view.epoch}` };
  }

  /** Production's change loop continues without waiting when ensureInstalled resolves at once; that many rounds at one instant is a busy loop. */
  private spinGuard(change: ViewChange): void {
    const nowMs = this.host.now();
    if (nowMs !== this.spinAtMs) {
      this.spinAtMs = nowMs;
      this.spins = 0;
    }
    this.spins += 1;
    if (this.spins > 1_000) this.host.spinning(`MIDDLEWARE${this.host.id} life ${this.self.incarnation}: change ${change.type === 'add' ? `add ${change.member.incarnation}` : `remove ${change.members.map((member) => `${member.id}/${member.incarnation}`).join(',')}`} loops without waiting (installed ${this.installedEpoch}, chosen ${this.chosenEpoch})`);
  }
}
