// One attempt of a middleware to choose the view of epoch e+1, as a pure state machine:
// single-decree Paxos with every database of the cluster file as an acceptor. The attempt ends
// in one of three ways: chosen (with the databases that accepted, which the rule on `replicas`
// needs), outbid (with the ballot to beat; the shell retries after a back-off it draws itself),
// or adopt (the epoch was already chosen: the shell takes that view and moves on).
import { invariant } from '../errors/invariant.js';
import type { AcceptedValue, Refusal } from './acceptor.js';
import { ballotsEqual, compareBallots, majorityOf, type Ballot, type View } from './types.js';

export interface ProposerOptions {
  /** The newest chosen view this middleware knows: the attempt is for the epoch after it. */
  previous: View;
  ballot: Ballot;
  /** The view this middleware wants, used unless an acceptor already accepted another. */
  proposal: View;
  /** Every database of the cluster file: a majority is counted over all of them, not over those answering. */
  acceptors: number[];
}

export type ProposerEvent =
  | { type: 'promise'; from: number; epoch: number; ballot: Ballot; accepted: AcceptedValue | null }
  | { type: 'accepted'; from: number; epoch: number; ballot: Ballot }
  | ({ type: 'refused'; from: number; epoch: number; ballot: Ballot } & Refusal)
  /** The shell's timer: ask again the acceptors that have not answered this phase (messages get lost). */
  | { type: 'resend' };

export type ProposerEffect =
  | { type: 'send-prepare'; to: number[]; epoch: number; ballot: Ballot }
  | { type: 'send-accept'; to: number[]; epoch: number; ballot: Ballot; view: View }
  /** Brings an acceptor that is behind up to the view this attempt builds on. */
  | { type: 'send-chosen'; to: number[]; view: View }
  | { type: 'chosen'; view: View; acceptedBy: number[] }
  | { type: 'outbid'; ballot: Ballot }
  | { type: 'adopt'; view: View };

export type ProposerPhase = 'idle' | 'preparing' | 'accepting' | 'chosen' | 'outbid' | 'adopted';

export class ProposerAttempt {
  readonly epoch: number;
  readonly ballot: Ballot;
  private readonly previous: View;
  private readonly proposal: View;
  private readonly acceptors: number[];
  private readonly majority: number;
  private phaseNow: ProposerPhase = 'idle';
  /** Acceptor -> what it had accepted when it promised. */
  private readonly promises = new Map<number, AcceptedValue | null>();
  private readonly acceptedBySet = new Set<number>();
  /** The view sent in phase 2: the proposal, or the value accepted with the highest ballot among the promises. */
  private value: View | null = null;

  constructor(options: ProposerOptions) {
    this.previous = options.previous;
    this.epoch = options.previous.epoch + 1;
    invariant(options.proposal.epoch === this.epoch, `a proposal after epoch ${options.previous.epoch} is for epoch ${this.epoch}, not ${options.proposal.epoch}`);
    invariant(new Set(options.acceptors).size === options.acceptors.length && options.acceptors.length > 0, 'the acceptors are distinct and not none');
    this.ballot = options.ballot;
    this.proposal = options.proposal;
    this.acceptors = [...options.acceptors];
    this.majority = majorityOf(this.acceptors.length);
  }

  get phase(): ProposerPhase {
    return this.phaseNow;
  }

  /** The acceptors that accepted this attempt's value so far. */
  get acceptedBy(): number[] {
    return [...this.acceptedBySet].sort((a, b) => a - b);
  }

  start(): ProposerEffect[] {
    invariant(this.phaseNow === 'idle', 'an attempt starts once');
    this.phaseNow = 'preparing';
    return [this.sendPrepare(this.acceptors)];
  }

  handle(event: ProposerEvent): ProposerEffect[] {
    if (event.type === 'resend') return this.resend();
    // Answers to another ballot or epoch, from a stranger, or after the attempt ended are stale.
    if (!this.acceptors.includes(event.from) || event.epoch !== this.epoch || !ballotsEqual(event.ballot, this.ballot)) return [];
    if (this.phaseNow !== 'preparing' && this.phaseNow !== 'accepting') return [];
    switch (event.type) {
      case 'promise': return this.promised(event.from, event.accepted);
      case 'accepted': return this.accepted(event.from);
      case 'refused': return this.refused(event.from, event);
    }
  }

  private promised(from: number, accepted: AcceptedValue | null): ProposerEffect[] {
    if (this.phaseNow !== 'preparing') return [];
    if (accepted) invariant(accepted.view.epoch === this.epoch, `a promise for epoch ${this.epoch} reports a view of epoch ${accepted.view.epoch}`);
    this.promises.set(from, accepted);
    if (this.promises.size < this.majority) return [];
    // Some value may already be chosen; if so, it is the one accepted with the highest ballot among any majority's answers.
    let highest: AcceptedValue | null = null;
    for (const value of this.promises.values()) {
      if (value && (highest === null || compareBallots(value.ballot, highest.ballot) > 0)) highest = value;
    }
    this.value = highest ? highest.view : this.proposal;
    this.phaseNow = 'accepting';
    return [this.sendAccept(this.acceptors)];
  }

  private accepted(from: number): ProposerEffect[] {
    if (this.phaseNow !== 'accepting') return [];
    this.acceptedBySet.add(from);
    if (this.acceptedBySet.size < this.majority) return [];
    this.phaseNow = 'chosen';
    return [{ type: 'chosen', view: this.value!, acceptedBy: this.acceptedBy }];
  }

  private refused(from: number, refusal: Refusal): ProposerEffect[] {
    switch (refusal.reason) {
      case 'outbid':
        invariant(compareBallots(refusal.promised, this.ballot) > 0, 'an acceptor refuses only for a higher promise');
        this.phaseNow = 'outbid';
        return [{ type: 'outbid', ballot: refusal.promised }];
      case 'already-chosen':
        invariant(refusal.view.epoch >= this.epoch, `an epoch refused as chosen is known: ${refusal.view.epoch} < ${this.epoch}`);
        this.phaseNow = 'adopted';
        return [{ type: 'adopt', view: refusal.view }];
      case 'gap':
        // The acceptor missed the view this attempt builds on: tell it, then ask it again.
        invariant(refusal.chosen.epoch < this.previous.epoch, 'an acceptor reports a gap only when it is behind');
        return [{ type: 'send-chosen', to: [from], view: this.previous }, ...this.askAgain([from])];
    }
  }

  private resend(): ProposerEffect[] {
    if (this.phaseNow === 'preparing') return this.askAgain(this.acceptors.filter((id) => !this.promises.has(id)));
    if (this.phaseNow === 'accepting') return this.askAgain(this.acceptors.filter((id) => !this.acceptedBySet.has(id)));
    return [];
  }

  private askAgain(to: number[]): ProposerEffect[] {
    if (to.length === 0) return [];
    return [this.phaseNow === 'preparing' ? this.sendPrepare(to) : this.sendAccept(to)];
  }

  private sendPrepare(to: number[]): ProposerEffect {
    return { type: 'send-prepare', to: [...to], epoch: this.epoch, ballot: this.ballot };
  }

  private sendAccept(to: number[]): ProposerEffect {
    return { type: 'send-accept', to: [...to], epoch: this.epoch, ballot: this.ballot, view: this.value! };
  }
}
