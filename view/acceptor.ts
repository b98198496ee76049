// The Paxos acceptor of one database as a pure state machine. It votes on one epoch at a time:
// the one after the newest chosen view it knows. Events go in (a prepare, an accept, a
// proposer telling it what was chosen); effects come out as data. Every grant is preceded by a
// `persist` effect carrying the whole state, so a shell that runs effects in order writes and
// syncs before it answers, and a restarted database never forgets a promise it gave.
import { invariant, invariantBroken } from '../errors/invariant.js';
import { ballotsEqual, compareBallots, formatBallot, viewsEqual, type Ballot, type View } from './types.js';

export interface AcceptedValue {
  ballot: Ballot;
  view: View;
}

/** What a database stores durably; `restore` takes it back after a restart. */
export interface AcceptorState {
  /** The newest chosen view this database knows; it votes on epoch `chosen.epoch + 1`. */
  chosen: View;
  /** The highest ballot promised for the open epoch, or null before any. */
  promised: Ballot | null;
  /** The value accepted with the highest ballot for the open epoch, or null before any. */
  accepted: AcceptedValue | null;
}

export type AcceptorEvent =
  | { type: 'prepare'; epoch: number; ballot: Ballot }
  | { type: 'accept'; epoch: number; ballot: Ballot; view: View }
  /** A proposer reports a chosen view; an older or already known one changes nothing. */
  | { type: 'chosen'; view: View };

/** Why a prepare or accept was refused, with what lets its proposer catch up. */
export type Refusal =
  /** A higher ballot was promised for this epoch: the proposer must beat `promised`. */
  | { reason: 'outbid'; promised: Ballot }
  /** The epoch asked about is already chosen: `view` is the newest chosen view, to adopt. */
  | { reason: 'already-chosen'; view: View }
  /** The epoch is ahead of what this database knows: `chosen` is its newest chosen view, to bring it up to date from. */
  | { reason: 'gap'; chosen: View };

export type AcceptorEffect =
  | { type: 'persist'; state: AcceptorState }
  | { type: 'promise'; epoch: number; ballot: Ballot; accepted: AcceptedValue | null }
  | { type: 'accepted'; epoch: number; ballot: Ballot }
  | ({ type: 'refused'; epoch: number; ballot: Ballot } & Refusal);

/** The start state of a database that has never voted: the cluster file's view is epoch 0's. */
export function initialAcceptorState(initialView: View): AcceptorState {
  invariant(initialView.epoch === 0, `the initial view has epoch 0, not ${initialView.epoch}`);
  return { chosen: copyView(initialView), promised: null, accepted: null };
}

export class Acceptor {
  private state: AcceptorState;

  private constructor(state: AcceptorState) {
    this.state = copyState(state);
  }

  /** A database that has never voted. */
  static start(initialView: View): Acceptor {
    return new Acceptor(initialAcceptorState(initialView));
  }

  /** A database restarting from the state it last persisted. */
  static restore(stored: AcceptorState): Acceptor {
    const open = stored.chosen.epoch + 1;
    invariant(stored.accepted === null || stored.accepted.view.epoch === open, `a stored accepted view is for the open epoch ${open}`);
    invariant(
      stored.accepted === null || (stored.promised !== null && compareBallots(stored.accepted.ballot, stored.promised) <= 0),
      'a stored accepted ballot is never above the stored promise',
    );
    return new Acceptor(stored);
  }

  /** The epoch this database votes on. */
  get openEpoch(): number {
    return this.state.chosen.epoch + 1;
  }

  /** A copy of the state, as it would be persisted. */
  snapshot(): AcceptorState {
    return copyState(this.state);
  }

  handle(event: AcceptorEvent): AcceptorEffect[] {
    switch (event.type) {
      case 'prepare': return this.prepare(event.epoch, event.ballot);
      case 'accept': return this.accept(event.epoch, event.ballot, event.view);
      case 'chosen': return this.learn(event.view);
    }
  }

  private prepare(epoch: number, ballot: Ballot): AcceptorEffect[] {
    const refusal = this.refusal(epoch, ballot);
    if (refusal) return [{ type: 'refused', epoch, ballot, ...refusal }];
    // The same ballot again is granted again, with the same answer: the first answer may have been lost.
    this.state.promised = ballot;
    return [this.persist(), { type: 'promise', epoch, ballot, accepted: this.state.accepted && copyAccepted(this.state.accepted) }];
  }

  private accept(epoch: number, ballot: Ballot, view: View): AcceptorEffect[] {
    invariant(view.epoch === epoch, `an accept for epoch ${epoch} carries a view of epoch ${view.epoch}`);
    const refusal = this.refusal(epoch, ballot);
    if (refusal) return [{ type: 'refused', epoch, ballot, ...refusal }];
    const earlier = this.state.accepted;
    if (earlier && ballotsEqual(earlier.ballot, ballot) && !viewsEqual(earlier.view, view)) {
      invariantBroken(`ballot ${formatBallot(ballot)} proposed two different views for epoch ${epoch}`);
    }
    this.state.promised = ballot;
    this.state.accepted = { ballot, view: copyView(view) };
    return [this.persist(), { type: 'accepted', epoch, ballot }];
  }

  private learn(view: View): AcceptorEffect[] {
    const known = this.state.chosen;
    if (view.epoch === known.epoch && !viewsEqual(view, known)) {
      invariantBroken(`two views chosen for epoch ${view.epoch}`);
    }
    if (view.epoch <= known.epoch) return [];
    // A newer chosen view closes every epoch up to it: promises and votes were for an epoch now decided.
    this.state = { chosen: copyView(view), promised: null, accepted: null };
    return [this.persist()];
  }

  /** Why a prepare or accept of `ballot` for `epoch` cannot be granted, or null when it can. */
  private refusal(epoch: number, ballot: Ballot): Refusal | null {
    if (epoch <= this.state.chosen.epoch) return { reason: 'already-chosen', view: copyView(this.state.chosen) };
    if (epoch > this.openEpoch) return { reason: 'gap', chosen: copyView(this.state.chosen) };
    const promised = this.state.promised;
    if (promised && compareBallots(ballot, promised) < 0) return { reason: 'outbid', promised };
    return null;
  }

  private persist(): AcceptorEffect {
    return { type: 'persist', state: copyState(this.state) };
  }
}

function copyView(view: View): View {
  return {
    epoch: view.epoch,
    members: view.members.map((member) => ({ ...member })),
    replicas: [...view.replicas],
    joining: [...view.joining],
  };
}

function copyAccepted(accepted: AcceptedValue): AcceptedValue {
  return { ballot: { ...accepted.ballot }, view: copyView(accepted.view) };
}

function copyState(state: AcceptorState): AcceptorState {
  return {
    chosen: copyView(state.chosen),
    promised: state.promised && { ...state.promised },
    accepted: state.accepted && copyAccepted(state.accepted),
  };
}
