// The voting rule (docs/design.md, validation round, step 3), extended with the voter's memory of
// its own finished transactions (occ/finished-writes.ts).
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';
import type { FinishedWrites } from './finished-writes.js';
import type { InFlightTable, InFlightTxn } from './in-flight.js';
import type { Key, ReadSet, TxnId } from '../transaction/types.js';

export interface VoteRequest {
  txid: TxnId;
  ts: Timestamp;
  readSet: ReadSet;
}

export type Vote =
  | { vote: 'yes' }
  /** Yes, provided the read set's versions are still the ones read: the coordinator must re-read them. */
  | { vote: 'check'; key: Key }
  | { vote: 'no'; conflict: { txid?: TxnId; key: Key } };

/**
 * NO if one of this voter's own in-flight transactions L has ts(L) < t, writes a key that the
 * request read, and the request read that key at a version older than ts(L): the request
 * would then have missed L's write while being ordered after it. Also NO if one of its own
 * finished transactions wrote a key the request read at an older version. CHECK when it cannot
 * vouch for a read (it has forgotten, or restarted); YES otherwise.
 */
export function decideVote(request: VoteRequest, inFlight: InFlightTable, finished?: FinishedWrites): Vote {
  let check: Key | null = null;
  for (const [key, versionRead] of request.readSet) {
    for (const writer of inFlight.writersOf(key)) {
      if (conflicts(writer, request, versionRead)) return { vote: 'no', conflict: { txid: writer.txid, key } };
    }
    if (!finished) continue;
    const verdict = finished.judge(key, versionRead);
    if (verdict.verdict === 'stale') return { vote: 'no', conflict: { key } };
    if (verdict.verdict === 'unknown') check ??= key;
  }
  return check === null ? { vote: 'yes' } : { vote: 'check', key: check };
}

function conflicts(writer: InFlightTxn, request: VoteRequest, versionRead: Timestamp): boolean {
  return writer.txid !== request.txid && isBefore(writer.ts, request.ts) && isBefore(versionRead, writer.ts);
}
