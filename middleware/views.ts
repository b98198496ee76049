// The shell that keeps a middleware in the cluster's views (docs/design.md, "Failures"): it
// runs the pure Paxos proposer (view/proposer.ts) against the databases, the pure installation
// (view/installer.ts) against the members and the databases, and the pure failure detector
// (view/detector.ts) over heartbeats. It joins at start as a new life, proposes a view without
// a member that stopped answering, finishes an installation another member began, notices
// when its own life was ended by a newer view and rejoins as a new one, and leaves cleanly.
import { OccdbError } from '../errors/catalogue.js';
import type { RequestLink } from '../protocol/connection.js';
import type { Logger } from '../runtime/log.js';
import { databasesOf, isMember, neverRan, nextView, removedMembers, sameMember, type ViewChange } from '../view/changes.js';
import { FailureDetector, type Suspicion } from '../view/detector.js';
import { Installation, type InstallationEffect, type InstallationEvent } from '../view/installer.js';
import { ProposerAttempt, type ProposerEffect, type ProposerEvent } from '../view/proposer.js';
import { maxBallot, nextBallot, type Ballot, type Incarnation, type Member, type View } from '../view/types.js';
import type { TransactionEngine } from './engine.js';
import type { ReplicaSet } from './replicas.js';

/** How often members ask each other whether they are alive. */
export const HEARTBEAT_INTERVAL_MS = 150;
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

export interface ViewKeeperOptions {
  id: number;
  /** Every database of the cluster file: the acceptors. */
  databases: number[];
  replicas: ReplicaSet;
  peer(member: number): RequestLink;
  engine: TransactionEngine;
  logger: Logger;
  /** A new incarnation: the durable boot counter plus one, and a fresh nonce. */
  nextIncarnation(): Incarnation;
  /** The skip-recovery fault (middleware/faults.ts): installations leave removed coordinators' records alone. */
  skipRecovery?: boolean;
}

export class ViewKeeper {
  private selfNow: Member;
  private installedNow: View | null = null;
  /** The newest chosen view this middleware knows (installed or not). */
  private chosen: View | null = null;
  private highestBallot: Ballot | null = null;
  private readonly detector = new FailureDetector(SUSPECT_AFTER_MS);
  private suspicions: Suspicion[] = [];
  /** When the suspicions began to be a majority of the others (the wait before acting on them). */
  private minoritySinceMs: number | null = null;
  private readonly installations = new Map<number, Promise<boolean>>();
  private removal: Promise<void> | null = null;
  /** The lives the removal under way removes; suspects found while it runs are added. */
  private removalTargets: Member[] = [];
  private rejoining: Promise<void> | null = null;
  private catchingUp: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastTickMs = performance.now();
  private leaving = false;
  private closed = false;
  /** Stopped for a view not installed yet, since when: a member takes over an installation that stalls. */
  private stoppedFor: { view: View; sinceMs: number } | null = null;
  /** This life is a member of some chosen view it learned: a newer chosen view without it ends it. */
  private chosenWithSelf = false;

  constructor(private readonly options: ViewKeeperOptions) {
    this.selfNow = { id: options.id, incarnation: options.nextIncarnation() };
  }

  get self(): Member {
    return this.selfNow;
  }

  get installed(): View | null {
    return this.installedNow;
  }

  /** Why members are suspected now, for `status`. */
  get suspected(): Array<{ id: number; why: string }> {
    return this.suspicions.map((suspicion) => ({ id: suspicion.id, why: `no heartbeat answer for ${(suspicion.silentMs / 1000).toFixed(1)} s` }));
  }

  /** Joins the cluster as this life: resolves once a view with it is installed. */
  async join(): Promise<void> {
    const log = this.options.logger;
    log.info(`MIDDLEWARE${this.options.id} is incarnation ${this.selfNow.incarnation}; joining`);
    await this.change({ type: 'add', member: this.selfNow }, () => this.memberOfInstalled());
    this.heartbeatTimer = setInterval(() => this.tick(), HEARTBEAT_INTERVAL_MS);
    this.heartbeatTimer.unref();
  }

  /** Leaves cleanly: a view without this life is chosen and installed (this middleware has nothing in flight any more). */
  async leave(): Promise<void> {
    this.leaving = true;
    const self = this.selfNow;
    try {
      await this.change({ type: 'remove', members: [self] }, () => this.chosen !== null && !isMember(this.chosen, self) && this.installedEpoch >= this.chosen.epoch);
    } finally {
      this.close();
    }
  }

