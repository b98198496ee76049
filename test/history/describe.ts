// Human sentences for a check result, for test failure messages and reports.

import type { Anomaly, CheckResult, DependencyEdge, WriterId } from './history.js';

export function describeResult(result: CheckResult): string {
  const { stats } = result;
  const observed = stats.observedUnknown > 0 ? `, plus ${stats.observedUnknown} of unknown outcome that were read from` : '';
  const scope = `${stats.transactions} transactions (${stats.committed} committed${observed}), ${stats.edges} dependency edges`;
  if (result.ok) return `Serializable: no anomaly among ${scope}.`;
  const lines = [`Not shown serializable: ${result.anomalies.length} ${result.anomalies.length === 1 ? 'anomaly' : 'anomalies'} among ${scope}.`];
  for (const anomaly of result.anomalies) lines.push(`- ${describeAnomaly(anomaly)}`);
  return lines.join('\n');
}

export function describeAnomaly(anomaly: Anomaly): string {
  switch (anomaly.kind) {
    case 'cycle': {
      const realTime = anomaly.realTime ? ', using real-time order' : '';
      const others = anomaly.component.length - anomaly.txns.length;
      const component = others > 0 ? ` (one of the cycles among the ${anomaly.component.length} transactions ${list(anomaly.component, 20)}, which all depend on each other)` : '';
      return `cycle (${anomaly.phenomenon}${realTime}) among ${list(anomaly.txns)}: ${describeCycle(anomaly.cycle)}${component}.`;
    }
    case 'garbage-read':
      return `garbage read: ${anomaly.txn} read ${anomaly.key} = ${value(anomaly.value)}, which no transaction wrote as its final value.`;
    case 'aborted-read':
      return `aborted read: ${anomaly.txn} read ${anomaly.key} = ${value(anomaly.value)}, written by aborted transaction ${anomaly.writer}.`;
    case 'lost-update': {
      const all = anomaly.txns.length === 2 ? 'both' : 'all';
      return `lost update: ${list(anomaly.txns)} ${all} read ${anomaly.key} = ${value(anomaly.value)} (from ${writer(anomaly.readFrom)}) and ${all} wrote ${anomaly.key}.`;
    }
    case 'non-repeatable-read':
      return `non-repeatable read: ${anomaly.txn} read ${anomaly.key} as ${anomaly.values.map(value).join(', then ')} without writing it in between.`;
    case 'internal-inconsistency':
      return `${anomaly.txn} read its own write ${anomaly.key} = ${value(anomaly.ownValue)}, then read ${anomaly.key} = ${value(anomaly.value)}.`;
    case 'duplicate-write': {
      const readers = anomaly.readers.length > 0 ? `; the reads of it by ${list(anomaly.readers)} were not checked` : '';
      return `duplicate write: ${anomaly.key} = ${anomaly.value} was written by ${anomaly.writers.map(writer).join(' and ')}, so a read of it cannot name its writer${readers}.`;
    }
    case 'duplicate-timestamp':
      return `duplicate timestamp: ${list(anomaly.txns)} report the same commit timestamp ${anomaly.commitTs[0]}.${anomaly.commitTs[1]}.`;
    case 'order-conflict':
      if (anomaly.conflict === 'contradictory') {
        return `order conflict: commit timestamps and read-modify-write chains order the versions of ${anomaly.key} written by ${list(anomaly.txns)} both ways.`;
      }
      return `order conflict: ${anomaly.txn} overwrote the version of ${anomaly.key} written by ${writer(anomaly.readFrom)}, but commit timestamps put ${anomaly.skipped}'s version in between.`;
    case 'unordered-versions':
      return `could not check: the versions of ${anomaly.key} written by ${list(anomaly.txns)} cannot be ordered (writes without a read of the key or a commit timestamp), so their ww and rw dependencies were not checked.`;
    case 'ambiguous-read':
      return `could not check: ${anomaly.txn} read ${anomaly.key} = null, which any of ${anomaly.candidates.map(writer).join(', ')} could have produced, so its dependencies were not checked.`;
  }
}

function describeCycle(cycle: DependencyEdge[]): string {
  const steps = cycle.map((edge) => ` -${edge.edge}${edge.key === undefined ? '' : `(${edge.key})`}-> ${edge.to}`);
  return cycle[0].from + steps.join('');
}

function value(value: number | null): string {
  return value === null ? 'null (no entry)' : String(value);
}

function writer(writer: WriterId): string {
  return writer === null ? 'the initial state' : writer;
}

/** Ids separated by commas; past `shownMax`, a count of the rest. */
function list(ids: string[], shownMax = Number.POSITIVE_INFINITY): string {
  if (ids.length <= shownMax) return ids.join(', ');
  return `${ids.slice(0, shownMax).join(', ')} and ${ids.length - shownMax} more`;
}
