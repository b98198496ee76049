// The view changes a middleware proposes, as pure functions of the view they change: add a
// life of a middleware (a start, or a restart as a new incarnation, which replaces its old one),
// or remove lives (a failure, a clean leave). Removal ends a life for good: a view never takes
// back an incarnation an earlier view removed, because only a middleware adds itself, and it
// adds only the life it is running, which is new at each start.
import { parseIncarnation, type Member, type View } from './types.js';

export type ViewChange =
  | { type: 'add'; member: Member }
  | { type: 'remove'; members: Member[] };

export function sameMember(a: Member, b: Member): boolean {
  return a.id === b.id && a.incarnation === b.incarnation;
}

/** True when `member` (this id and this life) votes in `view`. */
export function isMember(view: View, member: Member): boolean {
  return view.members.some((candidate) => sameMember(candidate, member));
}

/** The view of the epoch after `previous` with `change` made; null when `previous` already has it. */
export function nextView(previous: View, change: ViewChange): View | null {
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
