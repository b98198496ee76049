// A serializability checker over client-observed histories (Adya's dependency graphs).
//
// The graph holds the committed transactions, plus those of unknown outcome that some graph
// member read from (they must have committed). Its edges:
//   wr  W -> T  T read the version W wrote;
//   ww  W -> U  U wrote the version of a key right after W's;
//   rw  T -> U  T read a version of a key and U wrote the next one;
//   rt  T -> U  T ended before U started (only with realTime).
// A history is serializable when the graph has no cycle and every read names a committed writer.
//
// Workloads write each (key, value) at most once, so a read's value names its writer; the
// checker verifies that rather than trusting it. Deletes all write null, so a read of null is
// used only when exactly one delete (or the initial state) could have produced it.
//
// Wherever the checker cannot decide something (which version came first, which delete a null
// came from) it adds no edge and reports that it could not decide, so `ok` is never claimed for
// a history it did not fully check. It is a pure function: no I/O, no clock, no randomness, and
// its result does not depend on the order of the records.

import type { Timestamp } from '../../timestamp/timestamp.js';
import { DependencyGraph, shortestCycleThrough, stronglyConnectedComponents, strongestEdge } from './graph.js';
import type {
  Anomaly,
  CheckOptions,
  CheckResult,
  CyclePhenomenon,
  DependencyEdge,
  History,
  TxnRecord,
  WriterId,
} from './history.js';
import { INITIAL, orderVersions, skippedVersions } from './versions.js';

export type * from './history.js';
export { describeResult } from './describe.js';

/** Where the value a read returned came from. */
type ReadSource =
  | { kind: 'writer'; writer: number }
  | { kind: 'garbage' }
  | { kind: 'aborted'; writer: number }
  | { kind: 'duplicate' }
  | { kind: 'ambiguous'; candidates: number[] };

/** A read that did not see the transaction's own write, with where its value came from. */
interface ExternalRead {
  key: string;
  value: number | null;
  source: ReadSource;
}

/** What one transaction's reads say, judged against its own writes only. */
interface ReadAnalysis {
  externalReads: ExternalRead[];
  anomalies: Anomaly[];
}

