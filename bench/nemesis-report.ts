// What a nemesis run measured, as numbers, a table and a chart: pure functions of the commit
// times and the fault records, so that they can be tested without a cluster. Times are in
// milliseconds from the start of the run.
import { type ChartBand, lineChart } from './svg.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'none'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How the commits went around one fault. */
export interface CommitRecovery {
  /** From injection to the first commit after the first stretch of at least `gapMs` without one; 0 if there was no such stretch; null if commits did not resume within the window. */
  resumedAfterMs: number | null;
  /** The longest stretch without a commit acknowledged within the window. */
  longestGapMs: number;
  /** Commits per second over the `rateWindowMs` before the injection. */
  rateBeforePerSecond: number;
  /** From injection to the first half-second whose rate is at least half the rate before (after the first gap); null if none within the window. */
  halfRateAfterMs: number | null;
  /** Commits per second over the last `rateWindowMs` of the window. */
  rateEndPerSecond: number;
}

const HALF_RATE_WINDOW_MS = 500;
const HALF_RATE_STEP_MS = 100;

/**
 * The commit recovery around an injection at `injectMs`, looking at [injectMs, windowEndMs].
 * `commitTimesMs` must be sorted ascending.
 */
export function commitRecovery(commitTimesMs: readonly number[], injectMs: number, windowEndMs: number, gapMs: number, rateWindowMs: number): CommitRecovery {
  const inWindow = commitTimesMs.filter((at) => at >= injectMs && at <= windowEndMs);
  const countIn = (fromMs: number, toMs: number): number => commitTimesMs.filter((at) => at >= fromMs && at < toMs).length;
  const rateBeforeFromMs = Math.max(0, injectMs - rateWindowMs);
  const rateBeforePerSecond = injectMs > rateBeforeFromMs ? countIn(rateBeforeFromMs, injectMs) / ((injectMs - rateBeforeFromMs) / 1000) : 0;
  const endFromMs = Math.max(injectMs, windowEndMs - rateWindowMs);
  const rateEndPerSecond = windowEndMs > endFromMs ? countIn(endFromMs, windowEndMs) / ((windowEndMs - endFromMs) / 1000) : 0;

  let longestGapMs = 0;
  let previous = injectMs;
  let resumedAfterMs: number | null | undefined;
  let gapEndMs = injectMs;
  for (const at of inWindow) {
    if (resumedAfterMs === undefined && at - previous >= gapMs) {
      resumedAfterMs = at - injectMs;
      gapEndMs = at;
    }
    longestGapMs = Math.max(longestGapMs, at - previous);
    previous = at;
  }
  const tailMs = windowEndMs - previous;
  longestGapMs = Math.max(longestGapMs, tailMs);
  // A stretch still open at the end of the window: the commits did not resume.
  if (resumedAfterMs === undefined) resumedAfterMs = tailMs >= gapMs ? null : 0;
  if (resumedAfterMs === null) gapEndMs = windowEndMs;

  let halfRateAfterMs: number | null = null;
  for (let fromMs = gapEndMs; fromMs + HALF_RATE_WINDOW_MS <= windowEndMs; fromMs += HALF_RATE_STEP_MS) {
    if (countIn(fromMs, fromMs + HALF_RATE_WINDOW_MS) / (HALF_RATE_WINDOW_MS / 1000) >= rateBeforePerSecond / 2) {
      halfRateAfterMs = Math.round(fromMs - injectMs);
      break;
    }
  }
  return {
    resumedAfterMs: resumedAfterMs === null ? null : Math.round(resumedAfterMs),
    longestGapMs: Math.round(longestGapMs),
    rateBeforePerSecond,
    halfRateAfterMs,
    rateEndPerSecond,
  };
}