  close(): void {
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
  }

  // ---- answers to the other members ----

  /**
   * A heartbeat carries the newest epoch its sender knows chosen, and is answered with the epoch
   * installed here. A sender that knows of a view this member does not makes it catch up (learn
   * the view, and install it or learn that its life is over).
   */
  onHeartbeat(request: { from: Member; epoch: number }): { from: Member; epoch: number } {
    this.detector.heard(request.from.id, performance.now());
    if (request.epoch > this.chosenEpoch) this.catchUp();
    return { from: this.selfNow, epoch: this.installedEpoch };
  }

  /** Installing `view`, step one at this member: stop validating; answer the clock once nothing decided is unfinished. */
  async onStop(view: View): Promise<{ clock: number }> {
    this.learn(view);
    if (view.epoch <= this.installedEpoch) return { clock: this.options.engine.clockValue() };
    if (!isMember(view, this.selfNow)) throw new OccdbError('FENCED', `MIDDLEWARE${this.options.id} incarnation ${this.selfNow.incarnation} is not a member of view ${view.epoch}`);
    if (!this.stoppedFor || this.stoppedFor.view.epoch < view.epoch) this.stoppedFor = { view, sinceMs: performance.now() };
    const clock = await this.options.engine.stop();
    return { clock };
  }

  /** Installing `view`, last step at this member. */
  onInstall(view: View, clock: number): Record<string, never> {
    this.learn(view);
    if (view.epoch <= this.installedEpoch) return {};
    if (!isMember(view, this.selfNow)) throw new OccdbError('FENCED', `MIDDLEWARE${this.options.id} incarnation ${this.selfNow.incarnation} is not a member of view ${view.epoch}`);
    // Stopped for a newer view already (its INSTALL overtaken by the stop of the next one):
    // installing this one would make the engine validate again, after it answered the newer
    // view's installer its clock as stopped. The newer INSTALL comes later; answering lets
    // this older installation end.
    if (this.stoppedFor && this.stoppedFor.view.epoch > view.epoch) return {};
    this.installLocally(view, clock);
    return {};
  }

  /** A database refused this life (FENCED): a newer view removed it. */
  onFenced(detail: string): void {
    if (this.leaving || this.closed) return;
    this.removed(detail);
  }

  // ---- changes: Paxos, then installation ----

  /**
   * Proposes `change` until `done` holds: each round proposes it on top of the newest chosen
   * view known, and installs whatever view gets chosen (ours, or one another proposer got
   * chosen first, which the next round builds on).
   */
  private async change(changeNow: ViewChange | (() => ViewChange), done: () => boolean): Promise<void> {
    const deadlineMs = performance.now() + CHANGE_DEADLINE_MS;
    let life = this.selfNow;
    const current = (): ViewChange => (typeof changeNow === 'function' ? changeNow() : changeNow);
    let lastFailure = '';
    while (!done()) {
      if (this.closed) throw new OccdbError('MIDDLEWARE_LEAVING', `MIDDLEWARE${this.options.id} is shutting down`);
      // The life that began this change is over: a rejoin as a new life has taken over. Going on
      // would propose on behalf of a life that is gone (an old join would even add it back), and a
      // removal whose suspects are gone would loop here without ever waiting, since
      // ensureInstalled answers at once for a view this life is not in.
      if (this.selfNow !== life) return;
      if (performance.now() > deadlineMs) throw new OccdbError('NO_QUORUM', `MIDDLEWARE${this.options.id} could not get a view chosen and installed in ${CHANGE_DEADLINE_MS / 1000} s${lastFailure ? ` (last: ${lastFailure})` : ''}`);
      try {
        if (!this.chosen) await this.learnChosen();
        const previous = this.chosen!;
        const change = current();
        // A life that a chosen view had and a newer one removed is over, even if it never
        // installed a view (removed while joining): adding it again would take back a removed
        // life. It goes on as a new one (this loop is the join or the rejoin).
        if (change.type === 'add' && this.chosenWithSelf && !isMember(previous, this.selfNow) && !this.leaving) {
          this.newLife(`view ${previous.epoch} does not have it`);
          life = this.selfNow;
          changeNow = { type: 'add', member: life };
          continue;
        }
        const proposal = nextView(previous, change);
        if (proposal === null) {
          if (!(await this.ensureInstalled(previous))) await this.afterAbandoned();
          continue;
        }
        this.options.logger.info(`proposing view ${proposal.epoch}: ${describeChange(change)} (members ${formatMembers(proposal.members)})`);
        const outcome = await this.propose(previous, proposal);
        if (outcome.type === 'outbid') {
          await sleep(Math.random() * BACKOFF_MS_MAX);
          continue;
        }
        this.learn(outcome.view);
        if (outcome.type === 'chosen') {
          this.options.logger.info(`view ${outcome.view.epoch} chosen (accepted by ${outcome.acceptedBy.map((id) => `DATABASE${id}`).join(', ')}): members ${formatMembers(outcome.view.members)}`);
          // Recorded at the acceptors: whoever asks them next (a member catching up, a takeover) learns it.
          const view = outcome.view;
          await this.options.replicas.fromMajority('db.chosen', (connection) => connection.request({ type: 'db.chosen', view }, ATTEMPT_TIMEOUT_MS));
        }
        if (!(await this.ensureInstalled(outcome.view))) await this.afterAbandoned();
      } catch (error) {
        if (!(error instanceof OccdbError) || (error.code !== 'NO_QUORUM' && error.code !== 'NODE_UNAVAILABLE' && error.code !== 'TIMEOUT')) throw error;
        if (error.message !== lastFailure) this.options.logger.warn(`view change (${describeChange(current())}) did not go through: ${error.message}; trying again`);
        lastFailure = error.message;
        await sleep(RESEND_MS + Math.random() * BACKOFF_MS_MAX);
      }
    }
  }

