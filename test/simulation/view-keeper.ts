// The simulation's shell for the keeper's decisions: it drives the production core
// (view/keeper.ts, KeeperCore, the same one middleware/views.ts drives) over the simulated
// world, carrying its effects out (requests over the fake network, timers in virtual time that
// run late while the process is paused and never once it died, the simulated engine) and
// feeding the answers back with the virtual time. No decision of the keeper is taken here.
import { KeeperCore, type Answer, type DatabaseSync, type DbRequest, type Failure, type Heard, type KeeperEffect, type KeeperEventBody, type KeeperFaults, type PeerRequest } from '../../view/keeper.js';
import type { AcceptedValue, AcceptorEffect } from '../../view/acceptor.js';
import type { CommitRecord } from '../../protocol/schemas.js';
import type { Timestamp } from '../../timestamp/timestamp.js';
import type { Incarnation, Member, View } from '../../view/types.js';

export { DB_REQUEST_TIMEOUT_MS, type DbRequest, type PeerRequest } from '../../view/keeper.js';

export interface SimError {
  code: 'FENCED' | 'TIMEOUT' | 'NO_QUORUM' | 'NOT_JOINING';
  message: string;
}

export type DbAnswer =
  | Exclude<AcceptorEffect, { type: 'persist' }>
  | { epoch: number }
  | { chosen: View; accepted: AcceptedValue | null; sync: DatabaseSync }
  | { records: CommitRecord[]; maxVersion: Timestamp }
  | { entries: Array<{ version: Timestamp; value?: unknown }> }
  | { entries: Array<{ key: string; version: Timestamp; value?: unknown }>; done: boolean }
  | { written: number; recorded: number }
  | { complete: true }
  | Record<string, never>;

/** What the keeper needs of its process: time, chance, timers and requests that run in it (late if it is paused, never if it died). */
export interface KeeperHost {
  readonly id: number;
  readonly databases: number[];
  now(): number;
  random(): number;
  after(ms: number, run: () => void): void;
  db(database: number, request: DbRequest, timeoutMs: number, answered: (answer: DbAnswer) => void, failed: (error: SimError) => void): void;
  peer(member: number, request: PeerRequest, timeoutMs: number, answered: (answer: unknown) => void, failed: (error: SimError) => void): void;
  /** Who answered this process's requests (the keeper's and the engine's) since the last call: the tick's `heard`. */
  heard(): Heard;
  /** The transaction engine (middleware/occ-engine.ts): it stops for `view`, whose databases its decided writes must reach. */
  stop(view: View, done: (clock: number) => void): void;
  install(view: View, clock: number, replaced: boolean): void;
  removed(): void;
  clockValue(): number;
  nextIncarnation(): Incarnation;
  skipRecovery: boolean;
  /** Watch the databases: remove a silent one, let one that returns join, transfer, promote (KeeperCoreOptions.manageDatabases). */
  manageDatabases: boolean;
  /** The keeper's faults, broken on purpose (KeeperCoreOptions.faults). */
  faults?: KeeperFaults;
  /** A view this life saw chosen or adopted (for the check of one view per epoch). */
  sawChosen(view: View): void;
  /** The keeper's rounds spin without time passing (a busy loop in production). */
  spinning(detail: string): never;
  log(line: string): void;
}

export class SimViewKeeper {
  private readonly core: KeeperCore;
  private readonly cancelled = new Set<number>();
  /** The heartbeat interval's generation: a stopped one does not run again. */
  private ticking = 0;
  private nextReplyId = 1;
  private readonly replies = new Map<number, (answer: Answer) => void>();
  private joined: (() => void) | null = null;
  private left: ((ok: boolean) => void) | null = null;

  constructor(private readonly host: KeeperHost) {
    this.core = new KeeperCore({
      id: host.id,
      databases: host.databases,
      skipRecovery: host.skipRecovery,
      manageDatabases: host.manageDatabases,
      ...(host.faults ? { faults: host.faults } : {}),
      nextIncarnation: () => host.nextIncarnation(),
      random: () => host.random(),
      nowMs: host.now(),
    });
  }

  get self(): Member {
    return this.core.self;
  }

  get installedEpoch(): number {
    return this.core.installedEpoch;
  }

  /** The view installed here (null before the first). */
  get installed(): View | null {
    return this.core.installed;
  }

  /** Whether a majority of the databases answer (middleware/server.ts refuses transactions without it). */
  hasDatabaseQuorum(): boolean {
    return this.core.hasDatabaseQuorum(this.host.now());
  }

