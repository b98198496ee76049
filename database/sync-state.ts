// Whether a database is being brought up to date, as pure rules (docs/design.md, section 9, "A
// database that returns"). A database that comes back after a failure may hold writes that were
// later aborted, so it is not trusted: a view first lists it as joining, and as it accepts that
// view it clears its store; from then on it receives every APPLY, a middleware streams it a
// snapshot of an in-sync replica (db.transfer), and it records the end (db.transfer-done); a
// later view moves it into the replicas. Its sync state says where it stands in that, durably.
import { OccdbError } from '../errors/catalogue.js';
import type { SyncState } from '../protocol/schemas.js';
import type { View } from '../view/types.js';

/** What accepting a view does to the store, before the acceptor state is written. */
export type AcceptSync =
  /** Nothing: the store stays as it is. */
  | { clear: false }
  /** The store is cleared, then `sync` is written. */
  | { clear: true; sync: SyncState };

/**
 * What database `id` does as it accepts `accepted` while its newest chosen view is `chosen`
 * (the view of the epoch before, as an acceptor votes only on the epoch after the one it knows
 * chosen), its sync state being `sync`.
 *
 * Listed as joining by `accepted` and not by `chosen`, it comes from outside the view (or from
 * a failure): its store is cleared, so that nothing it held before can be served or copied
 * once it is in sync. Listed as joining by both, it is continuing: it has received every APPLY
 * since it was cleared, and clearing again would lose them.
 *
 * Already joining since `accepted`'s own epoch, it was cleared by an earlier accept of this
 * epoch (another ballot, or the same view proposed again by a proposer that did not know it was
 * chosen). Clearing again would lose what arrived since: a transfer under way, or one recorded
 * complete, which a proposer may already have read to promote it.
 */
export function syncOnAccept(id: number, chosen: View, accepted: View, sync: SyncState | null): AcceptSync {
  if (!accepted.joining.includes(id) || chosen.joining.includes(id)) return { clear: false };
  if (sync !== null && sync.joiningSince === accepted.epoch) return { clear: false };
  return { clear: true, sync: { joiningSince: accepted.epoch, complete: false } };
}

/**
 * What database `id` does once it learns that `chosen` was chosen, its sync state being `sync`.
 * Listed as joining while joining already, it stays as it is: the transfer goes on, or is
 * complete and waits for its promotion. Listed as joining while not joining, it is cleared now,
 * as an accept would have cleared it: a database may be listed without having accepted (its
 * accept was lost, or came too late), and every installation tells each database of the view
 * that it was chosen before any member sends it an APPLY of that view, so nothing it
 * acknowledged of this joining is lost. Listed as a replica, it was promoted; left out, it was
 * removed: either way it is no longer being brought up to date, and the state goes back to
 * null (a later return clears it again).
 */
export function syncOnChosen(id: number, chosen: View, sync: SyncState | null): { clear: boolean; sync: SyncState | null } {
  if (!chosen.joining.includes(id)) return { clear: false, sync: null };
  if (sync !== null) return { clear: false, sync };
  return { clear: true, sync: { joiningSince: chosen.epoch, complete: false } };
}

/** Why database `database` (its name) refuses a page of a state transfer now, or null when it takes it. */
export function transferRefusal(database: string, sync: SyncState | null): OccdbError | null {
  if (sync === null) return new OccdbError('NOT_JOINING', `${database} is not joining: it takes no state transfer`);
  if (sync.complete) return new OccdbError('NOT_JOINING', `${database} recorded its state transfer complete (joining since epoch ${sync.joiningSince}): it takes no more of it`);
  return null;
}

/**
 * Why database `database` refuses to record its transfer for the view of `epoch` complete, or
 * null when it records it. Only the transfer of its present joining counts: one for an earlier
 * joining of it (before a clear) copied into a store since cleared. Recording it twice is no
 * error, so a middleware whose first answer was lost may ask again.
 */
export function transferDoneRefusal(database: string, sync: SyncState | null, epoch: number): OccdbError | null {
  if (sync === null) return new OccdbError('NOT_JOINING', `${database} is not joining: no state transfer of epoch ${epoch} can be complete`);
  if (sync.joiningSince !== epoch) return new OccdbError('NOT_JOINING', `${database} is joining since epoch ${sync.joiningSince}, not ${epoch}`);
  return null;
}

/** True when two sync states say the same. */
export function sameSyncState(a: SyncState | null, b: SyncState | null): boolean {
  if (a === null || b === null) return a === b;
  return a.joiningSince === b.joiningSince && a.complete === b.complete;
}
