// What a view is and how the Paxos that chooses it orders its ballots. A view names the voting
// middlewares, the databases in sync and the databases being brought up to date; consecutive
// epochs are chosen one at a time, each by single-decree Paxos with the databases as acceptors.
import { invariant } from '../errors/invariant.js';

/**
 * One life of a middleware: `"<boot>.<nonce>"`, the durable boot counter of its directory in
 * decimal, then a random nonce drawn by the shell. The counter makes a later life compare
 * higher; the nonce keeps two lives distinct even if the directory (and its counter) was lost.
 * A string rather than a pair so it can be stored, sent and compared as one value.
 */
export type Incarnation = string;

export interface Member {
  id: number;
  incarnation: Incarnation;
}

export interface View {
  epoch: number;
  /** The middlewares that vote. */
  members: Member[];
  /** The databases in sync: they hold every acknowledged write and serve reads. */
  replicas: number[];
  /** The databases being brought up to date: they receive every APPLY and serve no reads. */
  joining: number[];
}

/** A proposer's ballot; never reused, because no two proposers' lives share (proposer, incarnation). */
export interface Ballot {
  round: number;
  proposer: number;
  incarnation: Incarnation;
}

const INCARNATION_FORMAT = /^(\d+)\.([0-9A-Za-z]+)$/;

/** The incarnation of boot number `boot` with the shell's random `nonce` (letters and digits). */
export function makeIncarnation(boot: number, nonce: string): Incarnation {
  const incarnation = `${boot}.${nonce}`;
  invariant(Number.isSafeInteger(boot) && boot >= 0 && INCARNATION_FORMAT.test(incarnation), `incarnation from boot ${boot} and nonce ${JSON.stringify(nonce)}`);
  return incarnation;
}

/** The boot counter and nonce of an incarnation. */
export function parseIncarnation(incarnation: Incarnation): { boot: number; nonce: string } {
  const match = INCARNATION_FORMAT.exec(incarnation);
  invariant(match, `incarnation ${JSON.stringify(incarnation)} is "<boot>.<nonce>"`);
  return { boot: Number(match[1]), nonce: match[2]! };
}

/** Orders lives of one middleware: by boot counter, then by nonce (any fixed order will do there). */
export function compareIncarnations(a: Incarnation, b: Incarnation): number {
  const left = parseIncarnation(a);
  const right = parseIncarnation(b);
  if (left.boot !== right.boot) return left.boot - right.boot;
  return left.nonce < right.nonce ? -1 : left.nonce > right.nonce ? 1 : 0;
}

/** A total order on ballots: by round, then proposer id, then incarnation. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round;
  if (a.proposer !== b.proposer) return a.proposer - b.proposer;
  return compareIncarnations(a.incarnation, b.incarnation);
}

export function ballotsEqual(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) === 0;
}

/** The higher of two ballots, where null stands for "none yet". */
export function maxBallot(a: Ballot | null, b: Ballot | null): Ballot | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareBallots(a, b) >= 0 ? a : b;
}

/** This proposer life's first ballot above `toBeat` (or its first ballot at all). */
export function nextBallot(toBeat: Ballot | null, proposer: number, incarnation: Incarnation): Ballot {
  return { round: (toBeat?.round ?? 0) + 1, proposer, incarnation };
}

export function formatBallot(ballot: Ballot): string {
  return `(${ballot.round}, ${ballot.proposer}, ${ballot.incarnation})`;
}

/** Views are equal when every field is; member and database order count, as they are written down. */
export function viewsEqual(a: View, b: View): boolean {
  return JSON.stringify(canonicalView(a)) === JSON.stringify(canonicalView(b));
}

function canonicalView(view: View): unknown {
  return [view.epoch, view.members.map((member) => [member.id, member.incarnation]), view.replicas, view.joining];
}

/** The number of acceptors that makes a majority of `acceptorCount`. */
export function majorityOf(acceptorCount: number): number {
  return Math.floor(acceptorCount / 2) + 1;
}
