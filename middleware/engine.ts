// What the middleware server needs of a concurrency-control strategy. The optimistic engine
// (occ-engine.ts) and the strict-2PL engine (twopl-engine.ts) both run the same command
// language against the same workspace and APPLY path; they differ in how transactions are
// kept apart.
import type { Strategy } from '../cluster/cluster-file.js';
import type { Command, PeerRequest, TxnResult } from '../protocol/schemas.js';
import type { View } from '../view/types.js';
import type { Trace } from '../metrics/traces.js';

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
  /** Runs one client transaction to its outcome (re-running it after conflicts), noting its events on `trace`. */
  run(commands: Command[], end: 'commit' | 'rollback', trace?: Trace): Promise<TxnResult>;
  /** Answers the peer requests of this strategy; undefined for a request it does not take. */
  onPeerRequest(request: PeerRequest): Promise<unknown> | undefined;
  clockValue(): number;
  /**
   * Installing a view, step one (docs/design.md, "Installing a view"): stop taking part in the
   * old view; resolves with the clock once nothing decided is left unfinished.
   */
  stop(view: View): Promise<number>;
  /** Installing a view, last step: work in `view`, the clock moved past `clock`. `replaced`: a member of the view before is gone. */
  install(view: View, clock: number, replaced: boolean): void;
  /** A newer view removed this middleware's life: drop every transaction (decided ones end with TXN_OUTCOME_UNKNOWN). */
  removed(): void;
  /** Every transaction of this life with a timestamp counter at or below this is on every database. */
  watermark(): number;
  members(): number[];
  /** True while the engine still has work that a clean leave must wait for. */
  busy(): boolean;
  /** Called when the middleware starts leaving: stop taking part in new work that others start. */
  beginLeaving(): void;
  status(): EngineStatus;
}
