// What the middlewares tell of their recent transactions and their hottest keys (the
// client-port request `observe`), asked of every middleware at each poll.
import type { ClusterNode } from '../startup/nodes.js';

export interface HotKey {
  key: string;
  aborts: number;
  waits: number;
}

export interface TimelineEvent {
  /** Milliseconds since the transaction began. */
  atMs: number;
  phase: string;
  event: string;
  node?: string;
}

export interface ObservedTransaction {
  traceId: string;
  outcome: string;
  /** ISO time. */
  startedAt: string;
  totalMs: number;
  errorCode?: string;
  timeline: TimelineEvent[];
}

export type MiddlewareObservation =
  | { ok: true; hotKeys: HotKey[]; recent: ObservedTransaction[] }
  | { ok: false; problem: string };

/** Why the dashboard asks no middleware for observations: this build's middlewares have no observe request yet. */
export const OBSERVE_MISSING = 'waiting for the middlewares\' observe request (not in this build yet)';

/** Asks every middleware of `nodes` for its observations, each within `timeoutMs`. */
export async function observeMiddlewares(nodes: readonly ClusterNode[], timeoutMs: number): Promise<{ observations: Map<string, MiddlewareObservation>; missing: string | null }> {
  void nodes;
  void timeoutMs;
  return { observations: new Map(), missing: OBSERVE_MISSING };
}