  /**
   * An installation was abandoned: after a back-off, learn the newest chosen view again. A newer
   * view may have superseded it, or removed this life (a joining life removed before it
   * installed anything hears of it from nobody else); retrying the same view would not see that.
   */
  private async afterAbandoned(): Promise<void> {
    await sleep(Math.random() * BACKOFF_MS_MAX);
    await this.learnChosen();
  }

  /** One Paxos attempt for the epoch after `previous`. */
  private propose(previous: View, proposal: View): Promise<{ type: 'chosen'; view: View; acceptedBy: number[] } | { type: 'adopt'; view: View } | { type: 'outbid' }> {
    const ballot = nextBallot(this.highestBallot, this.options.id, this.selfNow.incarnation);
    this.highestBallot = ballot;
    const attempt = new ProposerAttempt({ previous, ballot, proposal, acceptors: this.options.databases });
    return new Promise((resolve, reject) => {
      let ended = false;
      const resend = setInterval(() => run(attempt.handle({ type: 'resend' })), RESEND_MS);
      const deadline = setTimeout(() => finish(() => reject(new OccdbError('NO_QUORUM', `no majority of the ${this.options.databases.length} databases answered the proposal of view ${proposal.epoch}`))), ATTEMPT_TIMEOUT_MS);
      const finish = (settle: () => void): void => {
        if (ended) return;
        ended = true;
        clearInterval(resend);
        clearTimeout(deadline);
        settle();
      };
      const feed = (event: ProposerEvent): void => {
        if (!ended) run(attempt.handle(event));
      };
      const run = (effects: ProposerEffect[]): void => {
        for (const effect of effects) {
          switch (effect.type) {
            case 'send-prepare':
              for (const database of effect.to) {
                this.options.replicas.link(database).request({ type: 'db.prepare', epoch: effect.epoch, ballot: effect.ballot }, ATTEMPT_TIMEOUT_MS).then(
                  (answer) => feed({ ...answer, from: database }),
                  () => undefined,
                );
              }
              break;
            case 'send-accept':
              for (const database of effect.to) {
                this.options.replicas.link(database).request({ type: 'db.accept', epoch: effect.epoch, ballot: effect.ballot, view: effect.view }, ATTEMPT_TIMEOUT_MS).then(
                  (answer) => feed({ ...answer, from: database }),
                  () => undefined,
                );
              }
              break;
            case 'send-chosen':
              for (const database of effect.to) void this.options.replicas.link(database).request({ type: 'db.chosen', view: effect.view }, ATTEMPT_TIMEOUT_MS).catch(() => undefined);
              break;
            case 'chosen':
              finish(() => resolve({ type: 'chosen', view: effect.view, acceptedBy: effect.acceptedBy }));
              break;
            case 'adopt':
              finish(() => resolve({ type: 'adopt', view: effect.view }));
              break;
            case 'outbid':
              this.highestBallot = maxBallot(this.highestBallot, effect.ballot);
              finish(() => resolve({ type: 'outbid' }));
              break;
          }
        }
      };
      run(attempt.start());
    });
  }

