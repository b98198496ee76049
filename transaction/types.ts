// Data the optimistic core works on. Plain values only: they cross the wire unchanged.
import type { Timestamp } from '../timestamp/timestamp.js';

export type Key = string;
/** A stored value; `undefined` means "no live value" (never written, or deleted). */
export type Value = unknown;

/** key -> the version the transaction read. A key that did not exist was read at version zero. */
export type ReadSet = ReadonlyArray<readonly [Key, Timestamp]>;

/** One buffered write; `value` absent means delete (a tombstone). */
export interface Write {
  key: Key;
  value?: Value;
}

export type TxnId = string;
export type MiddlewareId = number;
export type ReplicaId = number;