export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  // Number the transactions by id, so that nothing below depends on the order of the records.
  const txns = [...history.transactions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  validateRecords(txns);
  const initial = history.initial ?? {};
  const initialValue = (key: string): number | null => initial[key] ?? null;
  const idOf = (writer: number): WriterId => (writer === INITIAL ? null : txns[writer].id);

  // Every final write of every transaction, whatever its outcome, indexed by what a read returns.
  const writersOfValue = new Map<string, Map<number, number[]>>();
  const writersOfNull = new Map<string, number[]>();
  const addWriter = (key: string, value: number | null, writer: number): void => {
    if (value === null) {
      getOrCreate(writersOfNull, key, () => []).push(writer);
      return;
    }
    getOrCreate(getOrCreate(writersOfValue, key, () => new Map()), value, () => []).push(writer);
  };
  for (const [key, value] of Object.entries(initial)) if (value !== null) addWriter(key, value, INITIAL);
  txns.forEach((txn, index) => txn.writes.forEach((write) => addWriter(write.key, write.value, index)));

  const resolveRead = (key: string, value: number | null, reader: number): ReadSource => {
    if (value !== null) {
      const writers = writersOfValue.get(key)?.get(value);
      if (writers === undefined) return { kind: 'garbage' };
      if (writers.length > 1) return { kind: 'duplicate' };
      const writer = writers[0];
      if (writer !== INITIAL && txns[writer].outcome === 'aborted') return { kind: 'aborted', writer };
      return { kind: 'writer', writer };
    }
    const deleters = (writersOfNull.get(key) ?? []).filter((writer) => writer !== reader);
    const candidates = deleters.filter((writer) => txns[writer].outcome !== 'aborted');
    if (initialValue(key) === null) candidates.unshift(INITIAL);
    if (candidates.length === 1) return { kind: 'writer', writer: candidates[0] };
    if (candidates.length > 1) return { kind: 'ambiguous', candidates };
    if (deleters.length > 0) return { kind: 'aborted', writer: deleters[0] };
    return { kind: 'garbage' };
  };

  // Graph members: the committed, then every unknown-outcome transaction a member read from.
  const analyses: Array<ReadAnalysis | undefined> = new Array(txns.length);
  const isMember = new Uint8Array(txns.length);
  const pending: number[] = [];
  txns.forEach((txn, index) => {
    if (txn.outcome === 'committed') {
      isMember[index] = 1;
      pending.push(index);
    }
  });
  while (pending.length > 0) {
    const index = pending.pop()!;
    const analysis = analyzeReads(txns[index], (key, value) => resolveRead(key, value, index));
    analyses[index] = analysis;
    for (const read of analysis.externalReads) {
      if (read.source.kind !== 'writer' || read.source.writer === INITIAL || isMember[read.source.writer] === 1) continue;
      isMember[read.source.writer] = 1;
      pending.push(read.source.writer);
    }
  }
  const members: number[] = [];
  isMember.forEach((flag, index) => {
    if (flag === 1) members.push(index);
  });

  const found = new AnomalyList();

  // The uniqueness the whole method rests on.
  const readersOfDuplicate = new Map<string, number[]>();
  for (const index of members) {
    for (const read of analyses[index]!.externalReads) {
      if (read.source.kind === 'duplicate') getOrCreate(readersOfDuplicate, `${read.key}\u0000${read.value}`, () => []).push(index);
    }
  }
  for (const key of [...writersOfValue.keys()].sort()) {
    for (const [value, writers] of writersOfValue.get(key)!) {
      if (writers.length < 2) continue;
      const readers = unique(readersOfDuplicate.get(`${key}\u0000${value}`) ?? []);
      found.add({
        kind: 'duplicate-write',
        txns: [...writers.filter((writer) => writer !== INITIAL), ...readers].map((writer) => txns[writer].id),
        key,
        value,
        writers: writers.map(idOf),
        readers: readers.map((reader) => txns[reader].id),
      });
    }
  }
  const memberOfTimestamp = new Map<string, number>();
  for (const index of members) {
    const commitTs = txns[index].commitTs;
    if (commitTs === undefined) continue;
    const code = `${commitTs[0]}.${commitTs[1]}`;
    const other = memberOfTimestamp.get(code);
    if (other === undefined) memberOfTimestamp.set(code, index);
    else found.add({ kind: 'duplicate-timestamp', txns: [txns[other].id, txns[index].id], commitTs });
  }

  // What each member read, anomalies first, then per key: who wrote, who read which version.
  const keysOf = new Map<string, { writers: number[]; readersOf: Map<number, number[]>; readFromOf: Map<number, number> }>();
  const keyEntry = (key: string) => getOrCreate(keysOf, key, () => ({ writers: [], readersOf: new Map(), readFromOf: new Map() }));
  for (const index of members) {
    const txn = txns[index];
    const analysis = analyses[index]!;
    for (const anomaly of analysis.anomalies) found.add(anomaly);
    for (const read of analysis.externalReads) {
      const source = read.source;
      if (source.kind === 'garbage') found.add({ kind: 'garbage-read', txns: [txn.id], txn: txn.id, key: read.key, value: read.value });
      if (source.kind === 'aborted') {
        found.add({ kind: 'aborted-read', txns: [txn.id, txns[source.writer].id], txn: txn.id, key: read.key, value: read.value, writer: txns[source.writer].id });
      }
      if (source.kind === 'ambiguous') {
        found.add({ kind: 'ambiguous-read', txns: [txn.id], txn: txn.id, key: read.key, candidates: source.candidates.map(idOf) });
      }
      if (source.kind !== 'writer') continue;
      const entry = keyEntry(read.key);
      const readers = getOrCreate(entry.readersOf, source.writer, () => []);
      if (readers[readers.length - 1] !== index) readers.push(index);
    }
    for (const write of txn.writes) keyEntry(write.key).writers.push(index);
  }
  for (const index of members) {
    // The version a read-modify-write overwrote: the last one it read before writing.
    const writtenKeys = new Set(txns[index].writes.map((write) => write.key));
    for (const read of analyses[index]!.externalReads) {
      if (read.source.kind === 'writer' && writtenKeys.has(read.key)) keyEntry(read.key).readFromOf.set(index, read.source.writer);
    }
  }

  const graph = new DependencyGraph(txns.length);
  const commitTsOf = (index: number): Timestamp | undefined => txns[index].commitTs;
  const writesKey = (index: number, key: string): boolean => txns[index].writes.some((write) => write.key === key);
  for (const key of [...keysOf.keys()].sort()) {
    const { writers, readersOf, readFromOf } = keysOf.get(key)!;

    const lostUpdateFrom = new Set<number>();
    for (const [writer, readers] of readersOf) {
      const overwriters = readers.filter((reader) => writesKey(reader, key));
      if (overwriters.length < 2) continue;
      lostUpdateFrom.add(writer);
      const value = writer === INITIAL ? initialValue(key) : txns[writer].writes.find((write) => write.key === key)!.value;
      found.add({ kind: 'lost-update', txns: overwriters.map((reader) => txns[reader].id), key, readFrom: idOf(writer), value });
    }

    for (const [writer, readers] of readersOf) {
      if (writer !== INITIAL) for (const reader of readers) graph.addEdge(writer, reader, 'wr', key);
    }

    const order = orderVersions({ writers, readFromOf, commitTsOf });
    // Each version's certain successors: the next one when the order is total, else what is proven.
    const successorsOf = new Map<number, number[]>();
    if (order.kind === 'total') {
      for (let position = 0; position + 1 < order.order.length; position++) successorsOf.set(order.order[position], [order.order[position + 1]]);
      for (const skip of skippedVersions(order.order, readFromOf)) {
        // Several transactions overwriting one version is reported once, as a lost update.
        if (lostUpdateFrom.has(skip.readFrom)) continue;
        found.add({
          kind: 'order-conflict',
          conflict: 'skipped-version',
          txns: [txns[skip.txn].id, txns[skip.skipped].id],
          key,
          txn: txns[skip.txn].id,
          readFrom: idOf(skip.readFrom),
          skipped: txns[skip.skipped].id,
        });
      }
    } else {
      for (const [version, successors] of order.successors) successorsOf.set(version, successors);
      if (order.contradictory.length > 0) {
        found.add({ kind: 'order-conflict', conflict: 'contradictory', txns: order.contradictory.map((writer) => txns[writer].id), key });
      }
      // A lost update already forks the chain; its unordered versions say nothing new.
      const unordered = order.unordered.filter((writer) => writer !== INITIAL);
      if (unordered.length > 0 && lostUpdateFrom.size === 0) {
        found.add({ kind: 'unordered-versions', txns: unordered.map((writer) => txns[writer].id), key });
      }
    }
    for (const [version, successors] of successorsOf) {
      for (const successor of successors) {
        if (version !== INITIAL) graph.addEdge(version, successor, 'ww', key);
        for (const reader of readersOf.get(version) ?? []) graph.addEdge(reader, successor, 'rw', key);
      }
    }
  }

  if (options.realTime === true) addRealTimeOrder(graph, txns, members);

  for (const anomaly of findCycles(graph, txns)) found.add(anomaly);

  const anomalies = found.sorted();
  return {
    ok: anomalies.length === 0,
    anomalies,
    stats: {
      transactions: txns.length,
      committed: txns.filter((txn) => txn.outcome === 'committed').length,
      observedUnknown: members.filter((index) => txns[index].outcome === 'unknown').length,
      edges: graph.edgeCount,
    },
  };
}

