// The view changes a middleware proposes, as pure functions of the view they change: add a
// life of a middleware (a start, or a restart as a new incarnation, which replaces its old one),
// or remove lives (a failure, a clean leave). Removal ends a life for good: a view never takes
// back an incarnation an earlier view removed, because only a middleware adds itself, and it
// adds only the life it is running, which is new at each start.
// Databases change too: one that failed (or did not accept a view that listed it) is removed;
// one that returns joins (its store is cleared when it accepts that view, and a state transfer
// brings it up to date); one whose transfer completed is promoted to the replicas. A view never
// loses its last replica: such a change is none (the cluster waits, answering NO_QUORUM).
import { parseIncarnation, type Member, type View } from './types.js';

export type ViewChange =
  | { type: 'add'; member: Member }
  | { type: 'remove'; members: Member[] }
  /** Databases out of the view (replicas or joining). */
  | { type: 'remove-databases'; databases: number[] }
  /** A database from outside the view into `joining` (`asReplica`: straight into the replicas, a fault for tests only). */
  | { type: 'join-database'; database: number; asReplica?: boolean }
  /** Joining databases whose transfer completed into `replicas`. */
  | { type: 'promote'; databases: number[] };

export function sameMember(a: Member, b: Member): boolean {
  return a.id === b.id && a.incarnation === b.incarnation;
}

/** True when `member` (this id and this life) votes in `view`. */
export function isMember(view: View, member: Member): boolean {
  return view.members.some((candidate) => sameMember(candidate, member));
}

/** The view of the epoch after `previous` with `change` made; null when `previous` already has it. */
export function nextView(previous: View, change: ViewChange): View | null {
  if (change.type === 'remove-databases' || change.type === 'join-database' || change.type === 'promote') return nextDatabases(previous, change);
  let members: Member[];
  if (change.type === 'add') {
    if (isMember(previous, change.member)) return null;
    // Another life of the same id is over: the new one takes its place. So are the places epoch
    // 0 keeps for middlewares that had not started yet: nobody would answer for them.
    members = [...previous.members.filter((member) => member.id !== change.member.id && !neverRan(member)), { ...change.member }];
  } else {
    members = previous.members.filter((member) => !change.members.some((gone) => sameMember(gone, member)));
    if (members.length === previous.members.length) return null;
  }
  members.sort((a, b) => a.id - b.id);
  return { epoch: previous.epoch + 1, members: members.map((member) => ({ ...member })), replicas: [...previous.replicas], joining: [...previous.joining] };
}

/**
 * The view after a change of its databases; null when the change changes nothing, or would
 * leave no database in sync (a view without a replica would have lost every write).
 */
function nextDatabases(previous: View, change: Extract<ViewChange, { type: 'remove-databases' | 'join-database' | 'promote' }>): View | null {
  let replicas = [...previous.replicas];
  let joining = [...previous.joining];
  switch (change.type) {
    case 'remove-databases':
      replicas = replicas.filter((id) => !change.databases.includes(id));
      joining = joining.filter((id) => !change.databases.includes(id));
      break;
    case 'join-database':
      if (replicas.includes(change.database) || joining.includes(change.database)) return null;
      (change.asReplica ? replicas : joining).push(change.database);
      break;
    case 'promote': {
      const promoted = joining.filter((id) => change.databases.includes(id));
      replicas.push(...promoted);
      joining = joining.filter((id) => !promoted.includes(id));
      break;
    }
  }
  replicas.sort((a, b) => a - b);
  joining.sort((a, b) => a - b);
  if (replicas.length === 0) return null;
  if (sameIds(replicas, previous.replicas) && sameIds(joining, previous.joining)) return null;
  return { epoch: previous.epoch + 1, members: previous.members.map((member) => ({ ...member })), replicas, joining };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

/** True for the place epoch 0 gives a middleware before any of its lives (boot 0). */
export function neverRan(member: Member): boolean {
  return parseIncarnation(member.incarnation).boot === 0;
}

/** The lives `previous` has and `next` does not: removed, or replaced by a newer life of the same id. */
export function removedMembers(previous: View, next: View): Member[] {
  return previous.members.filter((member) => !isMember(next, member));
}

/** Every database of a view: APPLYs, recovery and fencing concern all of them. */
export function databasesOf(view: View): number[] {
  return [...view.replicas, ...view.joining];
}
