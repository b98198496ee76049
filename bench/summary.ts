// From raw runs to figures: per configuration and strategy, the median and spread of each
// metric over the runs that passed their checks. Failed runs are counted, never averaged in.
import type { Strategy } from '../cluster/cluster-file.js';
import type { Configuration } from './plan.js';
import type { RunRecord } from './runner.js';
import { type Summary, summarize } from './stats.js';

export const METRICS = [
  'throughputPerSecond',
  'restartsPerCommit',
  'latencyP50Ms',
  'latencyP95Ms',
  'latencyP99Ms',
  'messagesPerCommit',
  'cpuMiddlewarePercent',
  'cpuDatabasePercent',
  'cpuClientPercent',
  'failedTransactions',
] as const;
export type Metric = (typeof METRICS)[number];

function metricOf(record: RunRecord, metric: Metric): number | null {
  switch (metric) {
    case 'throughputPerSecond': return record.throughputPerSecond;
    case 'restartsPerCommit': return record.restartsPerCommit;
    case 'latencyP50Ms': return record.latencyMs.p50;
    case 'latencyP95Ms': return record.latencyMs.p95;
    case 'latencyP99Ms': return record.latencyMs.p99;
    case 'messagesPerCommit': return record.messagesPerCommit;
    case 'cpuMiddlewarePercent': return record.cpuPercent.middleware;
    case 'cpuDatabasePercent': return record.cpuPercent.database;
    case 'cpuClientPercent': return record.cpuPercent.client;
    case 'failedTransactions': return record.failedTransactions;
  }
}

export interface GroupSummary {
  configuration: Configuration;
  strategy: Strategy;
  okRuns: number;
  failedRuns: RunRecord[];
  metrics: Record<Metric, Summary | null>;
}

/** One summary per configuration and strategy, in the order given. */
export function summarizeRuns(records: readonly RunRecord[], configurationList: readonly Configuration[], strategies: readonly Strategy[]): GroupSummary[] {
  const groups: GroupSummary[] = [];
  for (const configuration of configurationList) {
    for (const strategy of strategies) {
      const mine = records.filter((record) => record.configurationKey === configuration.key && record.strategy === strategy);
      const ok = mine.filter((record) => record.status === 'ok');
      const metrics = {} as Record<Metric, Summary | null>;
      for (const metric of METRICS) metrics[metric] = summarize(ok.map((record) => metricOf(record, metric)));
      groups.push({ configuration, strategy, okRuns: ok.length, failedRuns: mine.filter((record) => record.status === 'failed'), metrics });
    }
  }
  return groups;
}
