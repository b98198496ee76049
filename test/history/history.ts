// The data a history check takes in and gives back. A history is what clients observed: for each
// transaction, what it read, what it finally wrote, and whether it committed.

export type TxnOutcome = 'committed' | 'aborted' | 'unknown';

/** One read or one final write. `value` null: the read found no entry, or the write is a delete. */
export interface Operation {
  key: string;
  value: number | null;
}

export interface TxnRecord {
  /** Unique across the history. */
  id: string;
  /** unknown: the client does not know (for example it timed out). */
  outcome: TxnOutcome;
  /** In program order. */
  reads: Operation[];
  /** The final write of each key (one entry per key); a null value is a delete. */
  writes: Operation[];
  /** The commit timestamp the system reported (committed transactions only). */
  commitTs?: readonly [number, number];
  /** Client-side real time, used only by the real-time check. */
  startMs?: number;
  endMs?: number;
}

export interface History {
  transactions: TxnRecord[];
  /** The state before the first transaction; a key absent here was absent (null). */
  initial?: Record<string, number | null>;
}

export interface CheckOptions {
  /** Also require the serial order to respect real time (strict serializability). */
  realTime?: boolean;
}

export type DependencyKind = 'wr' | 'ww' | 'rw' | 'rt';

/** `from` must come before `to` in any serial order. `key` is absent for real-time ('rt') edges. */
export interface DependencyEdge {
  from: string;
  to: string;
  edge: DependencyKind;
  key?: string;
}

/** The writer of a version: a transaction id, or null for the initial state. */
export type WriterId = string | null;

/**
 * Adya's names for a dependency cycle: G0 only ww edges, G1c ww and wr edges, G-single exactly
 * one rw edge, G2-item more than one. Real-time edges are not counted; `realTime` says whether
 * the cycle needs one.
 */
export type CyclePhenomenon = 'G0' | 'G1c' | 'G-single' | 'G2-item';

/**
 * What the checker found. Every anomaly lists in `txns` the ids of the transactions involved.
 * Most kinds are violations; 'unordered-versions' and 'ambiguous-read' (and the reads a
 * 'duplicate-write' makes ambiguous) mean the checker could not decide, added no dependency it
 * could not prove, and so did not show the history serializable either.
 */
export type Anomaly =
  | {
      kind: 'cycle';
      phenomenon: CyclePhenomenon;
      realTime: boolean;
      txns: string[];
      /** One short cycle of the strongly connected component; the last edge returns to the first `from`. */
      cycle: DependencyEdge[];
      /** Every transaction of the strongly connected component (there may be other cycles in it), sorted. */
      component: string[];
    }
  /** Read a value no transaction wrote as a final write (also how an intermediate write shows). */
  | { kind: 'garbage-read'; txns: string[]; txn: string; key: string; value: number | null }
  | { kind: 'aborted-read'; txns: string[]; txn: string; key: string; value: number | null; writer: string }
  /** Several committed transactions read the same version of `key` and all wrote `key`. */
  | { kind: 'lost-update'; txns: string[]; key: string; readFrom: WriterId; value: number | null }
  /** `txn` read `key` several times, before writing it, and got different values. */
  | { kind: 'non-repeatable-read'; txns: string[]; txn: string; key: string; values: Array<number | null> }
  /** `txn` read its own write of `key`, then read another value of it. */
  | { kind: 'internal-inconsistency'; txns: string[]; txn: string; key: string; ownValue: number | null; value: number | null }
  /** The same (key, value) was written more than once, so a read of it cannot name its writer. */
  | { kind: 'duplicate-write'; txns: string[]; key: string; value: number; writers: WriterId[]; readers: string[] }
  | { kind: 'duplicate-timestamp'; txns: string[]; commitTs: readonly [number, number] }
  /** Commit timestamps and read-modify-write chains admit no version order of `key`. */
  | { kind: 'order-conflict'; conflict: 'contradictory'; txns: string[]; key: string }
  /** `txn` overwrote the version of `readFrom`, but commit timestamps put `skipped`'s version in between. */
  | { kind: 'order-conflict'; conflict: 'skipped-version'; txns: string[]; key: string; txn: string; readFrom: WriterId; skipped: string }
  /** The versions of `key` written by `txns` cannot be put in order (blind writes without commitTs). */
  | { kind: 'unordered-versions'; txns: string[]; key: string }
  /** A read of null that more than one delete (or the initial state) could have produced. */
  | { kind: 'ambiguous-read'; txns: string[]; txn: string; key: string; candidates: WriterId[] };

export type AnomalyKind = Anomaly['kind'];

export interface CheckResult {
  /** True when the history is shown serializable (strictly, with realTime): no anomaly of any kind. */
  ok: boolean;
  anomalies: Anomaly[];
  stats: {
    transactions: number;
    /** Transactions whose outcome is committed. */
    committed: number;
    /** Transactions of unknown outcome that another transaction read from, so they committed. */
    observedUnknown: number;
    /** Edges of the dependency graph, including the links that encode real-time order. */
    edges: number;
  };
}