  /**
   * Makes sure `view` (chosen) is installed as far as this middleware is concerned: installs it
   * when this life is a member (or is the one leaving), or learns that this life is over.
   * False when an installation was abandoned (to be tried again).
   */
  private async ensureInstalled(view: View): Promise<boolean> {
    if (view.epoch <= this.installedEpoch) return true;
    const member = isMember(view, this.selfNow);
    if (!member && this.memberOfInstalled() && !this.leaving) {
      this.removed(`view ${view.epoch} does not have it`);
      return true;
    }
    if (!member && !this.leaving) return true;
    if (!member) return this.handOff(view);
    return this.install(view);
  }

  /**
   * A leaving middleware is not a member of the view that removes it, so the databases refuse
   * it the recovery an installation runs (they fence it). It tells the members of that view
   * instead, with a heartbeat carrying the epoch, and waits until one of them has installed it.
   */
  private async handOff(view: View): Promise<boolean> {
    const members = view.members.map((member) => member.id);
    if (members.length === 0) {
      // The last member left: nobody validates until a middleware starts and joins (its
      // installation recovers whatever records are left).
      this.installedNow = view;
      return true;
    }
    const deadlineMs = performance.now() + INSTALL_STALL_MS * 2;
    while (performance.now() < deadlineMs) {
      const answers = await Promise.allSettled(members.map((id) => this.options.peer(id).request({ type: 'peer.heartbeat', from: this.selfNow, epoch: view.epoch }, HEARTBEAT_TIMEOUT_MS)));
      if (answers.some((answer) => answer.status === 'fulfilled' && answer.value.epoch >= view.epoch)) {
        this.installedNow = view;
        return true;
      }
      await sleep(RESEND_MS);
    }
    return false;
  }

  /** Runs the installation of `view` (once at a time per epoch here; any number of members may run it at once). */
  private install(view: View): Promise<boolean> {
    let running = this.installations.get(view.epoch);
    if (!running) {
      running = this.runInstallation(view).finally(() => this.installations.delete(view.epoch));
      this.installations.set(view.epoch, running);
    }
    return running;
  }

  private runInstallation(view: View): Promise<boolean> {
    const installation = new Installation(view, { skipRecovery: this.options.skipRecovery ?? false });
    const log = this.options.logger;
    const startedMs = performance.now();
    return new Promise((resolve) => {
      let ended = false;
      let progressMs = performance.now();
      const timer = setInterval(() => {
        if (ended) return;
        const superseded = this.chosen !== null && this.chosen.epoch > view.epoch;
        if (superseded || this.closed || performance.now() - progressMs > INSTALL_STALL_MS) {
          if (!superseded) log.warn(`installation of view ${view.epoch} abandoned at step ${installation.phase}: no progress for ${INSTALL_STALL_MS / 1000} s`);
          end(false);
          return;
        }
        run(installation.handle({ type: 'resend' }));
      }, RESEND_MS);
      const end = (installed: boolean): void => {
        if (ended) return;
        ended = true;
        clearInterval(timer);
        resolve(installed);
      };
      const feed = (event: InstallationEvent): void => {
        if (ended) return;
        progressMs = performance.now();
        run(installation.handle(event));
      };
      const run = (effects: InstallationEffect[]): void => {
        for (const effect of effects) this.execute(effect, feed, () => {
          log.info(`installation of view ${view.epoch} finished in ${Math.round(performance.now() - startedMs)} ms: ${installation.recovered} transactions of removed members recovered`);
          end(true);
        });
      };
      run(installation.start());
    });
  }