/** Commits per second in consecutive buckets of `bucketMs` from 0 to `endMs`: the chart's line. */
export function commitsPerSecond(commitTimesMs: readonly number[], bucketMs: number, endMs: number): { atMs: number; perSecond: number }[] {
  const bucketCount = Math.max(1, Math.ceil(endMs / bucketMs));
  const counts = new Array<number>(bucketCount).fill(0);
  for (const at of commitTimesMs) {
    const bucket = Math.floor(at / bucketMs);
    if (bucket >= 0 && bucket < bucketCount) counts[bucket]! += 1;
  }
  return counts.map((count, index) => ({ atMs: index * bucketMs, perSecond: count / (bucketMs / 1000) }));
}

/** One fault as it was run and what was seen of it. */
export interface FaultRecord {
  kind: FaultKind;
  target: string;
  /** Why it was not run, for a fault this machine cannot inject (the row says so). */
  skipped?: string;
  injectMs: number;
  healMs: number;
  /** The end of the fault's window: after recovery and the settle time, when the load stopped for the checks. */
  windowEndMs: number;
  /** The end of the checks, when the load started again. */
  checksEndMs: number;
  recovery: CommitRecovery | null;
  /** From the heal to the process answering status as itself; null if it did not within the wait. */
  backAfterHealMs: number | null;
  /**
   * From the heal to the process standing where the newest view puts it with nothing wrong
   * (status's viewStanding: a middleware a member, a database a replica that does not lag), or
   * why that is not known.
   */
  rejoined: { afterHealMs: number } | { notKnown: string };
  /** What the status standing said at the worst moment of the fault, for the notes. */
  standingSeen: string[];
  /** Transfers that ended within the fault's window, by outcome. */
  committed: number;
  unknown: number;
  aborted: number;
  abortCodes: Record<string, number>;
  /** Failure detection and view changes logged by the middlewares during the fault. */
  suspicions: number;
  viewsInstalled: number;
  transactionsRecovered: number;
  checks: InvariantChecks;
  /** Anything else worth a line: a restart that failed, a heal that failed. */
  notes: string[];
}

export interface InvariantChecks {
  /** The bank total read through a middleware, and what it must be. */
  totalRead: number | null;
  totalExpected: number;
  /** Acknowledged transfers missing from a replica, summed over the replicas. */
  lostAcknowledged: number;
  /** Everything the bank check found wrong. */
  bankProblems: string[];
  replicasIdentical: boolean;
  verifyDifferences: string[];
}

