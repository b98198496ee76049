// Which databases a view may call in sync. A database holds every acknowledged write only if it
// was in sync in the previous view or finished its state transfer, and it is fenced only if it
// accepted the new view; answering a prepare proves neither (a restarted database answers from
// its old, stale store). A view with no database in sync would have lost writes, so it is none.
import type { View } from './types.js';

export type ReplicaViolation =
  /** `next` is not the epoch after `previous`. */
  | { rule: 'epoch-not-next'; previous: number; next: number }
  /** A replica of `next` was neither in sync in `previous` nor a joining database whose transfer completed. */
  | { rule: 'replica-not-in-sync'; database: number }
  /** A replica of `next` did not accept `next`, so it is not fenced by it. */
  | { rule: 'replica-not-accepted'; database: number }
  /** A joining database of `next` did not accept `next`. */
  | { rule: 'joining-not-accepted'; database: number }
  /** `next` has no database in sync. */
  | { rule: 'no-replicas' };

/**
 * The violations of `replicas(e+1) ⊆ (replicas(e) ∪ transferred joining) ∩ acceptedBy`,
 * `joining(e+1) ⊆ acceptedBy` and `replicas(e+1) ≠ ∅`; none means `next` may be installed.
 * `transferComplete`: databases that recorded durably that their state transfer completed;
 * only those joining in `previous` count.
 */
export function replicasAllowed(previous: View, next: View, transferComplete: ReadonlySet<number>, acceptedBy: ReadonlySet<number>): ReplicaViolation[] {
  const violations: ReplicaViolation[] = [];
  if (next.epoch !== previous.epoch + 1) violations.push({ rule: 'epoch-not-next', previous: previous.epoch, next: next.epoch });
  const inSync = new Set(previous.replicas);
  for (const database of previous.joining) if (transferComplete.has(database)) inSync.add(database);
  for (const database of next.replicas) {
    if (!inSync.has(database)) violations.push({ rule: 'replica-not-in-sync', database });
    if (!acceptedBy.has(database)) violations.push({ rule: 'replica-not-accepted', database });
  }
  for (const database of next.joining) {
    if (!acceptedBy.has(database)) violations.push({ rule: 'joining-not-accepted', database });
  }
  if (next.replicas.length === 0) violations.push({ rule: 'no-replicas' });
  return violations;
}