  join(joined: () => void): void {
    this.joined = joined;
    this.feed({ type: 'join' });
  }

  leave(left: (ok: boolean) => void): void {
    this.left = left;
    this.feed({ type: 'leave' });
  }

  close(): void {
    this.feed({ type: 'close' });
  }

  /** The end of a simulated run: no more heartbeats (so no more suspicions); what is under way goes on. */
  stopTicking(): void {
    this.ticking += 1;
  }

  onHeartbeat(request: { from: Member; epoch: number }): { from: Member; epoch: number } {
    const answer = this.ask((replyId) => ({ type: 'heartbeat-requested', replyId, from: request.from, epoch: request.epoch }));
    return (answer as { ok: true; value: { from: Member; epoch: number } }).value;
  }

  onStop(view: View, answer: (clock: number) => void, fail: (error: SimError) => void): void {
    const replyId = this.nextReplyId++;
    this.replies.set(replyId, (given) => (given.ok ? answer((given.value as { clock: number }).clock) : fail(given.error as SimError)));
    this.feed({ type: 'stop-requested', replyId, view });
  }

  onInstall(view: View, clock: number): SimError | null {
    const answer = this.ask((replyId) => ({ type: 'install-requested', replyId, view, clock }));
    return answer.ok ? null : (answer.error as SimError);
  }

  onFenced(detail: string): void {
    this.feed({ type: 'fenced', detail });
  }

  private ask(event: (replyId: number) => KeeperEventBody): Answer {
    const replyId = this.nextReplyId++;
    let answer: Answer | null = null;
    this.replies.set(replyId, (given) => {
      answer = given;
    });
    this.feed(event(replyId));
    this.replies.delete(replyId);
    if (!answer) throw new Error(`M${this.host.id}: the keeper gave no answer to ${JSON.stringify(event(replyId))}`);
    return answer;
  }

  private feed(event: KeeperEventBody): void {
    const effects = this.core.handle({ ...event, nowMs: this.host.now() } as Parameters<KeeperCore['handle']>[0]);
    for (const effect of effects) this.carry(effect);
  }

  private carry(effect: KeeperEffect): void {
    const { host } = this;
    const answered = (id: number) => (value: unknown): void => this.feed({ type: 'answered', id, value });
    const failed = (id: number) => (error: Failure): void => this.feed({ type: 'failed', id, error });
    switch (effect.type) {
      case 'db-request': return host.db(effect.database, effect.request, effect.timeoutMs, answered(effect.id), failed(effect.id));
      case 'peer-request': return host.peer(effect.member, effect.request, effect.timeoutMs, answered(effect.id), failed(effect.id));
      case 'set-timer':
        return host.after(effect.ms, () => {
          if (this.cancelled.delete(effect.id)) return;
          this.feed({ type: 'timer', id: effect.id });
        });
      case 'cancel-timer':
        this.cancelled.add(effect.id);
        return;
      case 'reply': {
        const reply = this.replies.get(effect.replyId);
        this.replies.delete(effect.replyId);
        return reply?.(effect.answer);
      }
      case 'engine-stop': return host.stop(effect.view, (clock) => this.feed({ type: 'engine-stopped', id: effect.id, clock }));
      case 'engine-clock': return this.feed({ type: 'engine-stopped', id: effect.id, clock: host.clockValue() });
      case 'engine-install': return host.install(effect.view, effect.clock, effect.replaced);
      case 'engine-removed': return host.removed();
      case 'start-heartbeats': {
        this.ticking += 1;
        const generation = this.ticking;
        const next = (): void => {
          if (this.ticking !== generation) return;
          this.feed({ type: 'tick', heard: host.heard() });
          host.after(effect.intervalMs, next);
        };
        return host.after(effect.intervalMs, next);
      }
      case 'stop-heartbeats':
        this.ticking += 1;
        return;
      case 'joined': {
        const joined = this.joined;
        this.joined = null;
        return joined?.();
      }
      case 'join-failed':
        if (!this.core.closed) throw new Error(`MIDDLEWARE${host.id} could not join: ${effect.error.message}`);
        return;
      case 'left':
      case 'leave-failed': {
        const left = this.left;
        this.left = null;
        return left?.(effect.type === 'left');
      }
      case 'chosen-seen': return host.sawChosen(effect.view);
      case 'spinning': return host.spinning(effect.detail);
      case 'log': return host.log(`${effect.level} ${effect.line}`);
    }
  }
}
