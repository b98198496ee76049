// The version order of one key: which write of the key came after which. Two sources tell it:
// commit timestamps (the replicas keep the largest-timestamp write, so timestamp order is the
// installed order) and read-modify-write chains (a transaction that read a version and wrote
// the key installed its version after the one it read). The initial state comes first.

import { compareTimestamps, type Timestamp } from '../../timestamp/timestamp.js';

/** The initial state, as a writer. Transactions are numbered from 0. */
export const INITIAL = -1;

export interface KeyWrites {
  /** Transactions (graph members) that wrote the key, in ascending order. */
  writers: number[];
  /** For a writer that also read the key: the writer of the version it read (or INITIAL). */
  readFromOf: ReadonlyMap<number, number>;
  commitTsOf: (txn: number) => Timestamp | undefined;
}

export type VersionOrder =
  /** Every version placed: `order` starts with INITIAL. */
  | { kind: 'total'; order: number[] }
  /**
   * Not every version could be placed. `successors` holds only what is certain: each listed
   * version comes after the version it is listed under (the initial state included).
   * `unordered` are the writers whose place is undecided; `contradictory` a cycle of writers
   * that the two sources order both ways (empty when there is none).
   */
  | { kind: 'partial'; successors: Map<number, number[]>; unordered: number[]; contradictory: number[] };

export function orderVersions(writes: KeyWrites): VersionOrder {
  // Local numbering: 0 is the initial state, i + 1 is writers[i].
  const nodeCount = writes.writers.length + 1;
  const toGlobal = (local: number): number => (local === 0 ? INITIAL : writes.writers[local - 1]);
  const localOf = new Map<number, number>([[INITIAL, 0]]);
  writes.writers.forEach((txn, position) => localOf.set(txn, position + 1));

  const successors: number[][] = Array.from({ length: nodeCount }, () => []);
  const predecessors: number[][] = Array.from({ length: nodeCount }, () => []);
  const seen = new Set<number>();
  const constrain = (before: number, after: number): void => {
    const pairCode = before * nodeCount + after;
    if (before === after || seen.has(pairCode)) return;
    seen.add(pairCode);
    successors[before].push(after);
    predecessors[after].push(before);
  };

  const timed = writes.writers
    .map((txn) => ({ txn, commitTs: writes.commitTsOf(txn) }))
    .filter((entry): entry is { txn: number; commitTs: Timestamp } => entry.commitTs !== undefined)
    .sort((a, b) => compareTimestamps(a.commitTs, b.commitTs) || a.txn - b.txn);
  let previous = 0;
  for (const { txn } of timed) {
    const local = localOf.get(txn)!;
    constrain(previous, local);
    previous = local;
  }
  for (const [txn, readFrom] of writes.readFromOf) {
    const before = localOf.get(readFrom);
    // A version read from outside the graph (an unobserved writer) gives no constraint.
    if (before !== undefined) constrain(before, localOf.get(txn)!);
  }
  for (let local = 1; local < nodeCount; local++) {
    if (predecessors[local].length === 0) constrain(0, local);
  }

  // Kahn's algorithm: the order is total exactly when one version at a time is ready.
  const remainingPredecessors = predecessors.map((list) => list.length);
  const order: number[] = [];
  const unordered = new Set<number>();
  const ready = [0];
  for (let head = 0; head < ready.length; head++) {
    if (ready.length - head > 1) for (let index = head; index < ready.length; index++) unordered.add(ready[index]);
    const local = ready[head];
    order.push(local);
    for (const next of successors[local]) {
      remainingPredecessors[next]--;
      if (remainingPredecessors[next] === 0) ready.push(next);
    }
  }

  if (order.length === nodeCount && unordered.size === 0) return { kind: 'total', order: order.map(toGlobal) };

  const contradictory = order.length === nodeCount ? [] : findConstraintCycle(predecessors, remainingPredecessors);
  const globalSuccessors = new Map<number, number[]>();
  successors.forEach((list, local) => globalSuccessors.set(toGlobal(local), list.map(toGlobal)));
  return {
    kind: 'partial',
    successors: globalSuccessors,
    unordered: [...unordered].sort((a, b) => a - b).map(toGlobal),
    contradictory: contradictory.sort((a, b) => a - b).map(toGlobal),
  };
}

/**
 * A node left with unmet predecessors after Kahn's algorithm always has an unmet predecessor
 * itself, so walking backwards through such predecessors must revisit a node: that is a cycle.
 */
function findConstraintCycle(predecessors: number[][], remainingPredecessors: number[]): number[] {
  let node = remainingPredecessors.findIndex((count) => count > 0);
  const visitedAt = new Map<number, number>();
  const walk: number[] = [];
  while (!visitedAt.has(node)) {
    visitedAt.set(node, walk.length);
    walk.push(node);
    node = predecessors[node].find((before) => remainingPredecessors[before] > 0)!;
  }
  return walk.slice(visitedAt.get(node));
}

/**
 * In a total order, a read-modify-write transaction should directly follow the version it read;
 * if another version lies between, it overwrote a version it never saw.
 */
export function skippedVersions(order: number[], readFromOf: ReadonlyMap<number, number>): Array<{ txn: number; readFrom: number; skipped: number }> {
  const positionOf = new Map<number, number>();
  order.forEach((writer, position) => positionOf.set(writer, position));
  const skips: Array<{ txn: number; readFrom: number; skipped: number }> = [];
  for (const [txn, readFrom] of readFromOf) {
    const readPosition = positionOf.get(readFrom);
    if (readPosition === undefined) continue;
    if (positionOf.get(txn) !== readPosition + 1) skips.push({ txn, readFrom, skipped: order[readPosition + 1] });
  }
  return skips.sort((a, b) => a.txn - b.txn);
}
