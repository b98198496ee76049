// The optimistic strategy: private workspace, VALIDATE round with Lamport timestamps, APPLY.
import { databasesOf } from '../view/changes.js';
import type { MiddlewareFaults } from './faults.js';
import type { RequestLink } from '../protocol/connection.js';
import type { Logger } from '../runtime/log.js';
import type { Command, PeerRequest, TxnResult } from '../protocol/schemas.js';
import { Coordinator } from './coordinator.js';
import type { EngineStatus, TransactionEngine } from './engine.js';
import type { ReplicaSet } from './replicas.js';
import type { TransactionLimits } from '../transaction/retry.js';
import type { View } from '../view/types.js';
import { runTransaction } from './transactions.js';
import type { Trace } from '../metrics/traces.js';
import type { TransactionObserver } from '../metrics/transactions.js';

export interface OccEngineOptions {
  id: number;
  replicas: ReplicaSet;
  peer: (member: number) => RequestLink;
  logger: Logger;
  limits: TransactionLimits;
  magic: (args: readonly [number, number, number]) => string;
  faults?: MiddlewareFaults;
  onFenced: (detail: string) => void;
  observer?: TransactionObserver;
}

export class OccEngine implements TransactionEngine {
  readonly strategy = 'occ' as const;
  private readonly coordinator: Coordinator;

  constructor(private readonly options: OccEngineOptions) {
    this.coordinator = new Coordinator({ id: options.id, replicas: options.replicas, peerConnection: options.peer, logger: options.logger, faults: options.faults, onFenced: options.onFenced, observer: options.observer });
  }

  run(commands: Command[], end: 'commit' | 'rollback', trace?: Trace): Promise<TxnResult> {
    return runTransaction(commands, end, {
      middlewareId: this.options.id,
      coordinator: this.coordinator,
      magic: this.options.magic,
      limits: this.options.limits,
      random: Math.random,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }, trace);
  }

  onPeerRequest(request: PeerRequest): Promise<unknown> | undefined {
    if (request.type === 'peer.validate') return this.coordinator.vote(request);
    return undefined;
  }

  clockValue(): number {
    return this.coordinator.node.clock.value;
  }

  stop(view: View): Promise<number> {
    return this.coordinator.stop(databasesOf(view));
  }

  install(view: View, clock: number, replaced: boolean): void {
    this.coordinator.install(view.epoch, view.members.map((member) => member.id), clock, replaced, databasesOf(view));
  }

  removed(): void {
    this.coordinator.removed();
  }

  watermark(): number {
    return this.coordinator.watermark();
  }

  members(): number[] {
    return this.coordinator.node.memberIds;
  }

  busy(): boolean {
    return this.coordinator.node.coordinatingCount > 0;
  }

  beginLeaving(): void {
    // Votes go on being answered until the others have removed this middleware; but nothing
    // new is stamped, since once it has left it cannot take part in others' validation.
    this.coordinator.stopStamping();
  }

  status(): EngineStatus {
    const node = this.coordinator.node;
    return { clock: node.clock.value, commits: node.commits, aborts: node.aborts, inFlight: node.inFlight.size, members: node.memberIds };
  }
}
