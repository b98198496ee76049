// The shell that keeps a middleware in the cluster's views (docs/design.md, "Failures"). Every
// decision is the pure KeeperCore's (view/keeper.ts): joining as a new life, proposing view
// changes, installing chosen views, suspecting silent members, taking over stalled
// installations, catching up, rejoining as a new incarnation, leaving with a hand-off. This
// shell only carries the core's effects out (requests to the databases and the other members,
// timers, the transaction engine, the logger) and feeds the answers back, with the time.
// The seeded simulation drives the same core (test/simulation/view-keeper.ts).
import { OccdbError, type ErrorCode } from '../errors/catalogue.js';
import type { RequestLink } from '../protocol/connection.js';
import type { Logger } from '../runtime/log.js';
import { databasesOf } from '../view/changes.js';
import { KeeperCore, type KeeperFaults, type Answer, type DbRequest, type Failure, type Heard, type KeeperEffect, type KeeperEventBody, type PeerRequest } from '../view/keeper.js';
import type { Incarnation, Member, View } from '../view/types.js';
import type { TransactionEngine } from './engine.js';
import type { ReplicaSet } from './replicas.js';

export {
  ATTEMPT_TIMEOUT_MS, BACKOFF_MS_MAX, CHANGE_DEADLINE_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, INSTALL_STALL_MS, INSTALL_TAKEOVER_MS,
  RESEND_MS, STOP_TIMEOUT_MS, SUSPECT_AFTER_MS, SUSPECT_MINORITY_WAIT_MS, formatMembers,
} from '../view/keeper.js';

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
  /** The keeper's other faults (middleware/faults.ts). */
  faults?: KeeperFaults;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class ViewKeeper {
  private readonly core: KeeperCore;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private nextReplyId = 1;
  private readonly replies = new Map<number, (answer: Answer) => void>();
  private joining: Waiter | null = null;
  private leaving: Waiter | null = null;
  /** Each link's answer count at the last tick, by 'peer'/'db' and id: who answered since is `heard`. */
  private readonly answersAtTick = new Map<string, number>();

  constructor(private readonly options: ViewKeeperOptions) {
    this.core = new KeeperCore({
      id: options.id,
      databases: options.databases,
      skipRecovery: options.skipRecovery ?? false,
      nextIncarnation: options.nextIncarnation,
      random: Math.random,
      nowMs: performance.now(),
      manageDatabases: true,
      faults: options.faults ?? {},
    });
  }

  get self(): Member {
    return this.core.self;
  }

  get installed(): View | null {
    return this.core.installed;
  }

  /** Suspicions acted on since the start (metrics). */
  get suspicionsRaised(): { middlewares: number; databases: number } {
    return this.core.suspicionsRaised;
  }

  /** Why members are suspected now, for `status`. */
  /** False while fewer than a majority of the databases answer: nothing can commit (KeeperCore.hasDatabaseQuorum). */
  hasDatabaseQuorum(): boolean {
    return this.core.hasDatabaseQuorum(performance.now());
  }

  get suspectedDatabases(): Array<{ id: number; why: string }> {
    return this.core.suspectedDatabases(performance.now());
  }

  get transfer(): { database: number; source: number; copied: number } | null {
    return this.core.transfer;
  }

  get suspected(): Array<{ id: number; why: string }> {
    return this.core.suspected;
  }

  /** Joins the cluster as this life: resolves once a view with it is installed. */
  join(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.joining = { resolve, reject };
      this.feed({ type: 'join' });
    });
  }

  /** Leaves cleanly: a view without this life is chosen and installed (this middleware has nothing in flight any more). */
  leave(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.leaving = { resolve, reject };
      this.feed({ type: 'leave' });
    });
  }

  close(): void {
    this.feed({ type: 'close' });
  }

  // ---- answers to the other members ----

  onHeartbeat(request: { from: Member; epoch: number }): { from: Member; epoch: number } {
    return this.ask((replyId) => ({ type: 'heartbeat-requested', replyId, from: request.from, epoch: request.epoch })) as { from: Member; epoch: number };
  }

  /** Installing `view`, step one at this member: stop validating; answer the clock once nothing decided is unfinished. */
  onStop(view: View): Promise<{ clock: number }> {
    return new Promise((resolve, reject) => {
      const replyId = this.nextReplyId++;
      this.replies.set(replyId, (answer) => (answer.ok ? resolve(answer.value as { clock: number }) : reject(toError(answer.error))));
      this.feed({ type: 'stop-requested', replyId, view });
    });
  }

  /** Installing `view`, last step at this member. */
  onInstall(view: View, clock: number): Record<string, never> {
    return this.ask((replyId) => ({ type: 'install-requested', replyId, view, clock })) as Record<string, never>;
  }

  /** A database refused this life (FENCED): a newer view removed it. */
  onFenced(detail: string): void {
    this.feed({ type: 'fenced', detail });
  }

  // ---- carrying the core's effects ----

  /** A request the core answers in the same step: its answer, or its refusal thrown. */
  private ask(event: (replyId: number) => KeeperEventBody): unknown {
    const replyId = this.nextReplyId++;
    let answer: Answer | null = null;
    this.replies.set(replyId, (given) => {
      answer = given;
    });
    this.feed(event(replyId));
    this.replies.delete(replyId);
    const given = answer as Answer | null;
    if (!given) throw new OccdbError('INTERNAL', `MIDDLEWARE${this.options.id} gave no answer`);
    if (!given.ok) throw toError(given.error);
    return given.value;
  }

  private feed(event: KeeperEventBody): void {
    const effects = this.core.handle({ ...event, nowMs: performance.now() } as Parameters<KeeperCore['handle']>[0]);
    for (const effect of effects) this.carry(effect);
  }

  private answered(id: number): (value: unknown) => void {
    return (value) => this.feed({ type: 'answered', id, value });
  }

  private failed(id: number): (error: unknown) => void {
    return (error) => this.feed({ type: 'failed', id, error: { code: error instanceof OccdbError ? error.code : 'INTERNAL', message: (error as Error).message } });
  }

  private carry(effect: KeeperEffect): void {
    const { logger, engine } = this.options;
    switch (effect.type) {
      case 'db-request':
        this.toDatabase(effect.database, effect.request, effect.timeoutMs).then(this.answered(effect.id), this.failed(effect.id));
        return;
      case 'peer-request':
        this.toPeer(effect.member, effect.request, effect.timeoutMs).then(this.answered(effect.id), this.failed(effect.id));
        return;
      case 'set-timer':
        this.timers.set(effect.id, setTimeout(() => {
          this.timers.delete(effect.id);
          this.feed({ type: 'timer', id: effect.id });
        }, effect.ms));
        return;
      case 'cancel-timer':
        clearTimeout(this.timers.get(effect.id));
        this.timers.delete(effect.id);
        return;
      case 'reply': {
        const reply = this.replies.get(effect.replyId);
        this.replies.delete(effect.replyId);
        reply?.(effect.answer);
        return;
      }
      case 'engine-stop':
        // Reads and APPLYs go to the new view's databases from now on; one it leaves out is dead or behind.
        this.options.replicas.useView(effect.view);
        engine.stop(effect.view).then((clock) => this.feed({ type: 'engine-stopped', id: effect.id, clock }), () => undefined);
        return;
      case 'engine-clock':
        this.feed({ type: 'engine-stopped', id: effect.id, clock: engine.clockValue() });
        return;
      case 'engine-install':
        this.options.replicas.useView(effect.view);
        engine.install(effect.view, effect.clock, effect.replaced);
        return;
      case 'engine-removed':
        engine.removed();
        return;
      case 'start-heartbeats':
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = setInterval(() => this.feed({ type: 'tick', heard: this.heardSinceLastTick() }), effect.intervalMs);
        this.heartbeatTimer.unref();
        return;
      case 'stop-heartbeats':
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = null;
        return;
      case 'joined':
        this.joining?.resolve();
        this.joining = null;
        return;
      case 'join-failed':
        this.joining?.reject(toError(effect.error));
        this.joining = null;
        return;
      case 'left':
        this.leaving?.resolve();
        this.leaving = null;
        return;
      case 'leave-failed':
        this.leaving?.reject(toError(effect.error));
        this.leaving = null;
        return;
      case 'chosen-seen':
        return;
      case 'spinning':
        logger.error(effect.detail);
        return;
      case 'log':
        logger[effect.level](effect.line);
        return;
    }
  }

  /** The members of the installed view and the databases whose links got answers since the last tick. */
  private heardSinceLastTick(): Heard {
    const answeredSince = (name: string, link: RequestLink): boolean => {
      const before = this.answersAtTick.get(name);
      this.answersAtTick.set(name, link.answers);
      return before !== undefined && link.answers > before;
    };
    const self = this.core.self.id;
    const peers = (this.core.installed?.members ?? []).map((member) => member.id).filter((id) => id !== self && answeredSince(`peer ${id}`, this.options.peer(id)));
    const databases = this.options.databases.filter((id) => answeredSince(`db ${id}`, this.options.replicas.link(id)));
    return { peers, databases };
  }

  private toDatabase(database: number, request: DbRequest, timeoutMs: number): Promise<unknown> {
    const { replicas } = this.options;
    const link = replicas.link(database);
    switch (request.type) {
      case 'db.prepare': return link.request({ type: 'db.prepare', epoch: request.epoch, ballot: request.ballot }, timeoutMs);
      case 'db.accept': return link.request({ type: 'db.accept', epoch: request.epoch, ballot: request.ballot, view: request.view }, timeoutMs);
      case 'db.chosen': return link.request({ type: 'db.chosen', view: request.view }, timeoutMs);
      case 'db.view': return link.request({ type: 'db.view' }, timeoutMs);
      case 'db.commits': return link.request({ type: 'db.commits', from: request.from, members: request.members }, timeoutMs);
      case 'db.read': return link.request({ type: 'db.read', from: request.from, keys: request.keys }, timeoutMs);
      case 'db.recover': return link.request({ type: 'db.recover', from: request.from, entries: request.entries, drop: request.drop }, timeoutMs);
      case 'db.scan': return link.request({ type: 'db.scan', ...(request.after === undefined ? {} : { after: request.after }), limit: request.limit }, timeoutMs);
      // Answered by databases that know state transfer; until then, refused as an unknown message.
      case 'db.transfer': return link.request({ type: 'db.transfer', from: request.from, entries: request.entries, records: request.records } as never, timeoutMs);
      case 'db.transfer-done': return link.request({ type: 'db.transfer-done', from: request.from, epoch: request.epoch } as never, timeoutMs);
    }
  }

  private toPeer(member: number, request: PeerRequest, timeoutMs: number): Promise<unknown> {
    const link = this.options.peer(member);
    switch (request.type) {
      case 'peer.heartbeat': return link.request({ type: 'peer.heartbeat', from: request.from, epoch: request.epoch }, timeoutMs);
      case 'peer.stop': return link.request({ type: 'peer.stop', from: request.from, view: request.view }, timeoutMs);
      case 'peer.install': return link.request({ type: 'peer.install', from: request.from, view: request.view, clock: request.clock }, timeoutMs);
    }
  }
}

function toError(failure: Failure): OccdbError {
  return new OccdbError(failure.code as ErrorCode, failure.message);
}

export { databasesOf };