/** Malformed records are a bug in whatever built the history, not a finding about the system. */
function validateRecords(txns: TxnRecord[]): void {
  for (let index = 0; index < txns.length; index++) {
    const txn = txns[index];
    if (index > 0 && txns[index - 1].id === txn.id) throw new Error(`history: transaction id ${txn.id} appears twice`);
    const writtenKeys = new Set<string>();
    for (const write of txn.writes) {
      if (writtenKeys.has(write.key)) throw new Error(`history: transaction ${txn.id} lists two final writes of ${write.key}`);
      writtenKeys.add(write.key);
    }
    if (txn.startMs !== undefined && txn.endMs !== undefined && txn.endMs < txn.startMs) {
      throw new Error(`history: transaction ${txn.id} ends (${txn.endMs}) before it starts (${txn.startMs})`);
    }
  }
}

/**
 * Splits a transaction's reads into those that saw its own write (ignored) and those that saw
 * another transaction's (external), and finds the reads that contradict each other. Only final
 * writes are recorded, so a read that returns the transaction's own final value is taken as
 * reading its own write; once it has, every later read of the key must return that value too.
 * (A read of null by a transaction that deletes the key counts as its own, which can hide a
 * dependency but never invents one.)
 */
function analyzeReads(txn: TxnRecord, resolve: (key: string, value: number | null) => ReadSource): ReadAnalysis {
  const ownValueOf = new Map<string, number | null>(txn.writes.map((write) => [write.key, write.value]));
  const sawOwnWrite = new Set<string>();
  const externalValuesOf = new Map<string, Array<number | null>>();
  const externalReads: ExternalRead[] = [];
  const anomalies: Anomaly[] = [];
  const reportedInternal = new Set<string>();
  for (const { key, value } of txn.reads) {
    if (ownValueOf.has(key) && ownValueOf.get(key) === value) {
      sawOwnWrite.add(key);
      continue;
    }
    if (sawOwnWrite.has(key)) {
      if (!reportedInternal.has(key)) {
        reportedInternal.add(key);
        anomalies.push({ kind: 'internal-inconsistency', txns: [txn.id], txn: txn.id, key, ownValue: ownValueOf.get(key)!, value });
      }
      continue;
    }
    const values = getOrCreate(externalValuesOf, key, () => []);
    if (values.includes(value)) continue;
    values.push(value);
    externalReads.push({ key, value, source: resolve(key, value) });
  }
  for (const [key, values] of externalValuesOf) {
    if (values.length > 1) anomalies.push({ kind: 'non-repeatable-read', txns: [txn.id], txn: txn.id, key, values });
  }
  return { externalReads, anomalies };
}

