// Fencing as pure rules: whom a database still takes APPLYs and reads from. A database that
// accepted a view has promised it to a proposer, and the view may be chosen without the
// database hearing of it; so from the moment it accepts, it takes nothing from a middleware
// life that view leaves out. That is what makes "accepted" the line between the APPLYs a
// removed coordinator landed (recovery finds them) and those it never will.
import { OccdbError } from '../errors/catalogue.js';
import type { AcceptorState } from '../view/acceptor.js';
import type { Member, View } from '../view/types.js';

/** The view a database fences by: the one it accepted for the open epoch, else the newest chosen one. */
export function fenceView(state: AcceptorState): View {
  return state.accepted?.view ?? state.chosen;
}

/** True when `view` lets `member` in: it lists that very life, same id and same incarnation. */
export function admits(view: View, member: Member): boolean {
  return view.members.some((candidate) => candidate.id === member.id && candidate.incarnation === member.incarnation);
}

/**
 * The refusal of a request from `member` at the database `database` (its name, DATABASE<n>)
 * whose acceptor is in `state`, or null when `member` may be served.
 */
export function fenceRefusal(database: string, state: AcceptorState, member: Member): OccdbError | null {
  const view = fenceView(state);
  if (admits(view, member)) return null;
  return new OccdbError('FENCED', `${database} accepted view ${view.epoch} without MIDDLEWARE${member.id} incarnation ${member.incarnation}`);
}