export function checksPassed(checks: InvariantChecks): boolean {
  return checks.bankProblems.length === 0 && checks.replicasIdentical;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export function describeResume(record: FaultRecord): string {
  if (record.recovery === null) return '-';
  const { resumedAfterMs } = record.recovery;
  if (resumedAfterMs === null) return `did not resume within ${((record.windowEndMs - record.injectMs) / 1000).toFixed(1)} s`;
  return resumedAfterMs === 0 ? 'never stopped' : seconds(resumedAfterMs);
}

export function describeBack(record: FaultRecord): string {
  if (record.kind === 'none') return '-';
  return record.backAfterHealMs === null ? `not back within ${((record.windowEndMs - record.healMs) / 1000).toFixed(1)} s of the heal` : seconds(record.backAfterHealMs);
}

export function describeRejoined(record: FaultRecord): string {
  if (record.kind === 'none') return '-';
  return 'afterHealMs' in record.rejoined ? seconds(record.rejoined.afterHealMs) : record.rejoined.notKnown;
}

export function describeChecks(checks: InvariantChecks): { total: string; lost: string; verify: string } {
  return {
    total: checks.totalRead === null ? 'not read' : checks.totalRead === checks.totalExpected ? `${checks.totalRead} ok` : `${checks.totalRead} WRONG (expected ${checks.totalExpected})`,
    lost: checks.bankProblems.length === 0 ? 'none lost, ok' : checks.lostAcknowledged > 0 ? `${checks.lostAcknowledged} LOST` : `${checks.bankProblems.length} PROBLEMS`,
    verify: checks.replicasIdentical ? 'identical' : `DIFFER (${checks.verifyDifferences.length} shown)`,
  };
}

/** The results table, one row per fault. */
export function faultTableMarkdown(records: readonly FaultRecord[]): string {
  const header = ['#', 'fault', 'target', 'injected at', 'held', 'commits resumed after injection', 'longest gap', 'half rate back after', 'process back after heal', 'rejoined after heal (status view)', 'unknown', 'aborts', 'bank total', 'acknowledged transfers', 'occdb verify'];
  const rows = records.map((record, index) => {
    if (record.skipped !== undefined) return [String(index + 1), record.kind, record.target, '-', '-', `skipped: ${record.skipped}`, '-', '-', '-', '-', '-', '-', '-', '-', '-'];
    const checks = describeChecks(record.checks);
    return [
      String(index + 1),
      record.kind,
      record.target,
      seconds(record.injectMs),
      seconds(record.healMs - record.injectMs),
      describeResume(record),
      record.recovery ? seconds(record.recovery.longestGapMs) : '-',
      record.recovery?.halfRateAfterMs === null || record.recovery === null ? 'not within the window' : seconds(record.recovery.halfRateAfterMs),
      describeBack(record),
      describeRejoined(record),
      String(record.unknown),
      String(record.aborted),
      checks.total,
      checks.lost,
      checks.verify,
    ];
  });
  const escapeCell = (cell: string): string => cell.replace(/\|/g, '\\|');
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(escapeCell).join(' | ')} |`).join('\n') + '\n';
}

/** One line per fault for the terminal. */
export function faultSummaryLine(record: FaultRecord): string {
  if (record.skipped !== undefined) return `${record.kind} ${record.target}: SKIPPED: ${record.skipped}`;
  const checks = describeChecks(record.checks);
  const verdict = checksPassed(record.checks) ? 'invariants hold' : `INVARIANTS BROKEN: ${[...record.checks.bankProblems, ...record.checks.verifyDifferences].slice(0, 3).join('; ')}`;
  return [
    `${record.kind} ${record.target} at ${seconds(record.injectMs)} for ${seconds(record.healMs - record.injectMs)}:`,
    `commits resumed: ${describeResume(record)};`,
    record.kind === 'none' ? '' : `back after heal: ${describeBack(record)}; rejoined: ${describeRejoined(record)};`,
    `${record.unknown} unknown, ${record.aborted} aborted;`,
    `total ${checks.total}, acknowledged ${checks.lost}, replicas ${checks.verify}: ${verdict}`,
  ].filter((part) => part !== '').join(' ');
}

export interface TimelineChart {
  title: string;
  subtitle: string[];
  commitTimesMs: readonly number[];
  bucketMs: number;
  endMs: number;
  records: readonly FaultRecord[];
}

/** Commits per second over the run, each fault shaded from injection to heal, the checks (load stopped) in grey. */
export function timelineSvg(chart: TimelineChart): string {
  const bands: ChartBand[] = [];
  for (const record of chart.records) {
    if (record.skipped !== undefined) continue;
    bands.push({ from: record.injectMs / 1000, to: Math.max(record.healMs, record.injectMs + chart.bucketMs) / 1000, label: `${record.kind} ${record.target}` });
    bands.push({ from: record.windowEndMs / 1000, to: record.checksEndMs / 1000, label: 'checks', color: '#999999' });
  }
  return lineChart({
    title: chart.title,
    subtitle: chart.subtitle,
    xLabel: 'seconds since the load started',
    yLabel: `commits per second (${chart.bucketMs} ms buckets)`,
    series: [{ name: 'commits/s', dots: false, points: commitsPerSecond(chart.commitTimesMs, chart.bucketMs, chart.endMs).map((bucket) => ({ x: bucket.atMs / 1000, y: bucket.perSecond })) }],
    bands,
    width: 1100,
    height: 480,
  });
}
