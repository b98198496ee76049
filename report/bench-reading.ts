// A factual reading of the benchmark's numbers, computed from its summaries: which strategy
// has the highest median throughput per configuration and whether the spread of the
// repetitions separates it from the next; how restarts per commit move with the skew; where
// throughput peaks as clients are added; how busy the machine was. Pure: summaries in, sentences out.
import type { Strategy } from '../cluster/cluster-file.js';
import type { Summary } from '../bench/stats.js';
import type { BenchResultsDocument } from './input.js';

type GroupRecord = BenchResultsDocument['summaries'][number];

export function configurationLabel(group: Pick<GroupRecord, 'configuration'>): string {
  const { configuration } = group;
  const clients = `${configuration.clients} client${configuration.clients === 1 ? '' : 's'}`;
  return configuration.workload.kind === 'bank' ? `bank, ${clients}` : `ycsb theta ${configuration.workload.theta}, ${clients}`;
}

function formatValue(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

function listWithAnd(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Groups by configuration key, in the order the summaries list them. */
function byConfiguration(summaries: readonly GroupRecord[]): GroupRecord[][] {
  const order: string[] = [];
  const groups = new Map<string, GroupRecord[]>();
  for (const summary of summaries) {
    const key = summary.configuration.key;
    if (!groups.has(key)) {
      groups.set(key, []);
      order.push(key);
    }
    groups.get(key)!.push(summary);
  }
  return order.map((key) => groups.get(key)!);
}

export interface ThroughputLeader {
  configuration: string;
  leader: Strategy;
  leaderMedian: number;
  runnerUp: Strategy | null;
  runnerUpMedian: number | null;
  /** The leader's slowest repetition beat every repetition of every other strategy. */
  separated: boolean;
}

/** Per configuration, the strategy with the highest median throughput (null where nothing was measured). */
export function throughputLeaders(summaries: readonly GroupRecord[]): ThroughputLeader[] {
  const leaders: ThroughputLeader[] = [];
  for (const groups of byConfiguration(summaries)) {
    const measured = groups
      .filter((group) => group.metrics.throughputPerSecond !== null)
      .sort((a, b) => b.metrics.throughputPerSecond!.median - a.metrics.throughputPerSecond!.median);
    const first = measured[0];
    if (first === undefined) continue;
    const second = measured[1] ?? null;
    const firstSummary = first.metrics.throughputPerSecond!;
    leaders.push({
      configuration: configurationLabel(first),
      leader: first.strategy,
      leaderMedian: firstSummary.median,
      runnerUp: second?.strategy ?? null,
      runnerUpMedian: second?.metrics.throughputPerSecond?.median ?? null,
      separated: measured.slice(1).every((other) => firstSummary.min > other.metrics.throughputPerSecond!.max),
    });
  }
  return leaders;
}

/** Whether a series only ever grows (each step at least as large), only shrinks, or neither. */
export function trendOf(values: readonly number[]): 'rises' | 'falls' | 'flat' | 'mixed' {
  if (values.length < 2) return 'flat';
  let rises = false;
  let falls = false;
  for (let index = 1; index < values.length; index++) {
    if (values[index]! > values[index - 1]!) rises = true;
    if (values[index]! < values[index - 1]!) falls = true;
  }
  if (rises && falls) return 'mixed';
  return rises ? 'rises' : falls ? 'falls' : 'flat';
}

function median(summary: Summary | null | undefined): number | null {
  return summary === null || summary === undefined ? null : summary.median;
}

/** The sentences of the reading, as markdown list items. */
export function readBenchmark(document: BenchResultsDocument): string[] {
  const sentences: string[] = [];
  const strategies = document.options.strategies;
  const summaries = document.summaries;

  // Highest median throughput, per configuration.
  const leaders = throughputLeaders(summaries);
  if (leaders.length > 0) {
    const counts = strategies
      .map((strategy) => ({ strategy, configurations: leaders.filter((leader) => leader.leader === strategy).map((leader) => leader.configuration) }))
      .filter((entry) => entry.configurations.length > 0)
      .map((entry) => `**${entry.strategy}** in ${entry.configurations.length} (${entry.configurations.join('; ')})`);
    const separated = leaders.filter((leader) => leader.separated).length;
    sentences.push(`Highest median throughput, of ${leaders.length} configurations: ${listWithAnd(counts)}. `
      + `In ${separated} of the ${leaders.length} the leader's slowest repetition was faster than every repetition of the other strategies; in the other ${leaders.length - separated} the min-max ranges overlap, so these runs do not establish the order there.`);
  }

  // Restarts per commit against theta, at each client count that has several thetas.
  const ycsb = summaries.filter((group) => group.configuration.workload.kind === 'ycsb');
  const clientCounts = [...new Set(ycsb.map((group) => group.configuration.clients))].sort((a, b) => a - b);
  const thetaOf = (group: GroupRecord): number => (group.configuration.workload.kind === 'ycsb' ? group.configuration.workload.theta : 0);
  for (const clients of clientCounts) {
    const atClients = ycsb.filter((group) => group.configuration.clients === clients);
    const thetas = [...new Set(atClients.map(thetaOf))].sort((a, b) => a - b);
    if (thetas.length < 2) continue;
    const parts: string[] = [];
    for (const strategy of strategies) {
      const series = thetas.map((theta) => median(atClients.find((group) => group.strategy === strategy && thetaOf(group) === theta)?.metrics.restartsPerCommit));
      if (series.some((value) => value === null)) {
        parts.push(`${strategy}: not measured at every theta`);
        continue;
      }
      const values = series as number[];
      const trend = trendOf(values);
      const path = values.map((value) => formatValue(value, 2)).join(' → ');
      const words = trend === 'rises' ? 'grows at every step' : trend === 'falls' ? 'falls at every step' : trend === 'flat' ? 'stays the same' : values.at(-1)! > values[0]! ? 'is higher at the largest theta than at the smallest, but not at every step' : 'is not higher at the largest theta than at the smallest';
      parts.push(`${strategy} ${path} (${words})`);
    }
    sentences.push(`Restarts per commit (median) against theta ${thetas.join(', ')} at ${clients} clients: ${parts.join('; ')}.`);
    // Which strategy re-ran transactions least, theta by theta.
    const fewest = thetas.flatMap((theta) => {
      const measured = atClients.filter((group) => thetaOf(group) === theta && group.metrics.restartsPerCommit !== null);
      if (measured.length === 0) return [];
      const lowest = Math.min(...measured.map((group) => group.metrics.restartsPerCommit!.median));
      return [{ theta, strategies: measured.filter((group) => group.metrics.restartsPerCommit!.median === lowest).map((group) => group.strategy) }];
    });
    const fewestParts = strategies
      .map((strategy) => ({ strategy, thetas: fewest.filter((entry) => entry.strategies.includes(strategy)).map((entry) => entry.theta) }))
      .filter((entry) => entry.thetas.length > 0)
      .map((entry) => `${entry.strategy} at ${entry.thetas.length === thetas.length ? 'every theta' : `theta ${entry.thetas.join(', ')}`}`);
    if (fewestParts.length > 0) sentences.push(`Fewest restarts per commit at ${clients} clients: ${listWithAnd(fewestParts)}.`);
  }

  // Throughput against clients: bank, and ycsb at each theta measured at several client counts.
  const families = new Map<string, GroupRecord[]>();
  for (const group of summaries) {
    const family = group.configuration.workload.kind === 'bank' ? 'bank' : `ycsb theta ${thetaOf(group)}`;
    families.set(family, [...(families.get(family) ?? []), group]);
  }
  for (const [family, groups] of families) {
    const clientsList = [...new Set(groups.map((group) => group.configuration.clients))].sort((a, b) => a - b);
    if (clientsList.length < 2) continue;
    const parts: string[] = [];
    for (const strategy of strategies) {
      const points = clientsList
        .map((clients) => ({ clients, value: median(groups.find((group) => group.strategy === strategy && group.configuration.clients === clients)?.metrics.throughputPerSecond) }))
        .filter((point): point is { clients: number; value: number } => point.value !== null);
      if (points.length === 0) continue;
      const peak = points.reduce((best, point) => (point.value > best.value ? point : best));
      const first = points[0]!;
      const growth = first.value > 0 ? ` (${formatValue(peak.value / first.value, 1)}x its ${first.clients}-client throughput)` : '';
      parts.push(`${strategy} peaks at ${peak.clients} clients with ${formatValue(peak.value, 0)} txn/s${peak.clients === first.clients ? '' : growth}`);
    }
    sentences.push(`Throughput against clients, ${family} (${clientsList.join(', ')} clients): ${parts.join('; ')}.`);
  }

  // The tail latency a client sees: which strategy has the lowest p99, per configuration.
  const lowestP99 = byConfiguration(summaries)
    .map((groups) => groups.filter((group) => group.metrics.latencyP99Ms !== null).sort((a, b) => a.metrics.latencyP99Ms!.median - b.metrics.latencyP99Ms!.median)[0])
    .filter((group): group is GroupRecord => group !== undefined);
  if (lowestP99.length > 0) {
    const counts = strategies
      .map((strategy) => ({ strategy, count: lowestP99.filter((group) => group.strategy === strategy).length }))
      .filter((entry) => entry.count > 0)
      .map((entry) => `${entry.strategy} in ${entry.count}`);
    sentences.push(`Lowest median p99 latency, of ${lowestP99.length} configurations: ${listWithAnd(counts)}.`);
  }

  // Messages per commit: the range of the medians over the configurations, per strategy.
  const messageParts = strategies.flatMap((strategy) => {
    const values = summaries.filter((group) => group.strategy === strategy).map((group) => median(group.metrics.messagesPerCommit)).filter((value): value is number => value !== null);
    return values.length === 0 ? [] : [`${strategy} ${formatValue(Math.min(...values), 1)} to ${formatValue(Math.max(...values), 1)}`];
  });
  if (messageParts.length > 0) sentences.push(`Messages per commit (median per configuration, lowest to highest over the configurations): ${messageParts.join('; ')}.`);

  // How busy the machine was: the processes of all roles together, against its cores.
  const capacityPercent = document.machine.cores * 100;
  const totals = summaries.flatMap((group) => {
    const parts = [group.metrics.cpuMiddlewarePercent, group.metrics.cpuDatabasePercent, group.metrics.cpuClientPercent].map(median);
    return parts.some((value) => value === null) ? [] : [{ group, total: (parts as number[]).reduce((sum, value) => sum + value, 0) }];
  });
  if (totals.length > 0) {
    const busy = totals.filter((entry) => entry.total >= 0.9 * capacityPercent);
    const highest = totals.reduce((best, entry) => (entry.total > best.total ? entry : best));
    const sorted = totals.map((entry) => entry.total).sort((a, b) => a - b);
    const middle = sorted[Math.floor(sorted.length / 2)]!;
    sentences.push(`CPU: middlewares, databases and the benchmark's clients all share this one machine of ${document.machine.cores} cores (${capacityPercent}%). `
      + `Their median CPU together was at least 90% of that in ${busy.length} of ${totals.length} configuration-strategy pairs; the highest was ${formatValue(highest.total, 0)}% (${highest.group.strategy}, ${configurationLabel(highest.group)}), the middle value over all pairs ${formatValue(middle, 0)}%. `
      + 'Where the total is close to the machine\'s capacity, throughput reflects the CPU each commit costs as much as any waiting.');
  }

  // Transactions that gave up (retry budget, refusals) over every run that passed its checks.
  const failedTransactions = document.runs.filter((run) => run.status === 'ok').reduce((sum, run) => sum + run.failedTransactions, 0);
  const committed = document.runs.filter((run) => run.status === 'ok').reduce((sum, run) => sum + run.committed, 0);
  sentences.push(`Over all runs that passed their checks, ${committed} transactions committed in the measured windows and ${failedTransactions} ended without committing (retry budget exhausted or refused).`);
  return sentences;
}