/**
 * Real-time order without an edge per pair: a chain of time points, one per start and end, in
 * time order (at equal times, starts first, so only a strictly earlier end orders two
 * transactions). A transaction links to the point of its end, and the point of its start links
 * to it, so T1 reaches T2 through the chain exactly when T1 ended before T2 started.
 * A transaction of unknown outcome may have committed after its client gave up, so its end
 * orders nothing.
 */
function addRealTimeOrder(graph: DependencyGraph, txns: TxnRecord[], members: number[]): void {
  const events: Array<{ timeMs: number; isEnd: boolean; txn: number }> = [];
  for (const index of members) {
    const { startMs, endMs, outcome } = txns[index];
    if (startMs !== undefined) events.push({ timeMs: startMs, isEnd: false, txn: index });
    if (endMs !== undefined && outcome === 'committed') events.push({ timeMs: endMs, isEnd: true, txn: index });
  }
  events.sort((a, b) => a.timeMs - b.timeMs || Number(a.isEnd) - Number(b.isEnd) || a.txn - b.txn);
  let previousPoint: number | undefined;
  for (const event of events) {
    const point = graph.addNode();
    if (previousPoint !== undefined) graph.addEdge(previousPoint, point, 'rt');
    if (event.isEnd) graph.addEdge(event.txn, point, 'rt');
    else graph.addEdge(point, event.txn, 'rt');
    previousPoint = point;
  }
}

/** One short cycle for each strongly connected component that has one. */
function findCycles(graph: DependencyGraph, txns: TxnRecord[]): Anomaly[] {
  const components = stronglyConnectedComponents(graph);
  const cycles: Anomaly[] = [];
  for (const component of components.members) {
    if (component.length < 2) continue;
    // Time points only ever chain forwards, so every cyclic component holds a transaction.
    let start = Number.POSITIVE_INFINITY;
    for (const node of component) if (graph.isReal(node) && node < start) start = node;
    const path = shortestCycleThrough(graph, components, start);
    if (path === undefined) throw new Error('a strongly connected component without a cycle through its member');
    const cycle = nameCycle(graph, path, txns);
    cycles.push({
      kind: 'cycle',
      phenomenon: phenomenonOf(cycle),
      realTime: cycle.some((edge) => edge.edge === 'rt'),
      txns: cycle.map((edge) => edge.from),
      cycle,
      component: component.filter((node) => graph.isReal(node)).sort((a, b) => a - b).map((node) => txns[node].id),
    });
  }
  return cycles;
}

/** Turns a cycle of graph nodes into edges between transactions; a run of time points is one 'rt' edge. */
function nameCycle(graph: DependencyGraph, path: number[], txns: TxnRecord[]): DependencyEdge[] {
  const edges: DependencyEdge[] = [];
  const closed = [...path, path[0]];
  let from = closed[0];
  let throughTime = false;
  for (let position = 1; position < closed.length; position++) {
    const node = closed[position];
    if (!graph.isReal(node)) {
      throughTime = true;
      continue;
    }
    if (throughTime) edges.push({ from: txns[from].id, to: txns[node].id, edge: 'rt' });
    else {
      const edge = strongestEdge(graph, from, node);
      edges.push({ from: txns[from].id, to: txns[node].id, edge: edge.kind, key: edge.key });
    }
    from = node;
    throughTime = false;
  }
  return edges;
}

function phenomenonOf(cycle: DependencyEdge[]): CyclePhenomenon {
  const antiDependencies = cycle.filter((edge) => edge.edge === 'rw').length;
  if (antiDependencies === 1) return 'G-single';
  if (antiDependencies > 1) return 'G2-item';
  return cycle.some((edge) => edge.edge === 'wr') ? 'G1c' : 'G0';
}

/** Anomalies in a fixed order of kinds, so results compare equal whatever the record order. */
const KIND_ORDER: Array<Anomaly['kind']> = [
  'duplicate-write',
  'duplicate-timestamp',
  'garbage-read',
  'aborted-read',
  'ambiguous-read',
  'non-repeatable-read',
  'internal-inconsistency',
  'lost-update',
  'order-conflict',
  'unordered-versions',
  'cycle',
];

class AnomalyList {
  private readonly byKind = new Map<Anomaly['kind'], Anomaly[]>();

  add(anomaly: Anomaly): void {
    getOrCreate(this.byKind, anomaly.kind, () => []).push(anomaly);
  }

  sorted(): Anomaly[] {
    return KIND_ORDER.flatMap((kind) => this.byKind.get(kind) ?? []);
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

function unique(numbers: number[]): number[] {
  return [...new Set(numbers)].sort((a, b) => a - b);
}
