// The written results: markdown tables (median [min-max] over the repetitions) and the
// charts, built from the summaries. Pure: text in, text out; main.ts writes the files.
import type { Strategy } from '../cluster/cluster-file.js';
import type { MachineInfo } from './measure.js';
import type { BenchOptions } from './options.js';
import type { Configuration } from './plan.js';
import type { RunRecord } from './runner.js';
import type { Summary } from './stats.js';
import type { GroupSummary, Metric } from './summary.js';
import { type ChartSeries, type ChartSpec, lineChart } from './svg.js';
import { BANK_ACCOUNT_COUNT, BANK_BALANCE_INITIAL, BANK_TRANSFER_AMOUNT_MAX, YCSB_KEY_COUNT, describeWorkload } from './workloads.js';

export const STRATEGY_STYLE: Record<Strategy, { color: string; dash: string }> = {
  occ: { color: '#1f77b4', dash: '' },
  '2pl': { color: '#d62728', dash: '8 4' },
  '2pl-nowait': { color: '#2ca02c', dash: '2 3' },
};

export interface Column {
  title: string;
  metric: Metric;
  decimals: number;
}

/** The columns of every results table, in order (report 2 uses them too). */
export const COLUMNS: Column[] = [
  { title: 'txn/s', metric: 'throughputPerSecond', decimals: 0 },
  { title: 'restarts/commit', metric: 'restartsPerCommit', decimals: 2 },
  { title: 'p50 ms', metric: 'latencyP50Ms', decimals: 1 },
  { title: 'p95 ms', metric: 'latencyP95Ms', decimals: 1 },
  { title: 'p99 ms', metric: 'latencyP99Ms', decimals: 1 },
  { title: 'msgs/commit', metric: 'messagesPerCommit', decimals: 1 },
  { title: 'CPU% middlewares', metric: 'cpuMiddlewarePercent', decimals: 0 },
  { title: 'CPU% databases', metric: 'cpuDatabasePercent', decimals: 0 },
  { title: 'CPU% client', metric: 'cpuClientPercent', decimals: 0 },
  { title: 'failed txns', metric: 'failedTransactions', decimals: 0 },
];

