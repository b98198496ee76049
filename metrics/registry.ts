// The Prometheus registry of one process: prom-client's default process metrics (memory, CPU,
// event loop lag, garbage collection), and occdb's own, which are read from plain numbers the
// process keeps anyway when a scrape asks. Counting on the commit path is then an addition in
// place; prom-client's own counters would hash their labels on every increment.
import client from 'prom-client';
import { LATENCY_BUCKETS_SECONDS, type LatencyHistogram } from './histogram.js';

export type Labels = Record<string, string>;
/** One value of a metric with its labels. */
export type Sample = readonly [Labels, number];

export const METRIC_PREFIX = 'occdb_';

/** A registry for the process `processName` (MIDDLEWARE1), with the default process metrics. */
export function createRegistry(processName: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ process: processName });
  client.collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric whose values are read from the process's own numbers at each scrape. */
class CollectedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly values: () => MetricValue[] | Promise<MetricValue[]>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: await this.values(), aggregator: this.aggregator };
  }
}

/** Registers a counter or gauge named `occdb_<name>` whose samples `read` gives at scrape time. */
export function collected(registry: client.Registry, type: 'counter' | 'gauge', name: string, help: string, read: () => Iterable<Sample> | Promise<Iterable<Sample>>): void {
  registry.registerMetric(new CollectedMetric(METRIC_PREFIX + name, help, type, async () => {
    const values: MetricValue[] = [];
    for (const [labels, value] of await read()) values.push({ labels, value });
    return values;
  }) as unknown as client.Metric);
}

/** Registers `occdb_<name>` as a histogram with one series per entry of `histograms`, labelled `label`. */
export function collectedHistograms(registry: client.Registry, name: string, help: string, label: string, histograms: Record<string, LatencyHistogram>): void {
  const fullName = METRIC_PREFIX + name;
  registry.registerMetric(new CollectedMetric(fullName, help, 'histogram', () => {
    const values: MetricValue[] = [];
    for (const [labelValue, histogram] of Object.entries(histograms)) {
      let cumulative = 0;
      LATENCY_BUCKETS_SECONDS.forEach((bound, index) => {
        cumulative += histogram.counts[index]!;
        values.push({ metricName: `${fullName}_bucket`, labels: { [label]: labelValue, le: String(bound) }, value: cumulative });
      });
      values.push({ metricName: `${fullName}_bucket`, labels: { [label]: labelValue, le: '+Inf' }, value: histogram.count });
      values.push({ metricName: `${fullName}_sum`, labels: { [label]: labelValue }, value: histogram.sumSeconds });
      values.push({ metricName: `${fullName}_count`, labels: { [label]: labelValue }, value: histogram.count });
    }
    return values;
  }) as unknown as client.Metric);
}

/** Samples of a count kept by name, under `label`. */
export function byLabel(label: string, counts: ReadonlyMap<string, number>): Sample[] {
  return [...counts].map(([value, count]) => [{ [label]: value }, count] as const);
}