  private execute(effect: InstallationEffect, feed: (event: InstallationEvent) => void, done: () => void): void {
    const { replicas } = this.options;
    const quietly = (): undefined => undefined;
    // A database that refuses this life (FENCED) says a newer view removed it. Nobody else may
    // tell it: a life removed while it installs its own join is heartbeated by nobody, and
    // would retry this installation until its change gives up.
    const fromDatabase = (error: unknown): undefined => {
      if (error instanceof OccdbError && error.code === 'FENCED') this.onFenced(error.message);
      return undefined;
    };
    switch (effect.type) {
      case 'send-stop':
        for (const member of effect.to) {
          const answer = member === this.options.id ? this.onStop(effect.view) : this.options.peer(member).request({ type: 'peer.stop', from: this.selfNow, view: effect.view }, STOP_TIMEOUT_MS);
          answer.then((result) => feed({ type: 'stopped', member, clock: result.clock }), quietly);
        }
        return;
      case 'read-commits':
        for (const database of effect.from) {
          // The database learns the view first, so it fences the removed lives before its log is read: nothing of theirs lands after.
          replicas.link(database).request({ type: 'db.chosen', view: this.chosen! }, STOP_TIMEOUT_MS)
            .then(() => replicas.commits(database, effect.members))
            .then((result) => feed({ type: 'commits-read', database, records: result.records, maxVersion: result.maxVersion }), fromDatabase);
        }
        return;
      case 'read-entries':
        for (const database of effect.from) {
          replicas.entriesAt(database, effect.keys).then(
            (entries) => feed({ type: 'entries-read', database, entries: entries.map((entry, index) => ({ key: effect.keys[index]!, ...entry })) }),
            fromDatabase,
          );
        }
        return;
      case 'recover':
        for (const database of effect.to) replicas.recover(database, effect.entries, []).then(() => feed({ type: 'recovered', database }), fromDatabase);
        return;
      case 'drop':
        for (const database of effect.to) replicas.recover(database, [], effect.records).then(() => feed({ type: 'dropped', database }), fromDatabase);
        return;
      case 'send-install':
        for (const member of effect.to) {
          const answer = member === this.options.id
            ? Promise.resolve(this.onInstall(effect.view, effect.clock))
            : this.options.peer(member).request({ type: 'peer.install', from: this.selfNow, view: effect.view, clock: effect.clock }, STOP_TIMEOUT_MS);
          answer.then(() => feed({ type: 'installed', member }), quietly);
        }
        return;
      case 'done':
        done();
        return;
    }
  }

  private installLocally(view: View, clock: number): void {
    const previous = this.installedNow;
    // Epoch 0's places for middlewares not started yet took no memory along when they went.
    const replaced = previous !== null && removedMembers(previous, view).some((member) => !neverRan(member));
    this.options.engine.install(view, clock, replaced);
    this.installedNow = view;
    this.options.logger.info(`installed view ${view.epoch}: members ${formatMembers(view.members)}`);
    if (this.stoppedFor && this.stoppedFor.view.epoch <= view.epoch) this.stoppedFor = null;
    this.detector.watch(this.watchedIds(), performance.now());
  }

  // ---- knowing the newest view ----

  private get installedEpoch(): number {
    return this.installedNow?.epoch ?? -1;
  }

  private get chosenEpoch(): number {
    return this.chosen?.epoch ?? -1;
  }

  private memberOfInstalled(): boolean {
    return this.installedNow !== null && isMember(this.installedNow, this.selfNow);
  }

  private learn(view: View): void {
    if (isMember(view, this.selfNow)) this.chosenWithSelf = true;
    if (!this.chosen || view.epoch > this.chosen.epoch) this.chosen = view;
  }

  /** Asks the databases for the newest chosen view (a majority must answer). */
  private async learnChosen(): Promise<void> {
    const answers = await this.options.replicas.fromMajority('db.view', (connection) => connection.request({ type: 'db.view' }, HEARTBEAT_TIMEOUT_MS * 2));
    for (const answer of answers.values()) this.learn(answer.chosen);
  }

  /** Another member is in a newer view: learn it, and install it, or learn that this life is over. */
  private catchUp(): void {
    if (this.catchingUp || this.closed) return;
    this.catchingUp = (async (): Promise<void> => {
      try {
        await this.learnChosen();
        if (this.chosen) await this.ensureInstalled(this.chosen);
      } catch (error) {
        this.options.logger.warn(`could not catch up with a newer view: ${(error as Error).message}`);
      } finally {
        this.catchingUp = null;
      }
    })();
  }

