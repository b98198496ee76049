// The in-flight table of one middleware: its own transactions from stamping until every
// replica acknowledged their APPLY (or until they aborted). Voters consult it.
import type { Timestamp } from '../timestamp/timestamp.js';
import type { Key, ReadSet, TxnId } from '../transaction/types.js';
import { invariantBroken } from '../errors/invariant.js';

export interface InFlightTxn {
  txid: TxnId;
  ts: Timestamp;
  readSet: ReadSet;
  writeKeys: ReadonlySet<Key>;
}

/** What writersOf returns for a key nobody in flight writes: one shared empty set, not a new array per call. */
const NO_WRITERS: ReadonlySet<InFlightTxn> = new Set();

export class InFlightTable {
  private readonly byId = new Map<TxnId, InFlightTxn>();
  /** key -> transactions in flight that write it: the only ones that can make a vote NO. */
  private readonly writersByKey = new Map<Key, Set<InFlightTxn>>();

  add(txn: InFlightTxn): void {
    if (this.byId.has(txn.txid)) invariantBroken(`in-flight: ${txn.txid} added twice`);
    this.byId.set(txn.txid, txn);
    for (const key of txn.writeKeys) {
      let writers = this.writersByKey.get(key);
      if (!writers) this.writersByKey.set(key, (writers = new Set()));
      writers.add(txn);
    }
  }

  remove(txid: TxnId): void {
    const txn = this.byId.get(txid);
    if (!txn) return;
    this.byId.delete(txid);
    for (const key of txn.writeKeys) {
      const writers = this.writersByKey.get(key);
      writers?.delete(txn);
      if (writers && writers.size === 0) this.writersByKey.delete(key);
    }
  }

  get(txid: TxnId): InFlightTxn | undefined {
    return this.byId.get(txid);
  }

  writersOf(key: Key): Iterable<InFlightTxn> {
    return this.writersByKey.get(key) ?? NO_WRITERS;
  }

  get size(): number {
    return this.byId.size;
  }
}
