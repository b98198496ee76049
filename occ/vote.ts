// The voting rule (DESIGN.md, validation round, step 3).
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { InFlightTable, InFlightTxn } from './in-flight.js';
import type { Key, ReadSet, TxnId } from './types.js';

export interface VoteRequest {
  txid: TxnId;
  ts: Timestamp;
  readSet: ReadSet;
}

export type Vote =
  | { vote: 'yes' }
  | { vote: 'no'; conflict: { txid: TxnId; key: Key } };

/**
 * NO if and only if one of this voter's own in-flight transactions L has ts(L) < t, writes
 * a key that the request read, and the request read that key at a version older than ts(L):
 * the request would then have missed L's write while being ordered after it.
 */
export function decideVote(request: VoteRequest, inFlight: InFlightTable): Vote {
  for (const [key, versionRead] of request.readSet) {
    for (const writer of inFlight.writersOf(key)) {
      if (conflicts(writer, request, versionRead)) return { vote: 'no', conflict: { txid: writer.txid, key } };
    }
  }
  return { vote: 'yes' };
}

function conflicts(writer: InFlightTxn, request: VoteRequest, versionRead: Timestamp): boolean {
  return writer.txid !== request.txid && isBefore(writer.ts, request.ts) && isBefore(versionRead, writer.ts);
}