  /** This life is over: every transaction of it is dropped, and the middleware rejoins as a new life. */
  private removed(why: string): void {
    if (this.rejoining || this.leaving || this.closed) return;
    this.newLife(why);
    this.rejoining = this.change({ type: 'add', member: this.selfNow }, () => this.memberOfInstalled())
      .then(() => { this.options.logger.info(`rejoined as incarnation ${this.selfNow.incarnation}`); })
      .catch((error: Error) => { this.options.logger.error(`could not rejoin: ${error.message}`); })
      .finally(() => { this.rejoining = null; });
  }

  /** Ends this life: its transactions are dropped, and a new incarnation takes its place. */
  private newLife(why: string): void {
    const old = this.selfNow;
    this.options.logger.warn(`this life (incarnation ${old.incarnation}) was removed from the cluster (${why}); rejoining as a new incarnation`);
    this.options.engine.removed();
    this.selfNow = { id: this.options.id, incarnation: this.options.nextIncarnation() };
    this.chosenWithSelf = false;
    this.suspicions = [];
  }

  // ---- failure detection ----

  /** The members whose heartbeats this one watches: the others of the newest view it is a member of. */
  private watchedIds(): number[] {
    const view = this.chosen && isMember(this.chosen, this.selfNow) ? this.chosen : this.installedNow;
    if (!view || !isMember(view, this.selfNow)) return [];
    return view.members.filter((member) => member.id !== this.options.id).map((member) => member.id);
  }

  private tick(): void {
    if (this.closed) return;
    const nowMs = performance.now();
    // A gap far longer than the interval: this process was not running (paused, or blocked),
    // and cannot tell who fell silent meanwhile.
    if (nowMs - this.lastTickMs > SUSPECT_AFTER_MS / 2) this.detector.resumed(nowMs);
    this.lastTickMs = nowMs;
    const watched = this.watchedIds();
    this.detector.watch(watched, nowMs);
    for (const id of watched) {
      this.options.peer(id).request({ type: 'peer.heartbeat', from: this.selfNow, epoch: this.chosenEpoch }, HEARTBEAT_TIMEOUT_MS).then(
        (answer) => {
          this.detector.heard(id, performance.now());
          if (answer.epoch > this.installedEpoch) this.catchUp();
        },
        () => undefined,
      );
    }
    this.suspicions = this.detector.suspects(nowMs);
    this.maybeRemoveSuspects(watched.length, nowMs);
    this.maybeTakeOver(nowMs);
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
    const view = this.chosen && isMember(this.chosen, this.selfNow) ? this.chosen : this.installedNow;
    if (!view) return;
    const suspects = view.members.filter((member) => this.suspicions.some((suspicion) => suspicion.id === member.id));
    // A removal under way takes new suspects along in its next round: it may be stuck installing
    // a view that has them (a member that died after the view was chosen never answers its stop).
    const fresh = suspects.filter((suspect) => !this.removalTargets.some((target) => sameMember(target, suspect)));
    if (fresh.length === 0) return;
    this.options.logger.warn(`suspecting ${this.suspected.filter((s) => fresh.some((m) => m.id === s.id)).map((s) => `MIDDLEWARE${s.id} (${s.why})`).join(', ')}`);
    this.removalTargets.push(...fresh);
    if (this.removal) return;
    const targets = this.removalTargets;
    this.removal = this.change(() => ({ type: 'remove', members: [...targets] }), () => this.chosen !== null && targets.every((target) => !isMember(this.chosen!, target)) && this.installedEpoch >= this.chosen.epoch)
      .catch((error: Error) => { this.options.logger.warn(`could not remove ${formatMembers(targets)}: ${error.message}`); })
      .finally(() => {
        this.removal = null;
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
    this.options.logger.warn(`view ${stopped.view.epoch} was not installed ${INSTALL_TAKEOVER_MS / 1000} s after this member stopped for it; finishing its installation`);
    void this.ensureInstalled(this.chosen ?? stopped.view);
  }
}

function describeChange(change: ViewChange): string {
  return change.type === 'add' ? `add MIDDLEWARE${change.member.id} (${change.member.incarnation})` : `remove ${formatMembers(change.members)}`;
}

export function formatMembers(members: readonly Member[]): string {
  return members.length === 0 ? 'none' : members.map((member) => `MIDDLEWARE${member.id} (${member.incarnation})`).join(', ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { databasesOf };