export function formatNumber(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

/** `median [min-max]`, or `n/a` where nothing was measured. */
export function formatSummary(summary: Summary | null, decimals: number): string {
  if (summary === null) return 'n/a';
  const median = formatNumber(summary.median, decimals);
  if (summary.count === 1) return median;
  return `${median} [${formatNumber(summary.min, decimals)}-${formatNumber(summary.max, decimals)}]`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 3)}...`;
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function groupTable(groups: readonly GroupSummary[]): string {
  const rows = groups.map((group) => {
    const runs = `${group.okRuns}/${group.okRuns + group.failedRuns.length}`;
    if (group.okRuns === 0) {
      const reason = group.failedRuns[0]?.failure?.message ?? 'not run';
      return [group.strategy, runs, `FAILED: ${shorten(reason, 140)}`, ...COLUMNS.slice(1).map(() => '')];
    }
    return [group.strategy, runs, ...COLUMNS.map((column) => formatSummary(group.metrics[column.metric], column.decimals))];
  });
  return markdownTable(['strategy', 'runs ok', ...COLUMNS.map((column) => column.title)], rows);
}

function configurationTitle(configuration: Configuration): string {
  const clients = `${configuration.clients} client${configuration.clients === 1 ? '' : 's'}`;
  return configuration.workload.kind === 'bank' ? `bank, ${clients}` : `ycsb theta ${configuration.workload.theta}, ${clients}`;
}

export interface ChartFile {
  fileName: string;
  title: string;
  svg: string;
}

type SeriesMetric = Extract<Metric, 'throughputPerSecond' | 'restartsPerCommit'>;

/** One series per strategy; a strategy without a successful run stays in the legend, marked. */
function seriesFor(groups: readonly GroupSummary[], strategies: readonly Strategy[], metric: SeriesMetric, xOf: (group: GroupSummary) => number): ChartSeries[] {
  return strategies.map((strategy) => {
    const points = groups
      .filter((group) => group.strategy === strategy && group.metrics[metric] !== null)
      .map((group) => {
        const summary = group.metrics[metric]!;
        return { x: xOf(group), y: summary.median, yMin: summary.min, yMax: summary.max };
      });
    return { name: strategy, points, ...STRATEGY_STYLE[strategy], ...(points.length === 0 ? { note: 'no successful run' } : {}) };
  });
}

const distinct = (values: readonly number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/**
 * The charts the sweep has data for: throughput and restarts against skew (ycsb, one pair
 * per client count), throughput against clients (bank, and ycsb at theta 0). A chart needs
 * at least two x values; the ones that cannot be drawn are named with the reason.
 */
export function buildCharts(groups: readonly GroupSummary[], options: BenchOptions): { charts: ChartFile[]; skipped: string[] } {
  const charts: ChartFile[] = [];
  const skipped: string[] = [];
  const ycsb = groups.filter((group) => group.configuration.workload.kind === 'ycsb');
  const bank = groups.filter((group) => group.configuration.workload.kind === 'bank');
  const thetaOf = (group: GroupSummary): number => (group.configuration.workload.kind === 'ycsb' ? group.configuration.workload.theta : 0);
  const subtitle = (what: string): string[] => [what, `${options.middlewares} middlewares, ${options.databases} databases; median of ${options.repetitions} runs, bars span min-max`];
  const add = (fileName: string, spec: ChartSpec): void => {
    charts.push({ fileName, title: spec.title, svg: lineChart(spec) });
  };

  if (ycsb.length > 0) {
    for (const clients of distinct(ycsb.map((group) => group.configuration.clients))) {
      const atClients = ycsb.filter((group) => group.configuration.clients === clients);
      // Counted per client count: a --sweep preset may measure several skews at one count only.
      if (distinct(atClients.map(thetaOf)).length < 2) {
        skipped.push(`ycsb against theta at ${clients} clients: needs at least two theta values at that client count`);
        continue;
      }
      const what = `ycsb, ${options.operationsPerTransaction} operations per transaction, ${options.readFraction * 100}% reads, ${clients} clients`;
      add(`ycsb-throughput-vs-theta-c${clients}.svg`, {
        title: `Throughput against key skew (${clients} clients)`,
        subtitle: subtitle(what),
        xLabel: 'Zipfian theta (0 = uniform)',
        yLabel: 'committed transactions per second',
        series: seriesFor(atClients, options.strategies, 'throughputPerSecond', thetaOf),
      });
      add(`ycsb-restarts-vs-theta-c${clients}.svg`, {
        title: `Restarts per commit against key skew (${clients} clients)`,
        subtitle: subtitle(what),
        xLabel: 'Zipfian theta (0 = uniform)',
        yLabel: 'restarts per committed transaction',
        series: seriesFor(atClients, options.strategies, 'restartsPerCommit', thetaOf),
      });
    }
  }

  const clientsOf = (group: GroupSummary): number => group.configuration.clients;
  const againstClients = (name: string, fileName: string, list: readonly GroupSummary[], what: string): void => {
    if (list.length === 0) return;
    if (distinct(list.map(clientsOf)).length < 2) {
      skipped.push(`${name} against clients: needs at least two --clients values`);
      return;
    }
    add(fileName, {
      title: `Throughput against clients (${name})`,
      subtitle: subtitle(what),
      xLabel: 'closed-loop clients (log scale)',
      yLabel: 'committed transactions per second',
      xScale: 'log2',
      series: seriesFor(list, options.strategies, 'throughputPerSecond', clientsOf),
    });
  };
  againstClients('bank', 'bank-throughput-vs-clients.svg', bank, `bank, ${BANK_ACCOUNT_COUNT} accounts`);
  againstClients('ycsb theta 0', 'ycsb-theta0-throughput-vs-clients.svg', ycsb.filter((group) => thetaOf(group) === 0),
    `ycsb uniform keys, ${options.operationsPerTransaction} operations per transaction, ${options.readFraction * 100}% reads`);
  return { charts, skipped };
}

export interface ReportInput {
  options: BenchOptions;
  commandLine: string;
  machine: MachineInfo;
  records: readonly RunRecord[];
  groups: readonly GroupSummary[];
  configurations: readonly Configuration[];
  charts: readonly ChartFile[];
  skippedCharts: readonly string[];
  wallSeconds: number;
  interrupted: boolean;
  plannedRunCount: number;
}

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

export function renderMarkdown(input: ReportInput): string {
  const { options, machine } = input;
  const failed = input.records.filter((record) => record.status === 'failed');
  const out: string[] = [];
  out.push('# occdb benchmark: optimistic concurrency against strict two-phase locking');
  out.push('');
  out.push(`Run on ${machine.date} with \`${input.commandLine}\`; ${input.records.length} of ${input.plannedRunCount} planned runs in ${formatDuration(input.wallSeconds)}${input.interrupted ? ' (INTERRUPTED: the sweep did not finish)' : ''}.`);
  out.push('');
  out.push(`- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryMiB} MiB, ${machine.platform} (kernel ${machine.kernel}), Node ${machine.nodeVersion}.`);
  out.push(`- Cluster: ${options.middlewares} middlewares and ${options.databases} databases on this machine, talking over ${options.tcpOnly ? 'TCP loopback (--tcp-only)' : 'Unix domain sockets (TCP loopback with --tcp-only)'}, under the ${options.scheduling} CPU scheduling policy (--scheduling), one cluster per strategy, kept across that strategy's runs; the data is re-created before every run.`);
  out.push(`- Sweep: strategies ${options.strategies.join(', ')}; clients ${options.clients.join(', ')}; ${options.repetitions} repetitions; ${options.warmupSeconds} s warm-up, then ${options.durationSeconds} s measured per run; seed ${options.seed}.`);
  if (options.points !== undefined) out.push(`- Configurations: listed by \`--sweep ${options.sweep}\` rather than every workload x theta x clients: ${input.configurations.map(configurationTitle).join('; ')}.`);
  out.push(`- Workloads: ${options.workloads.includes('bank') ? `bank (${BANK_ACCOUNT_COUNT} accounts of ${BANK_BALANCE_INITIAL}, each transaction moves 1..${BANK_TRANSFER_AMOUNT_MAX} between two distinct accounts)` : ''}${options.workloads.length === 2 ? '; ' : ''}${options.workloads.includes('ycsb') ? `ycsb (${YCSB_KEY_COUNT} keys, ${options.operationsPerTransaction} distinct Zipfian keys per transaction, each read with probability ${options.readFraction} else incremented; theta ${options.thetas.join(', ')})` : ''}.`);
  out.push('');
  out.push('How to read the tables: each cell is the median over the runs that passed their checks, with [min-max] over those runs. '
    + 'Runs are interleaved (every repetition runs every configuration under every strategy, the strategies taking turns to go first), so drift of the machine affects all alike. '
    + 'Clients are closed-loop (the next transaction is sent when the previous result arrives, no think time), spread round-robin over the middlewares, all in the benchmark process. '
    + 'txn/s counts transactions committed in the measured window. restarts/commit is the sum of the retries the middlewares reported for the transactions that ended in the window, over their commits. '
    + 'Latency is measured by the client from sending a transaction to its result, retries included, over committed transactions. '
    + 'msgs/commit is the increase of the middlewares\' messagesSent counters (requests to peers and databases) over the window, per commit; n/a where the middlewares do not report it. '
    + `CPU% is user+system time from /proc/<pid>/stat over the window, summed over the processes of a role (100% = one core; this machine has ${machine.cores * 100}%); "client" is the benchmark process itself. `
    + `Clock ticks: ${machine.clockTicks.perSecond} per second (${machine.clockTicks.assumed ? 'assumed: getconf CLK_TCK could not be run' : 'from getconf CLK_TCK'}). `
    + 'failed txns counts transactions that ended without committing in the window (retry budget exhausted, refused). '
    + 'After every run the data is read back in one snapshot and checked (bank: the total is unchanged; ycsb: the keys sum to the committed increments), and the replicas are compared key by key; a run that fails a check is a FAILED run, listed below and left out of every figure.');
  out.push('');

  if (failed.length > 0) {
    out.push(`## FAILED RUNS: ${failed.length} of ${input.records.length}`);
    out.push('');
    out.push(markdownTable(['run', 'strategy', 'configuration', 'repetition', 'kind', 'reason'], failed.map((record) => [
      String(record.index + 1), record.strategy, record.configurationKey, String(record.repetition + 1), record.failure?.kind ?? '', shorten(record.failure?.message ?? '', 400),
    ])));
    out.push('');
  }

  for (const kind of ['bank', 'ycsb'] as const) {
    const list = input.configurations.filter((configuration) => configuration.workload.kind === kind);
    if (list.length === 0) continue;
    out.push(`## ${kind}`);
    out.push('');
    for (const configuration of list) {
      out.push(`### ${configurationTitle(configuration)}`);
      out.push('');
      if (configuration.workload.kind === 'ycsb') {
        out.push(`Workload: ${describeWorkload(configuration.workload)}.`);
        out.push('');
      }
      out.push(groupTable(input.groups.filter((group) => group.configuration.key === configuration.key)));
      out.push('');
    }
  }

  out.push('## Charts');
  out.push('');
  for (const chart of input.charts) {
    out.push(`![${chart.title}](${chart.fileName})`);
    out.push('');
  }
  if (input.charts.length === 0) out.push('No chart: the sweep has too few points.');
  for (const reason of input.skippedCharts) out.push(`- Not drawn: ${reason}.`);
  out.push('');
  out.push('Every run\'s raw numbers are in results.json.');
  return out.join('\n') + '\n';
}
