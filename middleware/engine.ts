// What the middleware server needs of a concurrency-control strategy. The optimistic engine
// (occ-engine.ts) and the strict-2PL engine (twopl-engine.ts) both run the same command
// language against the same workspace and APPLY path; they differ in how transactions are
// kept apart.
import type { Strategy } from '../cluster/cluster-file.js';
import type { Command, PeerRequest, TxnResult } from '../protocol/schemas.js';

export interface EngineStatus {
  clock: number;
  commits: number;
  aborts: number;
  inFlight: number;
  members: number[];
  lockedKeys?: number;
}

export interface TransactionEngine {
  readonly strategy: Strategy;
  /** Runs one client transaction to its outcome (re-running it after conflicts). */
  run(commands: Command[], end: 'commit' | 'rollback'): Promise<TxnResult>;
  /** Answers the peer requests of this strategy; undefined for a request it does not take. */
  onPeerRequest(request: PeerRequest): Promise<unknown> | undefined;
  /** The clock a JOIN sends and answers with. */
  clockValue(): number;
  memberJoined(member: number, clock: number): void;
  memberLeft(member: number): void;
  /** This middleware's own JOIN is complete (every member answered). */
  joined(): void;
  members(): number[];
  /** True while the engine still has work that a clean leave must wait for. */
  busy(): boolean;
  /** Called when the middleware starts leaving: stop taking part in new work that others start. */
  beginLeaving(): void;
  status(): EngineStatus;
}
